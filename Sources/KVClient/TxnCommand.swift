import CoreboxCore
import EtcdAPI
import FoundationEssentials

extension KVCtlCommand {
    /// `txn`: compares, success operations and failure operations from
    /// standard input, each section ended by an empty line; `-i` prompts for each.
    static let txn = KVCtlCommand(
        ["txn"], use: "[options]", "Txn processes all the requests in one transaction",
        flags: [FlagSpec("interactive", .bool, shorthand: "i", "Input transaction in interactive mode")]
    ) { run in
        guard run.arguments.isEmpty else { throw KVCtlError(.badArgs, "txn command does not accept argument") }
        let options = try run.clientOptions()
        let interactive = run.flags.bool("interactive")
        let input = StandardInput.shared
        var request = Etcdserverpb_TxnRequest()
        if interactive { Output.standardOutput("compares:\n") }
        request.compare = try TxnInput.section(input, TxnInput.compare)
        if interactive { Output.standardOutput("success requests (get, put, del):\n") }
        request.success = try TxnInput.section(input, TxnInput.operation)
        if interactive { Output.standardOutput("failure requests (get, put, del):\n") }
        request.failure = try TxnInput.section(input, TxnInput.operation)
        let txn = request
        // etcdctl commits with no deadline.
        let response = try await options.session(until: nil) { try await $0.call(EtcdRPC.txn, txn, until: nil) }
        Output.standardOutput(options.printer.txn(response))
    }
}

/// etcdctl's txn input: `TARGET("key") OP "value"` compares, and get, put
/// and del command lines (with their flags) as operations.
enum TxnInput {
    /// The lines up to an empty one, trimmed, each parsed as it is read;
    /// the input ending first is an error ("EOF").
    static func section<Item>(_ input: StandardInput, _ parse: (String) throws(KVCtlError) -> Item) throws(KVCtlError) -> [Item] {
        var items: [Item] = []
        while true {
            guard let line = input.readLine() else { throw KVCtlError(.invalidInput, "EOF") }
            let trimmed = String(decoding: line, as: UTF8.self).trimmingSpaces()
            if trimmed.isEmpty { return items }
            items.append(try parse(trimmed))
        }
    }

    /// A compare: `ver|version`, `c|create`, `m|mod` (numbers), `val|value`
    /// (bytes) or `lease` (a hex lease ID), then `=`, `!=`, `<` or `>`.
    static func compare(_ line: String) throws(KVCtlError) -> Etcdserverpb_Compare {
        guard let parenthesis = line.firstIndex(of: "(") else {
            throw KVCtlError(.invalidInput, "malformed comparison: \(line)")
        }
        let target = String(line[..<parenthesis])
        var scanner = GoScanner(line[line.index(after: parenthesis)...])
        let key = scanner.quoted()
        let op = key == nil ? nil : scanner.literal(")") ? scanner.word() : nil
        let value = op == nil ? nil : scanner.quoted()
        guard let key, let op, let value else {
            let quotedKey = GoSyntax.quote(bytes: key ?? []), quotedValue = GoSyntax.quote(bytes: value ?? [])
            let got = "\(target)(\(quotedKey)) \(op ?? "") \(quotedValue)"
            throw KVCtlError(.invalidInput, "malformed comparison: \(line); got \(got)")
        }
        var compare = Etcdserverpb_Compare()
        compare.key = Data(key)
        let invalid = KVCtlError(.invalidInput, "invalid txn compare request: \(line)")
        func number() throws(KVCtlError) -> Int64 {
            do { return try GoSyntax.parseInt(String(decoding: value, as: UTF8.self), base: 10) } catch { throw invalid }
        }
        switch target {
        case "ver", "version":
            compare.target = .version
            compare.targetUnion = .version(try number())
        case "c", "create":
            compare.target = .create
            compare.targetUnion = .createRevision(try number())
        case "m", "mod":
            compare.target = .mod
            compare.targetUnion = .modRevision(try number())
        case "val", "value":
            compare.target = .value
            compare.targetUnion = .value(Data(value))
        case "lease":
            compare.target = .lease
            do {
                compare.targetUnion = .lease(try GoSyntax.parseInt(String(decoding: value, as: UTF8.self), base: 16))
            } catch {
                throw invalid
            }
        default:
            throw KVCtlError(.invalidInput, "malformed comparison: \(line) (unknown target \(target))")
        }
        switch op {
        case "=": compare.result = .equal
        case "!=": compare.result = .notEqual
        case "<": compare.result = .less
        case ">": compare.result = .greater
        default: throw KVCtlError(.invalidInput, "malformed comparison: \(line) (unknown operator \(op))")
        }
        return compare
    }

