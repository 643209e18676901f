/// A shell-style `KEY=value` file: update.conf, the release file,
/// os-release(5) and systemd environment files.
///
/// Accepted: blank lines, `#` comments (whole lines, or after whitespace
/// following a value), an optional `export ` prefix, unquoted values,
/// `'single'` quoted values taken literally, and `"double"` quoted values
/// where a backslash escapes `"`, `\`, `$` and the backtick. A value may be
/// built from several adjacent pieces (`a"b c"'d'`). A later assignment
/// replaces an earlier one.
public struct KeyValueFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: String
        public let line: Int
    }

    /// The file's name as shown in errors.
    public let name: String
    public private(set) var entries: [Entry] = []

    public subscript(key: String) -> String? { entry(key)?.value }

    public func entry(_ key: String) -> Entry? { entries.last { $0.key == key } }

    /// The final value of every key.
    public var values: [String: String] {
        var result: [String: String] = [:]
        for entry in entries { result[entry.key] = entry.value }
        return result
    }

    public init(name: String, entries: [Entry] = []) {
        self.name = name
        self.entries = entries
    }

    /// Parses `text`; `name` is used in error messages.
    public init(parsing text: String, name: String) throws(ConfigError) {
        self.name = name
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = Substring(rawLine)
            if line.last == "\r" { line.removeLast() }
            if let entry = try Self.parse(line, number: number, file: name) {
                entries.append(entry)
            }
        }
    }

    private static func parse(_ line: Substring, number: Int, file: String) throws(ConfigError) -> Entry? {
        var rest = line.drop { $0 == " " || $0 == "\t" }
        if rest.isEmpty || rest.first == "#" { return nil }
        func fail(_ message: String) -> ConfigError {
            ConfigError(file: file, line: number, message: message)
        }
        if rest.hasPrefix("export "), rest.contains("=") {
            rest = rest.dropFirst("export ".count).drop { $0 == " " || $0 == "\t" }
        }
        guard let equals = rest.firstIndex(of: "=") else {
            throw fail("expected KEY=value, found \"\(rest)\"")
        }
        let key = String(rest[..<equals])
        guard isValidKey(key) else {
            throw fail("invalid key \"\(key)\": use letters, digits and underscores, not starting with a digit")
        }
        let value = try parseValue(rest[rest.index(after: equals)...], fail: fail)
        return Entry(key: key, value: value, line: number)
    }

    private static func parseValue(_ text: Substring, fail: (String) -> ConfigError) throws(ConfigError) -> String {
        var value = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            switch character {
            case " ", "\t":
                // Whitespace ends the value; only a comment may follow it.
                let trailing = text[index...].drop { $0 == " " || $0 == "\t" }
                if trailing.isEmpty || trailing.first == "#" { return value }
                throw fail("unexpected \"\(trailing)\" after the value; quote values that contain spaces")
            case "'":
                guard let close = text[text.index(after: index)...].firstIndex(of: "'") else {
                    throw fail("unterminated single quote")
                }
                value += text[text.index(after: index)..<close]
                index = text.index(after: close)
            case "\"":
                index = text.index(after: index)
                var closed = false
                while index < text.endIndex {
                    let c = text[index]
                    if c == "\"" { closed = true; index = text.index(after: index); break }
                    if c == "\\", text.index(after: index) < text.endIndex,
                       "\"\\$`".contains(text[text.index(after: index)]) {
                        index = text.index(after: index)
                    }
                    value.append(text[index])
                    index = text.index(after: index)
                }
                guard closed else { throw fail("unterminated double quote") }
            case "\\":
                let next = text.index(after: index)
                guard next < text.endIndex else { throw fail("backslash at the end of the line") }
                value.append(text[next])
                index = text.index(after: next)
            default:
                value.append(character)
                index = text.index(after: index)
            }
        }
        return value
    }

    static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return key.unicodeScalars.allSatisfy {
            ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        }
    }
}

/// A malformed configuration file, named with the line at fault.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let message: String

    public var description: String { "\(file):\(line): \(message)" }
}

/// Several key=value files consulted in order: the first that sets a key wins.
///
/// For the update settings the order is the administrator's
/// `/etc/corebox/update.conf`, then the image's defaults, then the release
/// file (`Layout.updateConfigLookup`).
public struct LayeredConfig: Sendable, Equatable {
    /// The files that exist, most important first.
    public let files: [KeyValueFile]

    public init(_ files: [KeyValueFile]) { self.files = files }

    public subscript(key: String) -> String? { lookup(key)?.value }

    /// The value of `key` and the file that set it.
    public func lookup(_ key: String) -> (value: String, file: String)? {
        for file in files {
            if let value = file[key] { return (value, file.name) }
        }
        return nil
    }
}
