import CoreboxCore
import EtcdAPI
import FoundationEssentials
import Synchronization

/// get, put, del: one request each, built from the arguments and flags as
/// etcdctl builds it (the same code builds `txn`'s operations).
extension KVCtlCommand {
    static let get = KVCtlCommand(
        ["get"], use: "[options] <key> [range_end]", "Gets the key or a range of keys", flags: KVRequests.rangeFlags
    ) { run in
        let request = try KVRequests.range(run.arguments, run.flags)
        let options = try run.clientOptions()
        var printer = options.printer
        if run.flags.bool("print-value-only") {
            guard var simple = printer as? SimplePrinter else {
                throw KVCtlError(.badArgs, "print-value-only is only for `--write-out=simple`")
            }
            simple.valueOnly = true
            printer = simple
        }
        let deadline = options.commandDeadline()
        let response = try await options.session(until: deadline) { try await $0.call(EtcdRPC.range, request, until: deadline) }
        if request.countOnly, let simple = printer as? SimplePrinter {
            Output.standardOutput(simple.count(response))
        } else {
            Output.standardOutput(printer.get(response))
        }
    }

    static let put = KVCtlCommand(
        ["put"], use: "[options] <key> <value> (<value> can also be given from stdin)", "Puts the given key into the store",
        description: """
            Puts the given key into the store.

            A <value> that begins with '-' would be read as a flag: put '--' before
            the key or the value ($ put -- <key> <value>).

            Without a <value> argument (and without --ignore-value), the value is
            read from standard input: $ cat file | put <key>
            """,
        flags: KVRequests.putFlags
    ) { run in
        let request = try KVRequests.put(run.arguments, run.flags, standardInput: StandardInput.shared)
        let options = try run.clientOptions()
        let deadline = options.commandDeadline()
        let response = try await options.session(until: deadline) { try await $0.call(EtcdRPC.put, request, until: deadline) }
        Output.standardOutput(options.printer.put(response))
    }

    static let del = KVCtlCommand(
        ["del"], use: "[options] <key> [range_end]", "Removes the specified key or range of keys [key, range_end)",
        flags: KVRequests.deleteFlags
    ) { run in
        let request = try KVRequests.deleteRange(run.arguments, run.flags)
        let options = try run.clientOptions()
        let deadline = options.commandDeadline()
        let response = try await options.session(until: deadline) { try await $0.call(EtcdRPC.deleteRange, request, until: deadline) }
        Output.standardOutput(options.printer.del(response))
    }
}

/// The requests of get, put and del from their arguments and flags, with
/// etcdctl's checks and messages.
enum KVRequests {
    static let rangeFlags = [
        FlagSpec("consistency", .string, default: "l", "Linearizable(l) or Serializable(s)"),
        FlagSpec("order", .string, "Order of results; ASCEND or DESCEND (ASCEND by default)"),
        FlagSpec("sort-by", .string, "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION"),
        FlagSpec("limit", .int64, "Maximum number of results"),
        FlagSpec("prefix", .bool, "Get keys with matching prefix"),
        FlagSpec("from-key", .bool, "Get keys that are greater than or equal to the given key using byte compare"),
        FlagSpec("rev", .int64, "Specify the kv revision"),
        FlagSpec("keys-only", .bool, "Get only the keys"),
        FlagSpec("count-only", .bool, "Get only the count"),
        FlagSpec("print-value-only", .bool, "Only write values when using the \"simple\" output format"),
    ]

    static let putFlags = [
        FlagSpec("lease", .string, default: "0", "lease ID (in hexadecimal) to attach to the key"),
        FlagSpec("prev-kv", .bool, "return the previous key-value pair before modification"),
        FlagSpec("ignore-value", .bool, "updates the key using its current value"),
        FlagSpec("ignore-lease", .bool, "updates the key using its current lease"),
    ]

    static let deleteFlags = [
        FlagSpec("prefix", .bool, "delete keys with matching prefix"),
        FlagSpec("prev-kv", .bool, "return deleted key-value pairs"),
        FlagSpec("from-key", .bool, "delete keys that are greater than or equal to the given key using byte compare"),
    ]

    static func range(_ arguments: [String], _ flags: ParsedFlags) throws(KVCtlError) -> Etcdserverpb_RangeRequest {
        guard let key = arguments.first else {
            throw KVCtlError(.badArgs, "get command needs one argument as key and an optional argument as range_end")
        }
        let prefix = flags.bool("prefix"), fromKey = flags.bool("from-key")
        try checkRangeFlags(prefix: prefix, fromKey: fromKey, arguments: arguments)
        var request = Etcdserverpb_RangeRequest()
        switch flags.string("consistency") {
        case "s": request.serializable = true
        case "l": break
        case let other: throw KVCtlError(.badFeature, "unknown consistency flag \(GoSyntax.quote(other))")
        }
        (request.key, request.rangeEnd) = keyRange(key, end: arguments.dropFirst().first, prefix: prefix, fromKey: fromKey)
        request.limit = flags.int64("limit")
        if flags.int64("rev") > 0 { request.revision = flags.int64("rev") }

        var order = Etcdserverpb_RangeRequest.SortOrder.none
        switch flags.string("order").uppercased() {
        case "ASCEND": order = .ascend
        case "DESCEND": order = .descend
        case "": break
        default: throw KVCtlError(.badFeature, "bad sort order \(flags.string("order"))")
        }
        var target = Etcdserverpb_RangeRequest.SortTarget.key
        switch flags.string("sort-by").uppercased() {
        case "CREATE": target = .create
        case "KEY": target = .key
        case "MODIFY": target = .mod
        case "VALUE": target = .value
        case "VERSION": target = .version
        case "": break
        default: throw KVCtlError(.badFeature, "bad sort target \(flags.string("sort-by"))")
        }
        // Keys come sorted ascending anyway; clientv3 sends no order for that.
        request.sortOrder = target == .key && order == .ascend ? .none : order
        request.sortTarget = target

        request.keysOnly = flags.bool("keys-only")
        request.countOnly = flags.bool("count-only")
        if request.keysOnly && request.countOnly {
            throw KVCtlError(.badArgs, "`--keys-only` and `--count-only` cannot be set at the same time, choose one")
        }
        return request
    }

