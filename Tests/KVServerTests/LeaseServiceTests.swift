import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
@testable import KVServer

/// A node serving KV, Lease, Maintenance and Cluster on an ephemeral loopback
/// port, and the real clients (etcdctl 3.4, python-etcd3) run against it.
enum EtcdServices {
    static let memberID: UInt64 = 0x2000

    /// The services on a fresh node, with the lease expiry loop running, for the duration of `body`.
    static func withServer(_ body: @Sendable (Int) async throws -> Void) async throws {
        let directory = DataDirectory()
        var options = ReplicatedNode<KVStateMachine>.Options()
        options.segmentSize = 1 << 20
        options.memberID = memberID
        let node = try ReplicatedNode<KVStateMachine>(directory: directory.path, options: options)
        defer { node.stop() }
        let identity = ResponseHeaderContext(clusterID: 0x1000, memberID: memberID, raftTerm: 0)
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let leases = LeaseService(node: node, identity: identity)
        let member = MemberInfo(id: memberID, name: "kvd-test", peerURLs: ["http://127.0.0.1:2380"], clientURLs: ["http://127.0.0.1:2379"])
        let server = GRPCServer(transport: transport, services: [
            KVService(node: node, identity: identity), leases,
            MaintenanceService(node: node, identity: identity),
            ClusterService(node: node, identity: identity, member: member),
        ])
        let expiry = leases.runExpiry(every: .milliseconds(100))
        defer { expiry.cancel() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let port = try await transport.listeningAddress.ipv4!.port
            do {
                try await body(port)
            } catch {
                server.beginGracefulShutdown()
                throw error
            }
            server.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// The hex lease ID from etcdctl's "lease <id> granted with TTL(<n>s)".
    static func grantedID(_ run: Clients.Run) -> String? {
        let words = run.stdout.split(separator: " ")
        guard words.count >= 2, words[0] == "lease", run.stdout.contains("granted") else { return nil }
        return String(words[1])
    }
}

@Suite(.serialized) struct LeaseServiceTests {
    @Test func leaseLifecycleThroughEtcdctl() async throws {
        try await EtcdServices.withServer { port in
            let grant = try await Clients.etcdctl(port, ["lease", "grant", "60"])
            #expect(grant.stdout.hasSuffix("granted with TTL(60s)\n"), "\(grant.stderr)")
            let id = try #require(EtcdServices.grantedID(grant))
            // The server chose the ID: the member ID sits in its top 16 bits.
            #expect(UInt64(id, radix: 16).map { $0 >> 48 } == EtcdServices.memberID & 0xffff)
            #expect(try await Clients.etcdctl(port, ["put", "k", "v", "--lease=\(id)"]).stdout == "OK\n")

            let ttl = try await Clients.etcdctl(port, ["lease", "timetolive", id, "--keys"]).stdout
            #expect(ttl.hasPrefix("lease \(id) granted with TTL(60s), remaining("))
            #expect(ttl.hasSuffix("attached keys([k])\n"))
            #expect(try await Clients.etcdctl(port, ["lease", "list"]).stdout == "found 1 leases\n\(id)\n")
            #expect(try await Clients.etcdctl(port, ["lease", "keep-alive", "--once", id]).stdout == "lease \(id) keepalived with TTL(60)\n")

            #expect(try await Clients.etcdctl(port, ["lease", "revoke", id]).stdout == "lease \(id) revoked\n")
            #expect(try await Clients.etcdctl(port, ["get", "k"]).stdout == "")
            let gone = try await Clients.etcdctl(port, ["lease", "timetolive", id]).stdout
            #expect(gone == "lease \(id) already expired\n")
            let revokedAgain = try await Clients.etcdctl(port, ["lease", "revoke", id])
            #expect(revokedAgain.stderr.contains("etcdserver: requested lease not found"))
        }
    }

    @Test func expiredLeaseDeletesItsKeys() async throws {
        try await EtcdServices.withServer { port in
            let grant = try await Clients.etcdctl(port, ["lease", "grant", "2"])
            let id = try #require(EtcdServices.grantedID(grant))
            #expect(try await Clients.etcdctl(port, ["put", "short", "lived", "--lease=\(id)"]).stdout == "OK\n")
            #expect(try await Clients.etcdctl(port, ["get", "short"]).stdout == "short\nlived\n")
            let deadline = ContinuousClock.now + .seconds(5)
            var value = "short\nlived\n"
            while !value.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                value = try await Clients.etcdctl(port, ["get", "short"]).stdout
            }
            #expect(value == "")
            #expect(try await Clients.etcdctl(port, ["lease", "list"]).stdout == "found 0 leases\n")
        }
    }

    @Test func pythonEtcd3GrantsAndRefreshes() async throws {
        try await EtcdServices.withServer { port in
            let script = """
                import etcd3
                client = etcd3.client(host='127.0.0.1', port=\(port))
                lease = client.lease(30)
                refreshed = list(lease.refresh())
                print(lease.granted_ttl, refreshed[0].TTL, refreshed[0].ID == lease.id)
                """
            let run = try await Clients.run("/usr/bin/python3", ["-c", script])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "30 30 True\n")
        }
    }
}
