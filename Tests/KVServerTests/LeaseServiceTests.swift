import TestSupport
import Foundation
import Testing
@testable import KVServer

/// A kvd server under a known member name, and the real clients (etcdctl
/// 3.4, python-etcd3) run against it.
enum EtcdServices {
    static let memberName = "kvd-test"
    static let memberID = KVDServer.memberID(memberName)

    static func withServer(_ body: @Sendable (Int) async throws -> Void) async throws {
        try await EtcdctlTests.withServer(configure: { configuration in
            configuration.name = memberName
            configuration.advertiseClientURLs = ["http://127.0.0.1:2379"]
            configuration.advertisePeerURLs = ["http://127.0.0.1:2380"]
        }, body)
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
            // The server chose the ID: the member ID's low 16 bits lead it, less the sign bit (IDs are positive int64s).
            #expect(UInt64(id, radix: 16).map { $0 >> 48 } == EtcdServices.memberID & 0x7fff)
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
            let grant = try await Clients.etcdctl(port, ["lease", "grant", "5"])
            let id = try #require(EtcdServices.grantedID(grant))
            // The put's revision, not a read right after it: under load two
            // etcdctl runs can outlast a short lease. A put under a lease that
            // is gone fails, so a revision means the key was stored.
            let put = try await Clients.etcdctl(port, ["put", "short", "lived", "--lease=\(id)", "-w", "json"])
            let header = try JSONSerialization.jsonObject(with: Data(put.stdout.utf8)) as? [String: Any]
            let revision = try #require((header?["header"] as? [String: Any])?["revision"] as? Int, "\(put.stderr)")
            // A bound that only catches a lease that never expires: with the
            // container suites beside it a busy machine delays the lessor's tick.
            let deadline = ContinuousClock.now + .seconds(30)
            var value = "short\nlived\n"
            while !value.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                value = try await Clients.etcdctl(port, ["get", "short"]).stdout
            }
            #expect(value == "")
            #expect(try await Clients.etcdctl(port, ["get", "short", "--rev=\(revision)"]).stdout == "short\nlived\n")
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
