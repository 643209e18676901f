import CoreboxCore
import CoreboxSystem
import Glibc

/// The global flags a command that talks to a server uses.
struct ClientOptions: Sendable {
    /// As given (printed back by `endpoint status` and `health`).
    var endpoints: [String]
    var dialTimeout: Duration
    var commandTimeout: Duration
    /// Whether `--command-timeout` was given (`snapshot save` has no deadline otherwise).
    var commandTimeoutIsSet: Bool
    var printer: any ResponsePrinter
    var hex: Bool

    init(_ flags: ParsedFlags) throws(KVCtlError) {
        endpoints = flags.strings("endpoints").map { $0.trimmingSpaces() }
        dialTimeout = flags.duration("dial-timeout")
        commandTimeout = flags.duration("command-timeout")
        commandTimeoutIsSet = flags.isChanged("command-timeout")
        hex = flags.bool("hex")
        printer = try OutputFormat.printer(flags.string("write-out"), hex: hex)
        for name in ["cert", "key", "cacert"] where !flags.string(name).isEmpty {
            throw KVCtlError(.badFeature, "--\(name): kvctl does not speak TLS")
        }
        if !flags.bool("insecure-transport") {
            throw KVCtlError(.badFeature, "--insecure-transport=false: kvctl does not speak TLS")
        }
        for name in ["user", "password"] where !flags.string(name).isEmpty {
            throw KVCtlError(.badFeature, "--\(name): kvctl does not support authentication")
        }
        if !flags.string("discovery-srv").isEmpty {
            throw KVCtlError(.badFeature, "--discovery-srv: kvctl does not support DNS discovery")
        }
        for endpoint in endpoints { _ = try Endpoint(endpoint) }
    }

    /// The deadline of a short command started now (etcdctl's commandCtx).
    func commandDeadline() -> ContinuousClock.Instant { .now + commandTimeout }

    func parsedEndpoints() -> [Endpoint] { endpoints.compactMap { try? Endpoint($0) } }
}

/// An endpoint of `--endpoints`: `host:port`, optionally behind `http://`.
struct Endpoint: Sendable, Equatable {
    let text: String
    let host: String
    let port: Int

    init(_ text: String) throws(KVCtlError) {
        self.text = text
        var address = Substring(text)
        if address.hasPrefix("https://") || address.hasPrefix("unixs://") {
            throw KVCtlError(.badFeature, "\(text): kvctl does not speak TLS")
        }
        if address.hasPrefix("unix://") || address.hasPrefix("unix:") {
            throw KVCtlError(.badFeature, "\(text): kvctl does not connect to unix sockets")
        }
        if address.hasPrefix("http://") { address = address.dropFirst(7) }
        if let slash = address.firstIndex(of: "/") { address = address[..<slash] }
        let hostPart: Substring
        let portPart: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]"), address[address.index(after: close)...].hasPrefix(":") else {
                throw KVCtlError(.badArgs, "bad endpoint \(GoSyntax.quote(text)): expected [host]:port")
            }
            hostPart = address[address.index(after: address.startIndex)..<close]
            portPart = address[address.index(close, offsetBy: 2)...]
        } else {
            guard let colon = address.lastIndex(of: ":") else {
                throw KVCtlError(.badArgs, "bad endpoint \(GoSyntax.quote(text)): expected host:port")
            }
            hostPart = address[..<colon]
            portPart = address[address.index(after: colon)...]
        }
        guard let port = Int(portPart), (0...65535).contains(port), !hostPart.isEmpty else {
            throw KVCtlError(.badArgs, "bad endpoint \(GoSyntax.quote(text)): expected host:port")
        }
        host = String(hostPart)
        self.port = port
    }
}

/// etcd's `flags.SetPflagsFromEnv("ETCDCTL", ...)`: each global flag the
/// command line did not set takes a non-empty `ETCDCTL_NAME` variable
/// (a value that does not parse is ignored, as there). A variable for a
/// flag the command line set stops the command; other `ETCDCTL_` variables
/// get a warning. Both lines are capnslog's, as etcdctl prints them.
enum EnvironmentFlags {
    static func variable(for flag: String) -> String {
        "ETCDCTL_" + flag.uppercased().replacingDashes()
    }

    static func apply(
        _ environment: [String: String], to flags: inout ParsedFlags, globals: [FlagSpec], accepting extra: Set<String>
    ) throws(KVCtlError) {
        var used = extra.filter { !(environment[$0] ?? "").isEmpty }
        var shadowed: Set<String> = []
        for spec in globals {
            let key = variable(for: spec.name)
            if flags.isChanged(spec.name) {
                shadowed.insert(key)
                continue
            }
            guard let value = environment[key], !value.isEmpty else { continue }
            used.insert(key)
            try? flags.set(spec, value)
        }
        // main() of etcdctl unsets ETCDCTL_API before anything reads the environment.
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) where key != "ETCDCTL_API" && !used.contains(key) {
            if shadowed.contains(key) {
                Output.standardError(logLine("C", "conflicting environment variable \"\(key)\" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)"))
                throw KVCtlError(.error, "", silent: true)
            }
            if key.hasPrefix("ETCDCTL_") {
                Output.standardError(logLine("W", "unrecognized environment variable \(key)=\(value)"))
            }
        }
    }

    /// capnslog's line: local time to the microsecond, a level letter, the package.
    static func logLine(_ level: String, _ message: String) -> String {
        var now = timeval()
        gettimeofday(&now, nil)
        var seconds = now.tv_sec
        var local = tm()
        localtime_r(&seconds, &local)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let micro = String(now.tv_usec)
        let stamp = "\(local.tm_year + 1900)-\(two(local.tm_mon + 1))-\(two(local.tm_mday)) "
            + "\(two(local.tm_hour)):\(two(local.tm_min)):\(two(local.tm_sec))."
            + String(repeating: "0", count: 6 - micro.count) + micro
        return "\(stamp) \(level) | pkg/flags: \(message)\n"
    }
}

extension String {
    func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }

    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0.properties.isWhitespace }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[first...last])
    }
}

/// Standard output and error as bytes, written at once.
enum Output {
    static func standardOutput(_ bytes: [UInt8]) {
        if !bytes.isEmpty { try? Syscall.writeAll(STDOUT_FILENO, bytes) }
    }

    static func standardOutput(_ text: String) { standardOutput(Array(text.utf8)) }

    static func standardError(_ text: String) {
        if !text.isEmpty { try? Syscall.writeAll(STDERR_FILENO, Array(text.utf8)) }
    }
}
