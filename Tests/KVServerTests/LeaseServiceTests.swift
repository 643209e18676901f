import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
@testable import KVServer

/// A node serving KV, Lease, Maintenance and Cluster on an ephemeral loopback
/// port, and the real clients (etcdctl 3.4, python-etcd3) run against it.
enum EtcdServices {
    static let memberID: UInt64 = 0x2000

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs a client to completion, or SIGKILLs it by PID after `timeout`
    /// (the test runner's children inherit a blocked SIGTERM). It waits by sleeping,
    /// never blocking a thread of the small pool the server's handlers run on.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(10)) async throws -> Run {
        let directory = NSTemporaryDirectory() + "corebox-client-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let stdout = try String(contentsOfFile: directory + "/out", encoding: .utf8)
        let stderr = try String(contentsOfFile: directory + "/err", encoding: .utf8)
        return Run(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    static func etcdctl(_ port: Int, _ arguments: [String]) async throws -> Run {
        try await run("/usr/bin/etcdctl", ["--endpoints=127.0.0.1:\(port)", "--dial-timeout=5s", "--command-timeout=5s"] + arguments)
    }

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
    static func grantedID(_ run: Run) -> String? {
        let words = run.stdout.split(separator: " ")
        guard words.count >= 2, words[0] == "lease", run.stdout.contains("granted") else { return nil }
        return String(words[1])
    }
}

@Suite(.serialized) struct LeaseServiceTests {
    @Test func leaseLifecycleThroughEtcdctl() async throws {
        try await EtcdServices.withServer { port in
            let grant = try await EtcdServices.etcdctl(port, ["lease", "grant", "60"])
            #expect(grant.stdout.hasSuffix("granted with TTL(60s)\n"), "\(grant.stderr)")
            let id = try #require(EtcdServices.grantedID(grant))
            // The server chose the ID: the member ID sits in its top 16 bits.
            #expect(UInt64(id, radix: 16).map { $0 >> 48 } == EtcdServices.memberID & 0xffff)
            #expect(try await EtcdServices.etcdctl(port, ["put", "k", "v", "--lease=\(id)"]).stdout == "OK\n")

            let ttl = try await EtcdServices.etcdctl(port, ["lease", "timetolive", id, "--keys"]).stdout
            #expect(ttl.hasPrefix("lease \(id) granted with TTL(60s), remaining("))
            #expect(ttl.hasSuffix("attached keys([k])\n"))
            #expect(try await EtcdServices.etcdctl(port, ["lease", "list"]).stdout == "found 1 leases\n\(id)\n")
            #expect(try await EtcdServices.etcdctl(port, ["lease", "keep-alive", "--once", id]).stdout == "lease \(id) keepalived with TTL(60)\n")

            #expect(try await EtcdServices.etcdctl(port, ["lease", "revoke", id]).stdout == "lease \(id) revoked\n")
            #expect(try await EtcdServices.etcdctl(port, ["get", "k"]).stdout == "")
            let gone = try await EtcdServices.etcdctl(port, ["lease", "timetolive", id]).stdout
            #expect(gone == "lease \(id) already expired\n")
            let revokedAgain = try await EtcdServices.etcdctl(port, ["lease", "revoke", id])
            #expect(revokedAgain.stderr.contains("etcdserver: requested lease not found"))
        }
    }

    @Test func expiredLeaseDeletesItsKeys() async throws {
        try await EtcdServices.withServer { port in
            let grant = try await EtcdServices.etcdctl(port, ["lease", "grant", "2"])
            let id = try #require(EtcdServices.grantedID(grant))
            #expect(try await EtcdServices.etcdctl(port, ["put", "short", "lived", "--lease=\(id)"]).stdout == "OK\n")
            #expect(try await EtcdServices.etcdctl(port, ["get", "short"]).stdout == "short\nlived\n")
            let deadline = ContinuousClock.now + .seconds(5)
            var value = "short\nlived\n"
            while !value.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                value = try await EtcdServices.etcdctl(port, ["get", "short"]).stdout
            }
            #expect(value == "")
            #expect(try await EtcdServices.etcdctl(port, ["lease", "list"]).stdout == "found 0 leases\n")
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
            let run = try await EtcdServices.run("/usr/bin/python3", ["-c", script])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "30 30 True\n")
        }
    }
}
