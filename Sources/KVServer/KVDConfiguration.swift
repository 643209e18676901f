/// kvd's settings, from etcd's command-line flags and `ETCD_*` environment
/// variables (a flag wins over its variable, as in etcd), so an etcd unit
/// file or container spec works unchanged.
public struct KVDConfiguration: Equatable, Sendable {
    public struct Endpoint: Equatable, Sendable {
        public var host: String
        public var port: Int
    }

    public var name = "default"
    public var dataDirectory = "default.etcd"
    public var listenClient = [Endpoint(host: "localhost", port: 2379)]
    public var advertiseClientURLs = ["http://localhost:2379"]
    public var advertisePeerURLs = ["http://localhost:2380"]
    public var heartbeatMilliseconds = 100
    public var electionMilliseconds = 1000
    public var snapshotCount: UInt64 = 100_000
    public var quotaBackendBytes: Int64 = 2 << 30
    public var maxRequestBytes = 1_572_864
    public var maxTxnOperations = 128

    public init() {}

    /// What a command line asked for.
    public enum Action: Equatable, Sendable {
        case serve(KVDConfiguration)
        case version
        case help
    }

    /// A flag or variable kvd cannot use: its name and what is wrong.
    public struct UsageError: Error, Equatable, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// etcd's flag names kvd knows, and how each sets the configuration; the
    /// second argument names where the value came from, for messages.
    private static let flags: [String: @Sendable (inout KVDConfiguration, String, String) throws(UsageError) -> Void] = [
        "name": { config, _, value in config.name = value },
        "data-dir": { config, _, value in config.dataDirectory = value },
        "listen-client-urls": { config, flag, value throws(UsageError) in config.listenClient = try endpoints(value, flag: flag) },
        "advertise-client-urls": { config, flag, value throws(UsageError) in config.advertiseClientURLs = try urls(value, flag: flag) },
        "initial-advertise-peer-urls": { config, flag, value throws(UsageError) in config.advertisePeerURLs = try urls(value, flag: flag) },
        "listen-peer-urls": { _, flag, value throws(UsageError) in _ = try urls(value, flag: flag) },
        "initial-cluster": { config, flag, value throws(UsageError) in try checkSingleMember(value, name: config.name, flag: flag) },
        "initial-cluster-state": { _, flag, value throws(UsageError) in
            guard value == "new" || value == "existing" else { throw UsageError(description: "kvd: \(flag): \"\(value)\" is not new or existing") }
        },
        "initial-cluster-token": { _, _, _ in },
        "heartbeat-interval": { config, flag, value throws(UsageError) in config.heartbeatMilliseconds = try number(value, flag: flag) },
        "election-timeout": { config, flag, value throws(UsageError) in config.electionMilliseconds = try number(value, flag: flag) },
        "snapshot-count": { config, flag, value throws(UsageError) in config.snapshotCount = UInt64(try number(value, flag: flag)) },
        "quota-backend-bytes": { config, flag, value throws(UsageError) in config.quotaBackendBytes = Int64(try number(value, flag: flag)) },
        "max-request-bytes": { config, flag, value throws(UsageError) in config.maxRequestBytes = try number(value, flag: flag) },
        "max-txn-ops": { config, flag, value throws(UsageError) in config.maxTxnOperations = try number(value, flag: flag) },
    ]

    /// `kvd --help`: the etcd flags kvd reads; each also comes from `ETCD_NAME_IN_CAPS`.
    static let usage = """
        Usage: kvd [FLAGS]

        An etcd 3.4-compatible key-value server (one member). Flags as etcd's;
        each may also be set as ETCD_<FLAG> (upper case, '-' as '_').

          --name NAME                          member name (default "default")
          --data-dir DIR                       data directory (default NAME.etcd)
          --listen-client-urls URLS            http://HOST:PORT,... to serve clients on
          --advertise-client-urls URLS         client URLs reported to clients
          --initial-advertise-peer-urls URLS   peer URLs reported in the member list
          --listen-peer-urls URLS              accepted for compatibility
          --initial-cluster NAME=URL           may name only this member
          --initial-cluster-state new|existing
          --initial-cluster-token TOKEN        accepted for compatibility
          --heartbeat-interval MS              Raft tick (default 100)
          --election-timeout MS                (default 1000)
          --snapshot-count N                   applied entries between snapshots (default 100000)
          --quota-backend-bytes N              space quota (default 2 GiB)
          --max-request-bytes N                largest client request (default 1.5 MiB)
          --max-txn-ops N                      most operations in one txn (default 128)
          --version, --help

        """