    /// An operation: a get, put or del command line, its name abbreviated
    /// as cobra allows. A line that is not one is "invalid txn request"; a
    /// command's own checks fail as they fail on the command line.
    static func operation(_ line: String) throws(KVCtlError) -> Etcdserverpb_RequestOp {
        let words = argify(line)
        guard words.count >= 2 else { throw KVCtlError(.invalidInput, "invalid txn compare request: \(line)") }
        let invalid = KVCtlError(.invalidInput, "invalid txn request: \(line)")
        let names = ["del", "get", "put"]
        let matches = names.contains(words[0]) ? [words[0]] : names.filter { $0.hasPrefix(words[0]) }
        guard matches.count == 1 else { throw invalid }
        let specs: [FlagSpec] = switch matches[0] {
        case "get": KVRequests.rangeFlags
        case "put": KVRequests.putFlags
        default: KVRequests.deleteFlags
        }
        let parsed: (arguments: [String], flags: ParsedFlags, terminator: Int?)
        do {
            parsed = try ParsedFlags.parse(Array(words.dropFirst()), specs: specs)
        } catch {
            // cobra, whose errors etcdctl silences here, still prints the command's usage.
            let use = KVCtlCommand.all.first { $0.path == [matches[0]] }?.use ?? ""
            Output.standardError(cobraUsage(matches[0] + " " + use, specs + [FlagSpec.help]))
            throw invalid
        }
        var operation = Etcdserverpb_RequestOp()
        switch matches[0] {
        case "get": operation.request = .requestRange(try KVRequests.range(parsed.arguments, parsed.flags))
        // Standard input holds the transaction itself: no value comes from it.
        case "put": operation.request = .requestPut(try KVRequests.put(parsed.arguments, parsed.flags, standardInput: nil))
        default: operation.request = .requestDeleteRange(try KVRequests.deleteRange(parsed.arguments, parsed.flags))
        }
        return operation
    }

    /// cobra's own usage text (etcdctl replaces it everywhere but here):
    /// the usage line, then pflag's flag list with its types and defaults.
    static func cobraUsage(_ useLine: String, _ flags: [FlagSpec]) -> String {
        var entries: [(String, String)] = []
        for flag in flags.sorted(by: { $0.name < $1.name }) {
            var line = flag.shorthand.map { "  -\($0), --" } ?? "      --"
            line += flag.name
            var usage = flag.name == "help" ? "help for \(useLine.prefix { $0 != " " })" : flag.usage
            switch flag.kind {
            case .bool: break
            case .string: line += " string"
            case .int64: line += " int"
            case .duration: line += " duration"
            case .stringSlice: line += " strings"
            }
            let zero = switch flag.kind {
            case .bool: flag.defaultText == "false"
            case .string: flag.defaultText.isEmpty
            case .int64: flag.defaultText == "0"
            case .duration: flag.defaultText == "0s"
            case .stringSlice: flag.defaultText == "[]"
            }
            if !zero { usage += flag.kind == .string ? " (default \(GoSyntax.quote(flag.defaultText)))" : " (default \(flag.defaultText))" }
            entries.append((line, usage))
        }
        let width = (entries.map(\.0.count).max() ?? 0) + 1
        let lines = entries.map { $0.0 + " " + String(repeating: " ", count: width - $0.0.count) + " " + $0.1 }
        return "Usage:\n   \(useLine) [flags]\n\nFlags:\n" + lines.joined(separator: "\n") + "\n\n"
    }

    /// Splits an operation line into words: `"double quoted"` (Go escapes),
    /// `'single quoted'`, or a run of non-space characters.
    static func argify(_ line: String) -> [String] {
        let characters = Array(line.unicodeScalars)
        let isSpace: (Unicode.Scalar) -> Bool = { " \t\n\r\u{0C}".unicodeScalars.contains($0) }
        var words: [String] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "\"" {
                var end = index + 1
                while end < characters.count && characters[end] != "\"" {
                    end += characters[end] == "\\" ? 2 : 1
                }
                if end < characters.count {
                    let token = String(String.UnicodeScalarView(characters[index...end]))
                    words.append(GoSyntax.unquote(Substring(token)).map { String(decoding: $0, as: UTF8.self) } ?? token)
                    index = end + 1
                    continue
                }
            } else if character == "'" {
                if let close = characters[(index + 1)...].firstIndex(of: "'") {
                    words.append(String(String.UnicodeScalarView(characters[(index + 1)..<close])))
                    index = close + 1
                    continue
                }
            } else if !isSpace(character) {
                var end = index
                while end < characters.count && !isSpace(characters[end]) { end += 1 }
                words.append(String(String.UnicodeScalarView(characters[index..<end])))
                index = end
                continue
            }
            index += 1
        }
        return words
    }
}

/// Go's fmt scanning of `%q) %s %q`, etcdctl's compare syntax after `(`.
struct GoScanner {
    private var rest: Substring

    init(_ text: Substring) { rest = text }

    private mutating func skipSpaces() {
        rest = rest.drop { $0 == " " || $0 == "\t" }
    }

    /// `%q`: a double-quoted (Go escapes) or back-quoted string.
    mutating func quoted() -> [UInt8]? {
        skipSpaces()
        guard let quote = rest.first, quote == "\"" || quote == "`" else { return nil }
        var index = rest.index(after: rest.startIndex)
        while index < rest.endIndex && rest[index] != quote {
            if quote == "\"" && rest[index] == "\\" {
                index = rest.index(after: index)
                if index == rest.endIndex { return nil }
            }
            index = rest.index(after: index)
        }
        guard index < rest.endIndex else { return nil }
        let token = rest[...index]
        rest = rest[rest.index(after: index)...]
        return GoSyntax.unquote(token)
    }

    /// A literal character of the format, which must come next.
    mutating func literal(_ character: Character) -> Bool {
        guard rest.first == character else { return false }
        rest = rest.dropFirst()
        return true
    }

    /// `%s`: the next run of non-space characters.
    mutating func word() -> String? {
        skipSpaces()
        let word = rest.prefix { $0 != " " && $0 != "\t" }
        guard !word.isEmpty else { return nil }
        rest = rest.dropFirst(word.count)
        return String(word)
    }
}
