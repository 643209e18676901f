import TestSupport
import Foundation
import Testing
@testable import KVServer

/// kvd's server driven by the real etcdctl (Debian's etcd-client 3.4), over
/// gRPC on loopback.
@Suite(.serialized) struct EtcdctlTests {
    /// A kvd server on an ephemeral loopback port over `directory`, for the duration of `body`.
    static func withServer(
        directory: DataDirectory = DataDirectory(), configure: (inout KVDConfiguration) -> Void = { _ in },
        _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        var configuration = KVDConfiguration()
        configure(&configuration)
        configuration.dataDirectory = directory.path
        configuration.listenClient = [.init(host: "127.0.0.1", port: 0)]
        let server = try await KVDServer.start(configuration)
        do {
            try await body(server.clientPorts[0])
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func dataSurvivesARestartOfTheServer() async throws {
        let directory = DataDirectory()
        try await Self.withServer(directory: directory) { port throws in
            for number in 0..<20 { #expect(try await Clients.etcdctl(port, ["put", "k\(number % 4)", "v\(number)"]).status == 0) }
        }
        try await Self.withServer(directory: directory) { port throws in
            #expect(try await Clients.etcdctl(port, ["get", "k", "--prefix", "--print-value-only"]).stdout == "v16\nv17\nv18\nv19\n")
            let status = try await Clients.etcdctl(port, ["endpoint", "status", "-w", "json"]).stdout
            #expect(status.contains("\"revision\":21"))
            #expect(status.contains("\"version\":\"3.4.23\""))
        }
    }

    @Test func putGetDeleteThroughEtcdctl() async throws {
        try await Self.withServer { port in
            #expect(try await Clients.etcdctl(port, ["put", "foo", "bar"]).stdout == "OK\n")
            #expect(try await Clients.etcdctl(port, ["put", "foo/a", "1"]).status == 0)
            #expect(try await Clients.etcdctl(port, ["put", "foo/b", "2"]).status == 0)
            #expect(try await Clients.etcdctl(port, ["get", "foo"]).stdout == "foo\nbar\n")
            #expect(try await Clients.etcdctl(port, ["get", "foo/", "--prefix", "--keys-only"]).stdout == "foo/a\n\nfoo/b\n\n")
            #expect(try await Clients.etcdctl(port, ["get", "foo", "--rev=2"]).stdout == "foo\nbar\n")
            let json = try await Clients.etcdctl(port, ["get", "foo", "-w", "json"]).stdout
            #expect(json.contains("\"revision\":4"))
            #expect(json.contains("\"cluster_id\":\(0xC0DE_B0C5)"))
            #expect(json.contains("\"member_id\":\(KVDServer.memberID("default"))"))
            #expect(try await Clients.etcdctl(port, ["del", "foo/", "--prefix"]).stdout == "2\n")
            #expect(try await Clients.etcdctl(port, ["get", "foo/", "--prefix"]).stdout == "")
        }
    }

    @Test func txnCompareFailureTakesTheElseBranch() async throws {
        try await Self.withServer { port in
            #expect(try await Clients.etcdctl(port, ["put", "lock", "holder-1"]).status == 0)
            let script = "value(\"lock\") = \"holder-2\"\n\nput lock holder-2\n\nget lock\n\n"
            let run = try await Clients.etcdctl(port, ["txn"], stdin: script)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "FAILURE\n\nlock\nholder-1\n")
        }
    }

    @Test func etcdErrorsReachTheClientVerbatim() async throws {
        try await Self.withServer { port in
            #expect(try await Clients.etcdctl(port, ["put", "a", "1"]).status == 0)
            let future = try await Clients.etcdctl(port, ["get", "a", "--rev=99"])
            #expect(future.status != 0)
            #expect(future.stderr.contains("etcdserver: mvcc: required revision is a future revision"))
            #expect(try await Clients.etcdctl(port, ["put", "a", "2"]).status == 0)
            #expect(try await Clients.etcdctl(port, ["compaction", "3"]).stdout == "compacted revision 3\n")
            let compacted = try await Clients.etcdctl(port, ["get", "a", "--rev=2"])
            #expect(compacted.stderr.contains("etcdserver: mvcc: required revision has been compacted"))
            let lease = try await Clients.etcdctl(port, ["put", "k", "v", "--lease=1234abcd"])
            #expect(lease.stderr.contains("etcdserver: requested lease not found"))
        }
    }
}