    /// Parses `arguments` (after the program name) over `environment`.
    public static func parse(arguments: [String], environment: [String: String]) throws(UsageError) -> Action {
        var config = KVDConfiguration()
        var given: [(flag: String, source: String, value: String)] = []
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) where key.hasPrefix("ETCD_") {
            let flag = String(key.dropFirst(5)).lowercased().split(separator: "_").joined(separator: "-")
            // etcdctl's own variables share the prefix; only kvd's flags count here.
            if flags[flag] != nil { given.append((flag, key, value)) }
        }
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "--version", "-version": return .version
            case "--help", "-help", "-h": return .help
            default: break
            }
            guard argument.hasPrefix("-") else { throw UsageError(description: "kvd: unexpected argument \"\(argument)\"") }
            let body = argument.drop { $0 == "-" }
            let flag: String, value: String
            if let equals = body.firstIndex(of: "=") {
                (flag, value) = (String(body[..<equals]), String(body[body.index(after: equals)...]))
            } else {
                flag = String(body)
                guard let next = remaining.popFirst() else { throw UsageError(description: "kvd: flag --\(flag) needs a value") }
                value = next
            }
            guard flags[flag] != nil else { throw UsageError(description: "kvd: unknown flag --\(flag)") }
            given.append((flag, "--" + flag, value))
        }
        // The name first: the data directory and the cluster check depend on it.
        if let name = given.last(where: { $0.flag == "name" })?.value { config.name = name }
        if !given.contains(where: { $0.flag == "data-dir" }) { config.dataDirectory = config.name + ".etcd" }
        for (flag, source, value) in given { try flags[flag]!(&config, source, value) }
        return .serve(config)
    }

    private static func number(_ value: String, flag: String) throws(UsageError) -> Int {
        guard let number = Int(value), number >= 0 else { throw UsageError(description: "kvd: \(flag): \"\(value)\" is not a number") }
        return number
    }

    private static func urls(_ value: String, flag: String) throws(UsageError) -> [String] {
        let urls = value.split(separator: ",").map(String.init)
        for url in urls { _ = try endpoint(url, flag: flag) }
        return urls
    }

    private static func endpoints(_ value: String, flag: String) throws(UsageError) -> [Endpoint] {
        var endpoints: [Endpoint] = []
        for url in value.split(separator: ",") { endpoints.append(try endpoint(String(url), flag: flag)) }
        return endpoints
    }

    /// `http://HOST:PORT`; TLS is not served yet, so https is refused rather than served in the clear.
    static func endpoint(_ url: String, flag: String) throws(UsageError) -> Endpoint {
        func invalid(_ why: String) -> UsageError { UsageError(description: "kvd: \(flag): \"\(url)\": \(why)") }
        if url.hasPrefix("https://") { throw invalid("TLS is not supported yet") }
        guard url.hasPrefix("http://") else { throw invalid("want http://HOST:PORT") }
        var hostPort = url.dropFirst("http://".count)
        if hostPort.hasSuffix("/") { hostPort = hostPort.dropLast() }
        guard let colon = hostPort.lastIndex(of: ":"), let port = Int(hostPort[hostPort.index(after: colon)...]),
              (0...65535).contains(port) else { throw invalid("want http://HOST:PORT") }
        var host = hostPort[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw invalid("no host") }
        return Endpoint(host: String(host), port: port)
    }

    /// kvd serves one member for now: the initial cluster may name only this one.
    private static func checkSingleMember(_ value: String, name: String, flag: String) throws(UsageError) {
        let members = value.split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? "" }
        guard Set(members) == [name] else {
            throw UsageError(description: "kvd: \(flag): \"\(value)\" names other members; kvd serves a single member for now")
        }
    }
}
