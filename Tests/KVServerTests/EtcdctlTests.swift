import Foundation
import Testing
@testable import KVServer

/// kvd's server driven by the real etcdctl (Debian's etcd-client 3.4), over
/// gRPC on loopback.
@Suite(.serialized) struct EtcdctlTests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs etcdctl against `port` and waits for it.
    static func etcdctl(_ port: Int, _ arguments: [String], stdin: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/etcdctl")
        process.arguments = ["--endpoints=127.0.0.1:\(port)", "--dial-timeout=5s", "--command-timeout=10s"] + arguments
        process.environment = ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"]
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A kvd server on an ephemeral loopback port over `directory`, for the duration of `body`.
    static func withServer(directory: DataDirectory = DataDirectory(), _ body: @Sendable (Int) async throws -> Void) async throws {
        var configuration = KVDConfiguration()
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
            for number in 0..<20 { #expect(try Self.etcdctl(port, ["put", "k\(number % 4)", "v\(number)"]).status == 0) }
        }
        try await Self.withServer(directory: directory) { port throws in
            #expect(try Self.etcdctl(port, ["get", "k", "--prefix", "--print-value-only"]).stdout == "v16\nv17\nv18\nv19\n")
            let status = try Self.etcdctl(port, ["endpoint", "status", "-w", "json"]).stdout
            #expect(status.contains("\"revision\":21"))
            #expect(status.contains("\"version\":\"3.4.23\""))
        }
    }

    @Test func putGetDeleteThroughEtcdctl() async throws {
        try await Self.withServer { port in
            #expect(try Self.etcdctl(port, ["put", "foo", "bar"]).stdout == "OK\n")
            #expect(try Self.etcdctl(port, ["put", "foo/a", "1"]).status == 0)
            #expect(try Self.etcdctl(port, ["put", "foo/b", "2"]).status == 0)
            #expect(try Self.etcdctl(port, ["get", "foo"]).stdout == "foo\nbar\n")
            #expect(try Self.etcdctl(port, ["get", "foo/", "--prefix", "--keys-only"]).stdout == "foo/a\n\nfoo/b\n\n")
            #expect(try Self.etcdctl(port, ["get", "foo", "--rev=2"]).stdout == "foo\nbar\n")
            let json = try Self.etcdctl(port, ["get", "foo", "-w", "json"]).stdout
            #expect(json.contains("\"revision\":4"))
            #expect(json.contains("\"cluster_id\":\(0xC0DE_B0C5)"))
            #expect(json.contains("\"member_id\":\(KVDServer.memberID("default"))"))
            #expect(try Self.etcdctl(port, ["del", "foo/", "--prefix"]).stdout == "2\n")
            #expect(try Self.etcdctl(port, ["get", "foo/", "--prefix"]).stdout == "")
        }
    }

    @Test func txnCompareFailureTakesTheElseBranch() async throws {
        try await Self.withServer { port in
            #expect(try Self.etcdctl(port, ["put", "lock", "holder-1"]).status == 0)
            let script = "value(\"lock\") = \"holder-2\"\n\nput lock holder-2\n\nget lock\n\n"
            let run = try Self.etcdctl(port, ["txn"], stdin: script)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "FAILURE\n\nlock\nholder-1\n")
        }
    }

    @Test func etcdErrorsReachTheClientVerbatim() async throws {
        try await Self.withServer { port in
            #expect(try Self.etcdctl(port, ["put", "a", "1"]).status == 0)
            let future = try Self.etcdctl(port, ["get", "a", "--rev=99"])
            #expect(future.status != 0)
            #expect(future.stderr.contains("etcdserver: mvcc: required revision is a future revision"))
            #expect(try Self.etcdctl(port, ["put", "a", "2"]).status == 0)
            #expect(try Self.etcdctl(port, ["compaction", "3"]).stdout == "compacted revision 3\n")
            let compacted = try Self.etcdctl(port, ["get", "a", "--rev=2"])
            #expect(compacted.stderr.contains("etcdserver: mvcc: required revision has been compacted"))
            let lease = try Self.etcdctl(port, ["put", "k", "v", "--lease=1234abcd"])
            #expect(lease.stderr.contains("etcdserver: requested lease not found"))
        }
    }
}
