import Testing
@testable import KVServer

@Suite struct KVDConfigurationTests {
    func serve(_ arguments: [String], _ environment: [String: String] = [:]) throws -> KVDConfiguration {
        guard case .serve(let config) = try KVDConfiguration.parse(arguments: arguments, environment: environment) else {
            Issue.record("expected a configuration")
            return KVDConfiguration()
        }
        return config
    }

    @Test func etcdDefaults() throws {
        let config = try serve([])
        #expect(config.name == "default")
        #expect(config.dataDirectory == "default.etcd")
        #expect(config.listenClient == [.init(host: "localhost", port: 2379)])
        #expect(config.heartbeatMilliseconds == 100 && config.electionMilliseconds == 1000)
        #expect(config.quotaBackendBytes == 2 << 30)
        #expect(config.maxTxnOperations == 128)
    }

    @Test func flagsInBothSpellingsAndTheDataDirectoryFollowsTheName() throws {
        let config = try serve([
            "--name", "node1", "--listen-client-urls=http://127.0.0.1:12379,http://[::1]:12379",
            "-advertise-client-urls", "http://10.0.0.1:2379", "--snapshot-count=5000",
            "--initial-cluster", "node1=http://127.0.0.1:2380", "--initial-cluster-state=new",
        ])
        #expect(config.name == "node1")
        #expect(config.dataDirectory == "node1.etcd")
        #expect(config.listenClient == [.init(host: "127.0.0.1", port: 12379), .init(host: "::1", port: 12379)])
        #expect(config.advertiseClientURLs == ["http://10.0.0.1:2379"])
        #expect(config.snapshotCount == 5000)
    }

    @Test func environmentVariablesAreReadAndFlagsWin() throws {
        let config = try serve(["--data-dir", "/srv/kvd"], [
            "ETCD_NAME": "envname", "ETCD_DATA_DIR": "/var/lib/kvd", "ETCD_MAX_TXN_OPS": "64",
            "ETCDCTL_API": "3", "ETCD_UNRELATED_SETTING": "ignored",
        ])
        #expect(config.name == "envname")
        #expect(config.dataDirectory == "/srv/kvd")
        #expect(config.maxTxnOperations == 64)
    }

    @Test func versionAndHelp() throws {
        #expect(try KVDConfiguration.parse(arguments: ["--version"], environment: [:]) == .version)
        #expect(try KVDConfiguration.parse(arguments: ["--name", "x", "-h"], environment: [:]) == .help)
    }

    @Test(arguments: [
        (["--bogus", "1"], "kvd: unknown flag --bogus"),
        (["--name"], "kvd: flag --name needs a value"),
        (["stray"], "kvd: unexpected argument \"stray\""),
        (["--listen-client-urls", "https://127.0.0.1:2379"], "kvd: --listen-client-urls: \"https://127.0.0.1:2379\": TLS is not supported yet"),
        (["--listen-client-urls", "127.0.0.1:2379"], "kvd: --listen-client-urls: \"127.0.0.1:2379\": want http://HOST:PORT"),
        (["--listen-client-urls", "http://127.0.0.1:99999"], "kvd: --listen-client-urls: \"http://127.0.0.1:99999\": want http://HOST:PORT"),
        (["--heartbeat-interval", "fast"], "kvd: --heartbeat-interval: \"fast\" is not a number"),
        (["--initial-cluster-state", "maybe"], "kvd: --initial-cluster-state: \"maybe\" is not new or existing"),
        (["--name", "a", "--initial-cluster", "a=http://h:2380,b=http://i:2380"],
         "kvd: --initial-cluster: \"a=http://h:2380,b=http://i:2380\" names other members; kvd serves a single member for now"),
    ])
    func badInputIsOneLineNamingTheFlag(arguments: [String], message: String) {
        #expect {
            try KVDConfiguration.parse(arguments: arguments, environment: [:])
        } throws: { error in
            "\(error)" == message
        }
    }

    @Test func aBadEnvironmentVariableIsReportedToo() {
        #expect {
            try KVDConfiguration.parse(arguments: [], environment: ["ETCD_ELECTION_TIMEOUT": "soon"])
        } throws: { error in
            "\(error)" == "kvd: ETCD_ELECTION_TIMEOUT: \"soon\" is not a number"
        }
    }
}
