import Foundation
import Testing
import TestSupport

/// The `kvctl` applet as it ships, against kvd (and once against etcd),
/// next to the real etcdctl 3.4.23: the same arguments on the same server
/// and state must print the same bytes and exit with the same status.
@Suite struct KVCtlTests {
    typealias Server = KVDTests.Server

    /// What a command printed and how it exited; etcdctl's zap log lines
    /// (JSON on standard error, with times) are left out.
    struct Printed: Equatable, CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String

        init(_ run: Clients.Run, _ normalize: (String) -> String = { $0 }) {
            status = run.status
            stdout = normalize(run.stdout)
            stderr = normalize(run.stderr.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("{\"level\"") }.joined(separator: "\n"))
        }

        var description: String { "exit \(status)\n--- stdout:\n\(stdout)--- stderr:\n\(stderr)" }
    }

    /// kvctl with the global flags `Clients.etcdctl` gives etcdctl.
    static func kvctl(_ port: Int, _ arguments: [String], stdin: String = "", environment: [String: String] = [:]) async throws -> Clients.Run {
        try await Clients.run(CoreboxBinary.path, ["kvctl", "--endpoints=127.0.0.1:\(port)", "--dial-timeout=20s", "--command-timeout=20s"] + arguments,
                              environment: environment, stdin: stdin, timeout: .seconds(30))
    }

    static func etcdctl(_ port: Int, _ arguments: [String], stdin: String = "", environment: [String: String] = [:]) async throws -> Clients.Run {
        try await Clients.run("/usr/bin/etcdctl", ["--endpoints=127.0.0.1:\(port)", "--dial-timeout=20s", "--command-timeout=20s"] + arguments,
                              environment: environment, stdin: stdin, timeout: .seconds(30))
    }

    /// Both clients, one after the other, on the same server.
    static func expectSame(
        _ port: Int, _ arguments: [String], stdin: String = "", environment: [String: String] = [:],
        normalize: (String) -> String = { $0 }, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let ours = Printed(try await kvctl(port, arguments, stdin: stdin, environment: environment), normalize)
        let theirs = Printed(try await etcdctl(port, arguments, stdin: stdin, environment: environment), normalize)
        #expect(ours == theirs, "kvctl \(arguments.joined(separator: " "))", sourceLocation: sourceLocation)
    }

    /// `text` with every match of `pattern` replaced by `with`.
    static func replacing(_ pattern: String, in text: String, with replacement: String) -> String {
        let expression = try! NSRegularExpression(pattern: pattern)
        return expression.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: replacement)
    }

    /// Lease time that passes between the two runs, and health checks' durations.
    static func timing(_ text: String) -> String {
        var text = replacing(#"remaining\(\d+s\)"#, in: text, with: "remaining(Ns)")
        text = replacing(#""ttl":\d+"#, in: text, with: "\"ttl\":N")
        text = replacing(#"took = \S+"#, in: text, with: "took = T")
        return replacing(#""took":"[^"]*""#, in: text, with: "\"took\":\"T\"")
    }

    static func leaseID(_ grant: Clients.Run) throws -> String {
        let words = grant.stdout.split(separator: " ")
        guard grant.status == 0, words.count > 1 else { throw KVDTests.Failure("lease grant failed: \(grant.stderr)") }
        return String(words[1])
    }

    @Test func readsPrintWhatEtcdctlPrints() async throws {
        let scratch = try Scratch()
        let server = try await Server(directory: scratch.path + "/data")
        let port = server.port
        for (key, value) in [("foo", "bar"), ("foo2", "b a z"), ("fox", "é<&>"), ("zed", "last")] {
            #expect(try await Clients.etcdctl(port, ["put", key, value]).status == 0)
        }
        let lease = try Self.leaseID(try await Clients.etcdctl(port, ["lease", "grant", "100"]))
        #expect(try await Clients.etcdctl(port, ["put", "--lease=\(lease)", "leased", "v"]).status == 0)

        for arguments in [
            ["get", "foo"], ["get", "foo", "-w", "json"], ["get", "--prefix", "fo", "--hex"], ["get", "--prefix", "fo", "-w", "json"],
            ["get", "--from-key", "", "--keys-only"], ["get", "foo", "fox"], ["get", "--prefix", "", "--limit", "2", "--sort-by=MODIFY", "--order=DESCEND"],
            ["get", "--prefix", "f", "--print-value-only"], ["get", "foo", "--rev=2", "-w", "json"], ["get", "--prefix", "f", "--consistency=s", "-w", "json"],
            ["get", "nothing", "-w", "json"], ["get", "--prefix", "", "--sort-by=value", "--keys-only", "--hex"],
            ["member", "list"], ["member", "list", "-w", "json"], ["endpoint", "status"], ["endpoint", "status", "-w", "json"],
            ["endpoint", "status", "--cluster"], ["lease", "list"], ["lease", "list", "-w", "json"],
            ["lease", "keep-alive", "--once", lease], ["lease", "keep-alive", "--once", lease, "-w", "json"], ["version"],
            // Errors from the server, and etcdctl's checks of flags that need a server to get that far.
            ["get", "foo", "--rev=100000"], ["lease", "revoke", "1234"], ["lease", "keep-alive", "--once", "1234"],
            ["lease", "timetolive", "1234"], ["lease", "timetolive", "1234", "-w", "json"], ["get", "foo", "-w", "json", "--print-value-only"],
            ["get", "foo", "-w", "table"],
        ] {
            try await Self.expectSame(port, arguments)
        }
        for arguments in [["lease", "timetolive", lease, "--keys"], ["lease", "timetolive", lease, "--keys", "-w", "json"],
                          ["endpoint", "health"], ["endpoint", "health", "-w", "json"]] {
            try await Self.expectSame(port, arguments, normalize: Self.timing)
        }
        // ETCDCTL_ variables: as flags, unknown ones warned about, a clash with a flag fatal.
        try await Self.expectSame(port, ["get", "foo"], environment: ["ETCDCTL_WRITE_OUT": "json", "ETCDCTL_HEX": "true"])
        let stamp: (String) -> String = { Self.replacing(#"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}"#, in: $0, with: "TIME") }
        try await Self.expectSame(port, ["get", "foo"], environment: ["ETCDCTL_FOO": "1"], normalize: stamp)
        try await Self.expectSame(port, ["get", "foo"], environment: ["ETCDCTL_ENDPOINTS": "127.0.0.1:1"], normalize: stamp)
        let viaEnvironment = try await Clients.run(CoreboxBinary.path, ["kvctl", "get", "foo", "--print-value-only"],
                                                   environment: ["ETCDCTL_ENDPOINTS": "http://127.0.0.1:\(port)"])
        #expect(viaEnvironment.stdout == "bar\n" && viaEnvironment.status == 0)
    }

    /// Two servers with the same history: kvctl writes to one, etcdctl to
    /// the other, and each answer must be the same (lease IDs aside).
    @Test func writesPrintWhatEtcdctlPrints() async throws {
        let scratch = try Scratch()
        let ours = try await Server(directory: scratch.path + "/ours")
        let theirs = try await Server(directory: scratch.path + "/theirs")
        let (ourPort, theirPort) = (ours.port, theirs.port)
        var leases: (String, String) = ("", "")

        func both(_ arguments: [String], stdin: String = "", sourceLocation: SourceLocation = #_sourceLocation) async throws {
            func withLease(_ id: String) -> [String] { arguments.map { $0.replacingOccurrences(of: "LEASE", with: id) } }
            let (ourArguments, theirArguments) = (withLease(leases.0), withLease(leases.1))
            async let kvctl = Self.kvctl(ourPort, ourArguments, stdin: stdin)
            async let etcdctl = Self.etcdctl(theirPort, theirArguments, stdin: stdin)
            let (a, b) = try await (kvctl, etcdctl)
            func anonymous(_ ids: (String, String)) -> (String) -> String {
                { text in
                    var text = text
                    for id in [ids.0, ids.1] where !id.isEmpty {
                        text = text.replacingOccurrences(of: id, with: "LEASE")
                        if let decimal = UInt64(id, radix: 16) { text = text.replacingOccurrences(of: String(decimal), with: "LEASE") }
                    }
                    return text
                }
            }
            #expect(Printed(a, anonymous(leases)) == Printed(b, anonymous(leases)), "\(arguments.joined(separator: " "))", sourceLocation: sourceLocation)
        }

        try await both(["put", "k1", "v1"])
        try await both(["put", "k1", "v2", "--prev-kv"])
        try await both(["put", "k1", "v3", "--prev-kv", "-w", "json"])
        try await both(["put", "k2"], stdin: "from standard input\n")
        try await both(["put", "k1", "--ignore-value", "--prev-kv", "-w", "json"])
        try await both(["put", "--", "k3", "-dash"])
        let grants = try await (Self.kvctl(ourPort, ["lease", "grant", "100"]), Self.etcdctl(theirPort, ["lease", "grant", "100"]))
        leases = (try Self.leaseID(grants.0), try Self.leaseID(grants.1))
        #expect(grants.0.stdout.replacingOccurrences(of: leases.0, with: "L") == grants.1.stdout.replacingOccurrences(of: leases.1, with: "L"))
        try await both(["put", "k4", "v", "--lease=LEASE", "-w", "json"])
        try await both(["put", "k4", "w", "--ignore-lease", "--prev-kv", "-w", "json"])
        try await both(["get", "k", "--prefix", "-w", "json"])
        try await both(["del", "k2", "--prev-kv"])
        try await both(["del", "nothing", "-w", "json"])

        let success = "value(\"k1\") = \"v3\"\nmod(\"k1\") > \"0\"\n\nput k5 \"hello world\"\nget k1\ndel k3 --prev-kv\n\nget k4\n\n"
        try await both(["txn"], stdin: success)
        try await both(["txn", "-w", "json"], stdin: success)
        // A compare that fails runs the failure branch.
        let failure = "ver(\"k1\") = \"99\"\n\nput k6 x\n\nget k --prefix --keys-only\nput k5 again --prev-kv\n\n"
        try await both(["txn"], stdin: failure)
        try await both(["txn", "-w", "json", "-i"], stdin: failure)
        try await both(["lease", "revoke", "LEASE"])
        try await both(["lease", "revoke", "LEASE", "-w", "json"])
        try await both(["del", "k", "--prefix", "--prev-kv", "-w", "json"])
        try await both(["del", "", "--from-key"])
        // The histories are still the same.
        try await both(["get", "", "--from-key", "--rev=9", "-w", "json"])
    }

    /// Watchers of both tools from the same revision see the same events,
    /// and run until killed.
    @Test func watchPrintsEventsUntilKilled() async throws {
        let scratch = try Scratch()
        let server = try await Server(directory: scratch.path + "/data")
        let port = server.port
        let start = try await Clients.etcdctl(port, ["put", "w0", "start", "-w", "json"]).stdout
        let revision = try #require(Int(Self.replacing(#"(?s).*"revision":(\d+).*"#, in: start, with: "$1").trimmingCharacters(in: .whitespacesAndNewlines)))
        let flags = [["watch", "w", "--prefix", "--prev-kv", "--rev=\(revision + 1)"], ["watch", "w1", "--rev=\(revision + 1)", "-w", "json"],
                     ["watch", "w1", "--hex", "--rev=\(revision + 1)"]]
        var watchers: [(ChildProcess, ChildProcess)] = []
        for arguments in flags {
            let global = ["--endpoints=127.0.0.1:\(port)"]
            watchers.append((try ChildProcess(CoreboxBinary.path, ["kvctl"] + global + arguments),
                             try ChildProcess("/usr/bin/etcdctl", global + arguments, environment: ["ETCDCTL_API": "3"])))
        }
        for arguments in [["put", "w1", "a"], ["put", "w1", "b"], ["del", "w1"], ["put", "w2", "x y"], ["put", "w1", "last"]] {
            #expect(try await Clients.etcdctl(port, arguments).status == 0)
        }
        let deadline = ContinuousClock.now + .seconds(20)
        // The last value as each format prints it.
        let seen: (ChildProcess) -> Bool = { child in
            ["last", "bGFzdA==", "\\x6c\\x61\\x73\\x74"].contains { child.stdout.contains($0) }
        }
        while watchers.contains(where: { !seen($0.0) || !seen($0.1) }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        for (ours, theirs) in watchers {
            #expect(ours.isRunning && theirs.isRunning)
            ours.stop()
            theirs.stop()
            #expect(!ours.stdout.isEmpty)
            #expect(ours.stdout == theirs.stdout)
        }
        #expect(watchers[0].0.stdout == "PUT\nw1\na\nPUT\nw1\na\nw1\nb\nDELETE\nw1\nb\nw1\n\nPUT\nw2\nx y\nPUT\nw1\nlast\n")

        // A watch from a compacted revision is cancelled: exit 5.
        #expect(try await Clients.etcdctl(port, ["compaction", "\(revision + 2)"]).status == 0)
        try await Self.expectSame(port, ["watch", "w1", "--rev=1"])
        try await Self.expectSame(port, ["watch", "w1", "--rev=1", "-w", "json"])
        #expect(try await Self.kvctl(port, ["watch", "w1", "--rev=1"]).status == 5)
    }

    @Test func leaseKeepAliveRenewsUntilTheLeaseIsRevoked() async throws {
        let scratch = try Scratch()
        let server = try await Server(directory: scratch.path + "/data")
        let grant = try await Self.kvctl(server.port, ["lease", "grant", "2"])
        #expect(grant.stdout.hasSuffix(" granted with TTL(2s)\n"))
        let lease = try Self.leaseID(grant)
        let keeper = try ChildProcess(CoreboxBinary.path, ["kvctl", "--endpoints=127.0.0.1:\(server.port)", "lease", "keep-alive", lease])
        let deadline = ContinuousClock.now + .seconds(20)
        while keeper.stdout.components(separatedBy: "keepalived").count < 3 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        // Renewed past its TTL of 2 s, so kept alive rather than expired.
        try await Task.sleep(for: .seconds(2))
        #expect(try await Self.kvctl(server.port, ["lease", "timetolive", lease]).stdout.contains("granted with TTL(2s)"))
        #expect(try await Self.kvctl(server.port, ["lease", "revoke", lease]).stdout == "lease \(lease) revoked\n")
        #expect(try await keeper.exitStatus(within: .seconds(20)) == 0)
        let lines = keeper.stdout.split(separator: "\n")
        #expect(lines.count >= 4)
        #expect(lines.dropLast().allSatisfy { $0 == "lease \(lease) keepalived with TTL(2)" })
        #expect(lines.last == "lease \(lease) expired or revoked.")
        // A lease the server does not know: keep-alive ends at once, --once fails.
        #expect(try await Self.kvctl(server.port, ["lease", "keep-alive", "abc"]).stdout == "lease 0000000000000abc expired or revoked.\n")
        let once = try await Self.kvctl(server.port, ["lease", "keep-alive", "--once", "abc"])
        #expect(once.status == 2 && once.stderr == "Error: etcdserver: requested lease not found\n")
    }

    @Test func snapshotSaveWritesWhatEtcdctlWrites() async throws {
        let scratch = try Scratch()
        let server = try await Server(directory: scratch.path + "/data")
        for number in 0..<50 { #expect(try await Clients.etcdctl(server.port, ["put", "key\(number)", String(repeating: "v", count: number * 10)]).status == 0) }
        let ours = try await Self.kvctl(server.port, ["snapshot", "save", scratch.path + "/ours.db"])
        let theirs = try await Self.etcdctl(server.port, ["snapshot", "save", scratch.path + "/theirs.db"])
        #expect(ours.status == 0 && theirs.status == 0)
        #expect(ours.stdout == "Snapshot saved at \(scratch.path)/ours.db\n")
        #expect(theirs.stdout == "Snapshot saved at \(scratch.path)/theirs.db\n")
        let saved = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/ours.db"))
        #expect(saved.count % 512 == 32)
        #expect(saved == (try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/theirs.db"))))
        let mode = try FileManager.default.attributesOfItem(atPath: scratch.path + "/ours.db")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/ours.db.part"))
        try await Self.expectSame(server.port, ["snapshot", "save", scratch.path + "/missing/x.db"])
        try await Self.expectSame(server.port, ["--endpoints=127.0.0.1:\(server.port),127.0.0.1:1", "snapshot", "save", scratch.path + "/x.db"])
    }

    /// Against etcd itself: the file kvctl saves is one etcdctl's `snapshot status` reads.
    /// A real etcd 3.4 on a free loopback port, with its data in `scratch`.
    static func withEtcd(_ scratch: Scratch, _ body: (Int) async throws -> Void) async throws {
        let (client, peer) = (try Loopback.freePort(), try Loopback.freePort())
        let etcd = try ChildProcess("/usr/bin/etcd", [
            "--name", "t", "--data-dir", scratch.path + "/etcd",
            "--listen-client-urls", "http://127.0.0.1:\(client)", "--advertise-client-urls", "http://127.0.0.1:\(client)",
            "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
            "--initial-cluster", "t=http://127.0.0.1:\(peer)",
        ])
        defer { etcd.stop() }
        let deadline = ContinuousClock.now + .seconds(20)
        while try await Clients.etcdctl(client, ["--command-timeout=1s", "endpoint", "health"]).status != 0 {
            guard etcd.isRunning, ContinuousClock.now < deadline else { throw KVDTests.Failure("etcd did not start: \(etcd.stderr)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await body(client)
    }

    /// kvctl bench against etcd and kvd: every put arrives once (a key count
    /// etcdctl reads back), none fails, and the report is etcd benchmark's.
    /// 20,000 puts are enough for grpc-go's pings to pass NIO's default flood limit.
    @Test func benchPutsEveryKeyOnEtcdAndKVD() async throws {
        let scratch = try Scratch()
        let check: @Sendable (Int) async throws -> Void = { port in
            let bench = try await Self.kvctl(port, [
                "bench", "put", "--clients=50", "--conns=5", "--total=20000", "--sequential-keys", "--key-space-size=20000", "--val-size=64",
            ])
            #expect(bench.status == 0, "\(bench.stdout)\(bench.stderr)")
            #expect(bench.stdout.contains("\nSummary:\n") && bench.stdout.contains("Requests/sec:\t"))
            #expect(bench.stdout.contains("\nLatency distribution:\n  10% in "))
            #expect(!bench.stdout.contains("Error distribution"))
            let keys = try await Clients.etcdctl(port, ["get", "", "--from-key", "--keys-only", "-w", "json"])
            #expect(keys.stdout.contains("\"count\":20000"), "\(keys.stderr)")
            let ranges = try await Self.kvctl(port, ["bench", "range", "a", "z", "--clients=10", "--total=200", "--consistency=s"])
            #expect(ranges.status == 0 && ranges.stdout.contains("Requests/sec:\t"), "\(ranges.stderr)")
            let unknown = try await Self.kvctl(port, ["bench", "range", "a", "--from-key"])
            #expect(unknown.status == 128 && unknown.stderr.contains("--from-key"), "\(unknown.stderr)")
        }
        try await Self.withEtcd(scratch, check)
        let server = try await Server(directory: scratch.path + "/data")
        try await check(server.port)
    }

    @Test func snapshotFromEtcdIsOneEtcdctlReads() async throws {
        let scratch = try Scratch()
        try await Self.withEtcd(scratch) { client in
            for number in 0..<20 { #expect(try await Self.kvctl(client, ["put", "k\(number)", "v"]).status == 0) }
            let save = try await Self.kvctl(client, ["snapshot", "save", scratch.path + "/etcd.db"])
            #expect(save.status == 0, "\(save.stderr)")
            let status = try await Clients.run("/usr/bin/etcdctl", ["snapshot", "status", scratch.path + "/etcd.db", "-w", "json"])
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stdout.contains("\"revision\":21"))
            try await Self.expectSame(client, ["endpoint", "status", "-w", "json"])
            try await Self.expectSame(client, ["get", "k", "--prefix", "--limit=3", "-w", "json"])
        }
    }

    /// Nothing listens: short commands wait out their timeout and say so.
    @Test func nothingListeningIsContextDeadlineExceeded() async throws {
        let port = try Loopback.freePort()
        for arguments in [["get", "foo"], ["put", "a", "b"], ["member", "list", "-w", "json"], ["lease", "grant", "10"],
                          ["endpoint", "status"], ["endpoint", "status", "-w", "json"], ["endpoint", "health"], ["endpoint", "health", "-w", "json"]] {
            let global = ["--endpoints=127.0.0.1:\(port)", "--command-timeout=1s"]
            let ours = Printed(try await Clients.run(CoreboxBinary.path, ["kvctl"] + global + arguments), Self.timing)
            let theirs = Printed(try await Clients.run("/usr/bin/etcdctl", global + arguments), Self.timing)
            #expect(ours == theirs, "\(arguments)")
            #expect(ours.status == 1)
        }
        let get = try await Clients.run(CoreboxBinary.path, ["kvctl", "--endpoints=127.0.0.1:\(port)", "--command-timeout=1s", "get", "foo"])
        #expect(get.stderr == "Error: context deadline exceeded\n")
    }

    /// Usage errors need no server: etcdctl's messages and exit codes (cobra's
    /// 1 with the message twice, ExitBadArgs 128, ExitInvalidInput 3,
    /// ExitBadFeature 4). Standard output carries the usage text, which
    /// names kvctl and its flags, so only its presence is compared.
    @Test func badUsageExitsAsEtcdctl() async throws {
        let port = try Loopback.freePort()
        let cases: [([String], String)] = [
            (["get"], ""), (["get", "--bogus", "x"], ""), (["get", "--limit=abc", "x"], ""), (["--dial-timeout=xx", "get", "a"], ""),
            (["lease", "grant", "-5"], ""), (["put"], ""), (["put", "--ignore-value", "a", "b"], ""), (["put", "a", "b", "--lease=zz"], ""),
            (["del", "a", "b", "c"], ""), (["get", "--prefix", "--from-key", "a"], ""), (["get", "a", "b", "--prefix"], ""),
            (["get", "a", "--consistency=x"], ""), (["get", "a", "--sort-by=zz"], ""), (["get", "a", "--order=zz"], ""),
            (["-w", "yaml", "get", "foo"], ""), (["lease", "grant"], ""), (["lease", "grant", "abc"], ""),
            (["lease", "revoke", "zz"], ""), (["lease", "keep-alive"], ""), (["watch"], ""), (["watch", "a", "b", "--prefix"], ""), (["watch", "a", "--"], ""),
            (["snapshot", "save"], ""), (["txn", "extra"], ""), (["frob"], ""), (["gte"], ""), (["lease"], ""), (["lease", "frob"], ""), (["get", "-h"], ""),
            (["txn"], "bogus\n"), (["txn"], "value(\"a\") = \"1\"\n"), (["txn"], "value(\"a\") = \"1\"\n\nput\n"), (["txn"], "ver(\"a\") = \"x\"\n\n\n\n"),
            (["txn"], "\n\nput k --bogus v\n\n\n"), (["txn"], "\n\nput k v --lease=zz\n\n\n"), (["txn"], "\n\nfrob k v\n\n\n"),
        ]
        for (arguments, stdin) in cases {
            let global = ["--endpoints=127.0.0.1:\(port)", "--command-timeout=1s"]
            let ours = try await Clients.run(CoreboxBinary.path, ["kvctl"] + global + arguments, stdin: stdin)
            let theirs = try await Clients.run("/usr/bin/etcdctl", global + arguments, stdin: stdin)
            let name: (String) -> String = { $0.replacingOccurrences(of: "etcdctl", with: "kvctl") }
            #expect(ours.status == theirs.status, "\(arguments): \(ours.stderr)")
            #expect(ours.stderr == name(Printed(theirs).stderr), "\(arguments)")
            #expect(ours.stdout.isEmpty == theirs.stdout.isEmpty, "\(arguments)")
            #expect(ours.status != 0 || arguments.contains("-h") || arguments.first == "lease", "\(arguments)")
        }
    }
}
