/// Go's flag syntax, as runc and coreos-cloudinit take it: `-name` or `--name`,
/// `--name=value` or `--name value`; `--` ends the flags.
public struct GoFlags {
    /// Every value of each valued flag given, in order; `value` is the last.
    public var lists: [String: [String]] = [:]
    public var flags: Set<String> = []
    public var positionals: [String] = []

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String

        public init(description: String) { self.description = description }
    }

    /// - Parameters:
    ///   - aliases: short names for long ones (`b` for `bundle`).
    ///   - stopAtPositional: everything from the first positional on is
    ///     positional (the global flags stop at the command).
    public init(_ arguments: [String], values valued: Set<String>, flags boolean: Set<String>, aliases: [String: String] = [:],
                stopAtPositional: Bool = false) throws(Invalid) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--" {
                positionals += rest
                return
            }
            guard argument.hasPrefix("-"), argument != "-" else {
                positionals.append(argument)
                if stopAtPositional {
                    positionals += rest
                    return
                }
                continue
            }
            var name = String(argument.drop { $0 == "-" })
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            name = aliases[name] ?? name
            if valued.contains(name) {
                guard let value = inline ?? rest.popFirst() else { throw Invalid(description: "flag needs an argument: -\(name)") }
                lists[name, default: []].append(value)
            } else if boolean.contains(name) {
                // strconv.ParseBool's words, as Go's flag package takes them.
                guard let inline else {
                    flags.insert(name)
                    continue
                }
                guard let on = try? GoSyntax.parseBool(inline) else {
                    throw Invalid(description: "invalid boolean value \(GoSyntax.quote(inline)) for -\(name)")
                }
                if on { flags.insert(name) } else { flags.remove(name) }
            } else {
                throw Invalid(description: "flag provided but not defined: -\(name)")
            }
        }
    }

    public func value(_ name: String) -> String? { lists[name]?.last }
    /// Every value of a flag that may be repeated (`-e A=1 -e B=2`), in order.
    public func list(_ name: String) -> [String] { lists[name] ?? [] }
    public func flag(_ name: String) -> Bool { flags.contains(name) }
}
