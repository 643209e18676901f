import EtcdAPI
import GRPCWire

/// `kvctl bench put|range`: etcd's benchmark tool's load for these two
/// requests, with its flag names and defaults and its report.
public struct BenchCommand: Sendable, Equatable {
    public enum Operation: Sendable, Equatable {
        /// Keys of `keySize` bytes holding a number below `keySpace` (as a
        /// zig-zag varint, as etcd's tool writes them), values of `valueSize` random bytes.
        case put(keySize: Int, valueSize: Int, keySpace: Int, sequential: Bool)
        case range(key: String, end: String, serializable: Bool)
    }

    public var operation: Operation
    public var plan: LoadPlan

    /// The flags, for `kvctl bench --help`.
    static let usage = """
        bench put: puts; bench range KEY [END]: ranges. Clients are closed loops
        (one request in flight each) sharing the connections; the report is etcd's
        benchmark tool's: summary, response time histogram, latency distribution.

        Load flags:
          --clients N          concurrent clients (default 1)
          --conns N            connections they share (default 1)
          --total N            requests in all (default 10000)
          --rate N             requests per second at most, 0 for no limit (default 0)
        put:
          --key-size N         key bytes (default 8)
          --val-size N         value bytes (default 8)
          --key-space-size N   distinct keys (default 1)
          --sequential-keys    keys in order rather than at random
        range:
          --consistency l|s    linearizable or serializable (default l)

        """

    public struct UsageError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses the arguments after `bench`.
    public static func parse(_ arguments: [String]) throws(UsageError) -> BenchCommand {
        guard let name = arguments.first else { throw UsageError(description: "bench needs an operation: put or range") }
        var plan = LoadPlan()
        var positional: [String] = []
        var flags: [String: String] = [:]
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--") else {
                positional.append(argument)
                continue
            }
            let flag = argument.dropFirst(2)
            if let equals = flag.firstIndex(of: "=") {
                flags[String(flag[..<equals])] = String(flag[flag.index(after: equals)...])
            } else if flag == "sequential-keys" {
                flags[String(flag)] = "true"
            } else if let value = rest.popFirst() {
                flags[String(flag)] = value
            } else {
                throw UsageError(description: "flag needs an argument: --\(flag)")
            }
        }
        func take(_ name: String, _ fallback: Int, minimum: Int = 1) throws(UsageError) -> Int {
            guard let text = flags.removeValue(forKey: name) else { return fallback }
            guard let value = Int(text), value >= minimum else {
                throw UsageError(description: "invalid argument \"\(text)\" for \"--\(name)\": want an integer of at least \(minimum)")
            }
            return value
        }
        plan.clients = try take("clients", 1)
        plan.connections = try take("conns", 1)
        plan.total = try take("total", 10_000)
        plan.rate = try take("rate", 0, minimum: 0)
        let operation: Operation
        switch name {
        case "put":
            guard positional.isEmpty else { throw UsageError(description: "bench put takes no arguments, got \(positional[0])") }
            let sequential: Bool
            switch flags.removeValue(forKey: "sequential-keys") {
            case nil, "false": sequential = false
            case "true": sequential = true
            case let text?: throw UsageError(description: "invalid argument \"\(text)\" for \"--sequential-keys\": want true or false")
            }
            operation = .put(
                keySize: try take("key-size", 8), valueSize: try take("val-size", 8, minimum: 0),
                keySpace: try take("key-space-size", 1), sequential: sequential)
        case "range":
            guard (1...2).contains(positional.count) else { throw UsageError(description: "bench range takes KEY and an optional END") }
            let serializable: Bool
            switch flags.removeValue(forKey: "consistency") ?? "l" {
            case "l": serializable = false
            case "s": serializable = true
            case let text: throw UsageError(description: "unknown consistency flag \"\(text)\": want l or s")
            }
            operation = .range(key: positional[0], end: positional.count == 2 ? positional[1] : "", serializable: serializable)
        default:
            throw UsageError(description: "unknown bench operation \"\(name)\": want put or range")
        }
        if let unknown = flags.keys.sorted().first { throw UsageError(description: "unknown flag: --\(unknown)") }
        return BenchCommand(operation: operation, plan: plan)
    }

    /// The call each request makes.
    public func request() -> LoadRequest {
        switch operation {
        case let .put(keySize, valueSize, keySpace, sequential):
            var generator = SystemRandomNumberGenerator()
            var template = Etcdserverpb_PutRequest()
            template.value = .init((0..<valueSize).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            return { [template] channel, index, done in
                let number = sequential ? index % keySpace : Int.random(in: 0..<keySpace)
                var request = template
                request.key = .init(Self.key(number, size: keySize))
                channel.unary(EtcdRPC.put.path, request) { (result: Result<Etcdserverpb_PutResponse, GRPCStatus>) in
                    done(result.failure)
                }
            }
        case let .range(key, end, serializable):
            var request = Etcdserverpb_RangeRequest()
            request.key = .init(key.utf8)
            request.rangeEnd = .init(end.utf8)
            request.serializable = serializable
            return { [request] channel, _, done in
                channel.unary(EtcdRPC.range.path, request) { (result: Result<Etcdserverpb_RangeResponse, GRPCStatus>) in
                    done(result.failure)
                }
            }
        }
    }

    /// `size` bytes starting with `number` as a zig-zag varint, zeros after
    /// (Go's binary.PutVarint into a fixed buffer).
    static func key(_ number: Int, size: Int) -> [UInt8] {
        var key = [UInt8](repeating: 0, count: size)
        var rest = UInt64(bitPattern: Int64(number) << 1 ^ Int64(number) >> 63)
        var index = 0
        while index < size {
            key[index] = UInt8(rest & 0x7F) | (rest >= 0x80 ? 0x80 : 0)
            rest >>= 7
            index += 1
            if rest == 0 { break }
        }
        return key
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

extension KVCtlCommand {
    static let bench = KVCtlCommand(
        ["bench"], use: "put|range",
        "Loads the server with puts or ranges from many clients and reports as etcd's benchmark tool does",
        description: BenchCommand.usage, ownFlags: true
    ) { run in
        let options = try run.clientOptions()
        let command: BenchCommand
        do throws(BenchCommand.UsageError) { command = try BenchCommand.parse(run.arguments) } catch {
            throw KVCtlError(.badArgs, error.description)
        }
        guard let endpoint = options.parsedEndpoints().first else { throw KVCtlError(.badArgs, "bench needs an endpoint") }
        let report: BenchReport
        do {
            report = try await LoadGenerator.run(
                command.plan, host: endpoint.host, port: endpoint.port, dialTimeout: options.dialTimeout, request: command.request())
        } catch {
            throw KVCtlError(.badConnection, "\(endpoint.text): \(error)")
        }
        Output.standardOutput(report.text)
        // The report lists the errors; the exit status says there were some.
        if !report.errors.isEmpty { throw KVCtlError(.error, "", silent: true) }
    }
}
