import CoreboxSystem
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

/// kvd's server: the replicated store, etcd's gRPC services and the HTTP side
/// (`HTTPGateway`) on every client endpoint of a configuration, with the lease expiry loop.
///
/// The `kvd` applet (next: its main parses the configuration, starts this,
/// notifies systemd and waits for SIGTERM) and the tests share it.
public final class KVDServer: Sendable {
    typealias ClientTransport = HTTP2ServerTransport.Custom<ClientListenerFactory>

    private let node: ReplicatedNode<KVStateMachine>
    private let servers: [GRPCServer<ClientTransport>]
    private let tasks: Mutex<[Task<Void, any Error>]>
    private let expiry: Task<Void, Never>
    /// The ports served, in the order of the configuration's endpoints (useful when it asked for port 0).
    public let clientPorts: [Int]

    private init(node: ReplicatedNode<KVStateMachine>, servers: [GRPCServer<ClientTransport>],
                 tasks: [Task<Void, any Error>], expiry: Task<Void, Never>, clientPorts: [Int]) {
        self.node = node
        self.servers = servers
        self.tasks = Mutex(tasks)
        self.expiry = expiry
        self.clientPorts = clientPorts
    }

    /// Opens the data directory (recovering what it holds) and listens; returns once every endpoint is bound.
    public static func start(_ configuration: KVDConfiguration) async throws -> KVDServer {
        var options = ReplicatedNode<KVStateMachine>.Options()
        options.tickInterval = .milliseconds(configuration.heartbeatMilliseconds)
        options.electionTicks = max(2, configuration.electionMilliseconds / max(1, configuration.heartbeatMilliseconds))
        options.snapshotInterval = max(1, configuration.snapshotCount)
        let memberID = Self.memberID(configuration.name)
        // Raft's ID and the ID in headers, Status and MemberList are one and the same.
        options.memberID = memberID
        let metrics = KVDMetrics()
        options.onLogSave = { metrics.observeLogSync($0) }
        let hub = WatchHub()
        let node = try ReplicatedNode<KVStateMachine>(directory: configuration.dataDirectory, options: options) { output, _ in
            hub.publish(output.events, revision: output.revision)
        }
        let identity = ResponseHeaderContext(clusterID: 0xC0DE_B0C5, memberID: memberID, raftTerm: 0)
        let kv = KVService(node: node, identity: identity)
        let lease = LeaseService(node: node, identity: identity)
        let maintenance = MaintenanceService(node: node, identity: identity)
        let member = MemberInfo(id: memberID, name: configuration.name, peerURLs: configuration.advertisePeerURLs,
                                clientURLs: configuration.advertiseClientURLs)
        let services: [any RegistrableRPCService] = [
            kv,
            lease,
            maintenance,
            ClusterService(node: node, identity: identity, member: member),
            WatchService(node: node, hub: hub, identity: identity),
        ]
        let http = HTTPGateway(node: node, kv: kv, lease: lease, maintenance: maintenance, metrics: metrics)
        var servers: [GRPCServer<ClientTransport>] = []
        var tasks: [Task<Void, any Error>] = []
        var ports: [Int] = []
        do {
            for endpoint in configuration.listenClient {
                // One socket per endpoint serves gRPC and HTTP/1.1 (ClientListener.swift).
                let factory = ClientListenerFactory(host: endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host,
                                                    port: endpoint.port, http: http)
                let transport = ClientTransport(listenerFactory: factory)
                let server = GRPCServer(transport: transport, services: services, interceptors: [MetricsInterceptor(metrics: metrics)])
                servers.append(server)
                tasks.append(Task { try await server.serve() })
                guard let bound = await transport.listeningAddress else {
                    // serve() ended before binding: its error says why.
                    _ = try await tasks.last!.value
                    throw RuntimeError(code: .transportError, message: "kvd: cannot listen on \(endpoint.host):\(endpoint.port)")
                }
                ports.append(bound.ipv4?.port ?? bound.ipv6?.port ?? endpoint.port)
            }
        } catch {
            for server in servers { server.beginGracefulShutdown() }
            node.stop()
            throw error
        }
        return KVDServer(node: node, servers: servers, tasks: tasks, expiry: lease.runExpiry(every: .milliseconds(500)),
                         clientPorts: ports)
    }

    /// Stops listening, lets the requests in flight finish, then closes the store.
    public func stop() async {
        expiry.cancel()
        for server in servers { server.beginGracefulShutdown() }
        for task in tasks.withLock({ $0 }) { _ = try? await task.value }
        node.stop()
    }

    /// A stable member ID from the name (FNV-1a), as etcd derives IDs from member data.
    static func memberID(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
}
