import CoreboxCore

/// Flags as etcdctl's parser (spf13/pflag under cobra) reads them: long
/// `--name value` or `--name=value`, short `-w json`, `-wjson` or `-w=json`,
/// booleans without a value, flags anywhere among the arguments, `--` ending
/// them; values in Go's syntax; errors in pflag's words.
struct FlagSpec: Sendable {
    enum Kind: Sendable { case bool, string, int64, duration, stringSlice }

    let name: String
    let shorthand: Character?
    let kind: Kind
    /// The default as etcdctl shows it in usage ("5s", "l", "[127.0.0.1:2379]").
    let defaultText: String
    let usage: String

    init(_ name: String, _ kind: Kind, shorthand: Character? = nil, default defaultText: String? = nil, _ usage: String) {
        self.name = name
        self.shorthand = shorthand
        self.kind = kind
        self.usage = usage
        switch kind {
        case .bool: self.defaultText = defaultText ?? "false"
        case .int64: self.defaultText = defaultText ?? "0"
        case .string, .duration: self.defaultText = defaultText ?? ""
        case .stringSlice: self.defaultText = defaultText ?? "[]"
        }
    }

    static let help = FlagSpec("help", .bool, shorthand: "h", "help for")

    /// The name pflag puts in its messages: `--limit`, or `-w, --write-out`.
    var displayName: String { shorthand.map { "-\($0), --\(name)" } ?? "--\(name)" }
}

/// A parsed flag value.
enum FlagValue: Sendable, Equatable {
    case bool(Bool), string(String), int64(Int64), duration(Duration), strings([String])
}

/// A flag-parsing failure, worded as pflag words it (cobra prints it with
/// the command's usage and exits 1).
struct FlagError: Error, Equatable, CustomStringConvertible {
    let description: String
}

/// The values of a command's flags after parsing: defaults, then what the
/// command line set (`changed`).
struct ParsedFlags: Sendable {
    private(set) var values: [String: FlagValue] = [:]
    private(set) var changed: Set<String> = []
    let specs: [FlagSpec]

    init(specs: [FlagSpec]) {
        self.specs = specs
        for spec in specs {
            values[spec.name] = Self.defaultValue(spec)
        }
    }

    private static func defaultValue(_ spec: FlagSpec) -> FlagValue {
        switch spec.kind {
        case .bool: return .bool(spec.defaultText == "true")
        case .string: return .string(spec.defaultText)
        case .int64: return .int64((try? GoSyntax.parseInt(spec.defaultText, base: 0)) ?? 0)
        case .duration: return .duration((try? GoSyntax.parseDuration(spec.defaultText)) ?? .zero)
        case .stringSlice:
            let inner = spec.defaultText.dropFirst().dropLast()
            return .strings(inner.isEmpty ? [] : inner.split(separator: ",").map(String.init))
        }
    }

    func spec(_ name: String) -> FlagSpec? { specs.first { $0.name == name } }
    func spec(shorthand: Character) -> FlagSpec? { specs.first { $0.shorthand == shorthand } }

    func bool(_ name: String) -> Bool {
        if case .bool(let value) = values[name] { return value }
        return false
    }

    func string(_ name: String) -> String {
        if case .string(let value) = values[name] { return value }
        return ""
    }

    func int64(_ name: String) -> Int64 {
        if case .int64(let value) = values[name] { return value }
        return 0
    }

    func duration(_ name: String) -> Duration {
        if case .duration(let value) = values[name] { return value }
        return .zero
    }

    func strings(_ name: String) -> [String] {
        if case .strings(let value) = values[name] { return value }
        return []
    }

    func isChanged(_ name: String) -> Bool { changed.contains(name) }

    /// Sets a flag from text, as pflag's `Set`: a string slice's first
    /// setting replaces the default, later ones append.
    mutating func set(_ spec: FlagSpec, _ text: String) throws(FlagError) {
        let value: FlagValue
        do {
            switch spec.kind {
            case .bool: value = .bool(try GoSyntax.parseBool(text))
            case .string: value = .string(text)
            case .int64: value = .int64(try GoSyntax.parseInt(text, base: 0))
            case .duration: value = .duration(try GoSyntax.parseDuration(text))
            case .stringSlice:
                let fields = Self.commaSeparated(text)
                value = .strings(changed.contains(spec.name) ? strings(spec.name) + fields : fields)
            }
        } catch {
            throw FlagError(description: "invalid argument \(GoSyntax.quote(text)) for \(GoSyntax.quote(spec.displayName)) flag: \(error)")
        }
        values[spec.name] = value
        changed.insert(spec.name)
    }

