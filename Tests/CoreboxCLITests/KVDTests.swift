import Foundation
import Testing
import TestSupport

/// The `kvd` applet as it ships: the release binary started as a process,
/// driven by the real etcdctl and python-etcd3, stopped by signals.
@Suite struct KVDTests {
    /// A kvd process on a free loopback port, over `directory`.
    final class Server {
        let port: Int
        let child: ChildProcess

        init(directory: String, extra: [String] = []) async throws {
            port = try Loopback.freePort()
            child = try ChildProcess(CoreboxBinary.path, [
                "kvd", "--name", "test", "--data-dir", directory,
                "--listen-client-urls", "http://127.0.0.1:\(port)", "--advertise-client-urls", "http://127.0.0.1:\(port)",
            ] + extra, environment: ["COREBOX_LOG_TARGET": "stderr"])
            let deadline = ContinuousClock.now + .seconds(10)
            while !Loopback.accepts(port) {
                guard child.isRunning, ContinuousClock.now < deadline else {
                    throw Failure("kvd did not start: \(child.stderr)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func servesEtcdctlAndStopsCleanlyOnSIGTERM() async throws {
        let scratch = try Scratch()
        let server = try await Server(directory: scratch.path + "/data")
        #expect(try await Clients.etcdctl(server.port, ["put", "greeting", "hello"]).stdout == "OK\n")
        #expect(try await Clients.etcdctl(server.port, ["get", "greeting", "--print-value-only"]).stdout == "hello\n")
        server.child.signal(SIGTERM)
        #expect(try await server.child.exitStatus(within: .seconds(10)) == 0)
        #expect(server.child.stderr.contains("stopping"))
        #expect(server.child.stderr.contains("signal=SIGTERM"))
    }

    @Test func aBadFlagIsNamedAndExitsTwo() async throws {
        let run = try await Clients.run(CoreboxBinary.path, ["kvd", "--listen-client-urls", "http://127.0.0.1:notaport"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("--listen-client-urls"))
        #expect(run.stderr.contains("notaport"))
        let unknown = try await Clients.run(CoreboxBinary.path, ["kvd", "--no-such-flag=1"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("kvd: unknown flag --no-such-flag"))
    }

    @Test func anUnusableDataDirectoryFailsTheStartWithItsPath() async throws {
        let scratch = try Scratch()
        FileManager.default.createFile(atPath: scratch.path + "/file", contents: Data("x".utf8))
        let run = try await Clients.run(CoreboxBinary.path, [
            "kvd", "--data-dir", scratch.path + "/file/data", "--listen-client-urls", "http://127.0.0.1:\(try Loopback.freePort())",
        ])
        #expect(run.status == 1)
        #expect(run.stderr.contains(scratch.path + "/file/data"))
    }

    /// Power loss: writers on eight connections, kvd killed with SIGKILL at a
    /// random moment, five times over one data directory. Every put the
    /// client saw acknowledged must be there after each restart. A snapshot
    /// every 500 entries puts kills in the middle of snapshots too.
    @Test func everyAcknowledgedWriteSurvivesKillNine() async throws {
        let scratch = try Scratch()
        let data = scratch.path + "/data"
        var acknowledged: [String: String] = [:]
        for round in 0..<5 {
            let server = try await Server(directory: data, extra: ["--snapshot-count", "500"])
            let writers = try ChildProcess("/usr/bin/python3", ["-c", Self.writers, "\(server.port)", "r\(round)"])
            // The kill comes at a random moment once writes flow (python takes
            // its time to import grpc on a busy machine).
            let flowing = ContinuousClock.now + .seconds(20)
            while !writers.stdout.contains("ACK "), writers.isRunning, ContinuousClock.now < flowing {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...1200)))
            server.child.stop()
            _ = try await writers.exitStatus(within: .seconds(20))
            let acks = writers.stdout.split(separator: "\n").filter { $0.hasPrefix("ACK ") }
            #expect(acks.count > 20, "round \(round): too few writes to prove anything: \(writers.stderr)")
            for ack in acks {
                let parts = ack.split(separator: " ")
                acknowledged[String(parts[1])] = String(parts[2])
            }
        }
        let server = try await Server(directory: data)
        let dump = try await Clients.run("/usr/bin/python3", ["-c", Self.dump, "\(server.port)"], timeout: .seconds(30))
        #expect(dump.status == 0, "\(dump.stderr)")
        var stored: [String: String] = [:]
        for line in dump.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            stored[String(parts[0])] = String(parts[1])
        }
        let lost = acknowledged.filter { stored[$0.key] != $0.value }
        #expect(lost.isEmpty, "\(lost.count) of \(acknowledged.count) acknowledged writes lost, e.g. \(lost.first.map { "\($0.key)" } ?? "")")
        server.child.signal(SIGTERM)
        #expect(try await server.child.exitStatus(within: .seconds(10)) == 0)
    }

    /// Eight threads put `ROUND-THREAD-N = vN` until the server dies, printing each acknowledged put.
    static let writers = #"""
        import sys, threading, etcd3
        port, round_ = int(sys.argv[1]), sys.argv[2]
        lock = threading.Lock()
        def write(thread):
            client = etcd3.client(host="127.0.0.1", port=port, timeout=5)
            n = 0
            try:
                while True:
                    key = "%s-%d-%d" % (round_, thread, n)
                    client.put(key, "v%d" % n)
                    with lock:
                        sys.stdout.write("ACK %s v%d\n" % (key, n))
                        sys.stdout.flush()
                    n += 1
            except Exception:
                pass
        threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        """#

    /// Prints every key and value.
    static let dump = #"""
        import sys, etcd3
        client = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=10)
        for value, meta in client.get_all():
            print(meta.key.decode(), value.decode())
        """#
}