    static func put(_ arguments: [String], _ flags: ParsedFlags, standardInput: StandardInput?) throws(KVCtlError) -> Etcdserverpb_PutRequest {
        let usage = KVCtlError(.badArgs, "put command needs 1 argument and input from stdin or 2 arguments")
        guard let key = arguments.first else { throw usage }
        let ignoreValue = flags.bool("ignore-value")
        if ignoreValue && arguments.count > 1 {
            throw KVCtlError(.badArgs, "put command needs only 1 argument when 'ignore-value' is set")
        }
        var request = Etcdserverpb_PutRequest()
        request.key = Data(key.utf8)
        if !ignoreValue {
            if arguments.count > 1 {
                request.value = Data(arguments[1].utf8)
            } else {
                guard let input = standardInput?.readAll(), !input.isEmpty else { throw usage }
                request.value = Data(input)
            }
        }
        do {
            request.lease = try GoSyntax.parseInt(flags.string("lease"), base: 16)
        } catch {
            throw KVCtlError(.badArgs, "bad lease ID (\(error)), expecting ID in Hex")
        }
        request.prevKv = flags.bool("prev-kv")
        request.ignoreValue = ignoreValue
        request.ignoreLease = flags.bool("ignore-lease")
        return request
    }

    static func deleteRange(_ arguments: [String], _ flags: ParsedFlags) throws(KVCtlError) -> Etcdserverpb_DeleteRangeRequest {
        guard let key = arguments.first, arguments.count <= 2 else {
            throw KVCtlError(.badArgs, "del command needs one argument as key and an optional argument as range_end")
        }
        let prefix = flags.bool("prefix"), fromKey = flags.bool("from-key")
        try checkRangeFlags(prefix: prefix, fromKey: fromKey, arguments: arguments)
        var request = Etcdserverpb_DeleteRangeRequest()
        (request.key, request.rangeEnd) = keyRange(key, end: arguments.dropFirst().first, prefix: prefix, fromKey: fromKey)
        request.prevKv = flags.bool("prev-kv")
        return request
    }

    private static func checkRangeFlags(prefix: Bool, fromKey: Bool, arguments: [String]) throws(KVCtlError) {
        if prefix && fromKey {
            throw KVCtlError(.badArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one")
        }
        if arguments.count > 1 && (prefix || fromKey) {
            throw KVCtlError(.badArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set")
        }
    }

    /// The key and range end a command's key argument and flags stand for:
    /// `--prefix` ends the range after the last key with the prefix,
    /// `--from-key` (and `--prefix` of an empty key) reaches the end of the keyspace.
    static func keyRange(_ key: String, end: String?, prefix: Bool, fromKey: Bool) -> (Data, Data) {
        var key = Data(key.utf8)
        var rangeEnd = end.map { Data($0.utf8) } ?? Data()
        if prefix {
            if key.isEmpty {
                key = Data([0])
                rangeEnd = Data([0])
            } else {
                rangeEnd = prefixEnd(key)
            }
        }
        if fromKey {
            if key.isEmpty { key = Data([0]) }
            rangeEnd = Data([0])
        }
        return (key, rangeEnd)
    }

    /// The first key after every key that starts with `prefix` (`\0`, the
    /// whole keyspace, when there is none).
    static func prefixEnd(_ prefix: Data) -> Data {
        var end = Array(prefix)
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return Data(end)
            }
            end.removeLast()
        }
        return Data([0])
    }
}

extension ClientOptions {
    /// Connects to the endpoints, waiting until `deadline` (forever when
    /// nil); a client that cannot be made at all (no endpoints) exits 2.
    func connect(until deadline: ContinuousClock.Instant?, failure code: KVCtlError.Code = .error) async throws(KVCtlError) -> EtcdClient {
        do {
            return try await EtcdClient.connect(parsedEndpoints(), dialTimeout: dialTimeout, until: deadline)
        } catch {
            throw KVCtlError(error == .noEndpoints ? .badConnection : code, error.message)
        }
    }

    /// Connects, runs `body` and closes the connection; a failure becomes
    /// etcdctl's `Error: MESSAGE` with `code` (most commands exit 1 then).
    func session<Result: Sendable>(
        until deadline: ContinuousClock.Instant?, failure code: KVCtlError.Code = .error, message: (String) -> String = { $0 },
        _ body: @Sendable (EtcdClient) async throws -> Result
    ) async throws(KVCtlError) -> Result {
        let client: EtcdClient
        do {
            client = try await connect(until: deadline, failure: code)
        } catch where error.code != .badConnection {
            throw KVCtlError(error.code, message(error.message))
        }
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw KVCtlError(code, message(EtcdError(error).message))
        }
    }
}

/// A value shared between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
}