    /// A string-slice value: comma-separated fields, double quotes around a
    /// field that holds a comma (pflag reads it as one CSV record).
    static func commaSeparated(_ text: String) -> [String] {
        if text.isEmpty { return [] }
        var fields: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters = characters.dropFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" && field.isEmpty {
                quoted = true
            } else if character == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
        }
        fields.append(field)
        return fields
    }

    /// Parses `arguments` against the flags: the positional arguments in
    /// order (everything after `--` among them), the flags set, and how many
    /// positional arguments came before a `--`.
    /// With `passingUnknown`, a flag that is not among `specs` is not an
    /// error but an argument (for a command that reads its own flags).
    static func parse(
        _ arguments: [String], specs: [FlagSpec], passingUnknown: Bool = false
    ) throws(FlagError) -> (arguments: [String], flags: ParsedFlags, terminator: Int?) {
        var flags = ParsedFlags(specs: specs)
        var positional: [String] = []
        var terminator: Int?
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--" {
                terminator = positional.count
                positional += rest
                break
            }
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                let inline = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                guard let spec = flags.spec(name) else {
                    if passingUnknown {
                        positional.append(argument)
                        continue
                    }
                    throw FlagError(description: "unknown flag: --\(name)")
                }
                if let inline {
                    try flags.set(spec, inline)
                } else if spec.kind == .bool {
                    try flags.set(spec, "true")
                } else if let value = rest.popFirst() {
                    try flags.set(spec, value)
                } else {
                    throw FlagError(description: "flag needs an argument: \(argument)")
                }
            } else if argument.hasPrefix("-") && argument.count > 1 {
                if passingUnknown && argument.dropFirst().contains(where: { flags.spec(shorthand: $0) == nil }) {
                    positional.append(argument)
                    continue
                }
                var shorthands = Substring(argument.dropFirst())
                while let letter = shorthands.popFirst() {
                    guard let spec = flags.spec(shorthand: letter) else {
                        throw FlagError(description: "unknown shorthand flag: '\(letter)' in \(argument)")
                    }
                    if shorthands.first == "=" {
                        try flags.set(spec, String(shorthands.dropFirst()))
                        break
                    }
                    if spec.kind == .bool {
                        try flags.set(spec, "true")
                    } else if !shorthands.isEmpty {
                        try flags.set(spec, String(shorthands))
                        break
                    } else if let value = rest.popFirst() {
                        try flags.set(spec, value)
                    } else {
                        throw FlagError(description: "flag needs an argument: '\(letter)' in -\(letter)")
                    }
                }
            } else {
                positional.append(argument)
            }
        }
        return (positional, flags, terminator)
    }

    /// The words of `arguments` that are not flags or flag values, as cobra
    /// sees them while it looks for the command (its `stripFlags`): a
    /// `--name` or `-x` that is not a known boolean takes the next word.
    static func words(_ arguments: [String], specs: [FlagSpec]) -> [String] {
        var words: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--" { break }
            let takesValue: Bool
            if argument.hasPrefix("--") && !argument.contains("=") {
                takesValue = specs.first { $0.name == argument.dropFirst(2) }?.kind != .bool
            } else if argument.hasPrefix("-") && !argument.contains("=") && argument.count == 2 {
                takesValue = specs.first { $0.shorthand == argument.last }?.kind != .bool
            } else {
                if !argument.isEmpty && !argument.hasPrefix("-") { words.append(argument) }
                continue
            }
            if takesValue {
                if rest.count <= 1 { break }
                rest = rest.dropFirst()
            }
        }
        return words
    }

    /// `arguments` without the first `word` that is not a flag or a flag's
    /// value (cobra removes each command name this way).
    static func removingFirst(_ word: String, from arguments: [String], specs: [FlagSpec]) -> [String] {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { break }
            if argument.hasPrefix("--") && !argument.contains("=") {
                if specs.first(where: { $0.name == argument.dropFirst(2) })?.kind != .bool { index += 1 }
            } else if argument.hasPrefix("-") && !argument.contains("=") && argument.count == 2 {
                if specs.first(where: { $0.shorthand == argument.last })?.kind != .bool { index += 1 }
            } else if argument == word {
                var copy = arguments
                copy.remove(at: index)
                return copy
            }
            index += 1
        }
        return arguments
    }
}
