import CoreboxSystem
import GRPCWire
import MVCC
import Synchronization

/// kvd's server: the replicated store and etcd's gRPC services on every
/// client endpoint of a configuration, with the lease expiry loop.
///
/// The `kvd` applet and the tests share it.
public final class KVDServer: Sendable {
    private let node: ReplicatedNode<KVStateMachine>
    private let servers: [GRPCServer]
    private let expiry: Task<Void, Never>
    /// The ports served, in the order of the configuration's endpoints (useful when it asked for port 0).
    public var clientPorts: [Int] { servers.map(\.port) }

    private init(node: ReplicatedNode<KVStateMachine>, servers: [GRPCServer], expiry: Task<Void, Never>) {
        self.node = node
        self.servers = servers
        self.expiry = expiry
    }

    /// gRPC's own framing on top of etcd's request limit, as etcd allows.
    static let grpcOverheadBytes = 512 * 1024

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
        let alarms = Alarms()
        let store = StoreConfiguration(
            maxTxnOperations: configuration.maxTxnOperations,
            // etcd's minimum TTL: one and a half election timeouts, in whole seconds rounded up.
            minLeaseTTL: Int64((3 * configuration.electionMilliseconds / 2 + 999) / 1000),
            quotaBytes: configuration.quotaBackendBytes == 0 ? StoreConfiguration().quotaBytes : configuration.quotaBackendBytes)
        let node = try ReplicatedNode<KVStateMachine>(
            directory: configuration.dataDirectory, options: options,
            restore: { try KVStateMachine(snapshot: $0, configuration: store) }
        ) { output, _ in
            hub.publish(output.events, revision: output.revision)
            alarms.observe(output.result, memberID: memberID)
        }
        let identity = ResponseHeaderContext(clusterID: 0xC0DE_B0C5, memberID: memberID, raftTerm: 0)
        let lease = LeaseService(node: node, identity: identity, alarms: alarms)
        let member = MemberInfo(id: memberID, name: configuration.name, peerURLs: configuration.advertisePeerURLs,
                                clientURLs: configuration.advertiseClientURLs)
        let maintenance = MaintenanceService(node: node, identity: identity, alarms: alarms)
        var methods = GRPCMethods()
        metrics.observe(&methods)
        KVService(node: node, identity: identity, alarms: alarms).register(in: &methods)
        lease.register(in: &methods)
        maintenance.register(in: &methods)
        ClusterService(node: node, identity: identity, member: member).register(in: &methods)
        WatchService(node: node, hub: hub, identity: identity, maxRequestBytes: configuration.maxRequestBytes).register(in: &methods)
        // One socket per endpoint serves gRPC and, for other first bytes, HTTP/1.1.
        let http = HTTP1Connection.configurator(HTTPGateway(node: node, methods: methods, maintenance: maintenance, metrics: metrics))
        var servers: [GRPCServer] = []
        do {
            for endpoint in configuration.listenClient {
                let host = endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host
                servers.append(try await GRPCServer.bind(
                    host: host, port: endpoint.port, methods: methods,
                    messageLimit: configuration.maxRequestBytes + grpcOverheadBytes, http1: http))
            }
        } catch {
            for server in servers { await server.close() }
            node.stop()
            throw error
        }
        return KVDServer(node: node, servers: servers, expiry: lease.runExpiry(every: .milliseconds(500)))
    }

    /// Stops listening and closes the connections (their calls are cancelled), then closes the store.
    public func stop() async {
        expiry.cancel()
        for server in servers { await server.close() }
        node.stop()
    }

    /// A stable member ID from the name (FNV-1a), as etcd derives IDs from member data.
    static func memberID(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
}
