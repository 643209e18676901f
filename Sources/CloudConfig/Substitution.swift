/// coreos-cloudinit's address substitution: `$public_ipv4`, `$private_ipv4`,
/// `$public_ipv6` and `$private_ipv6` in user-data become the machine's
/// addresses, from the metadata or else from the environment
/// (`COREOS_PUBLIC_IPV4` ...), and an empty string when neither has one.
public struct Substitutions: Sendable {
    /// The placeholders with their values, in the order they are applied.
    public let values: [(placeholder: String, value: String)]

    public init(metadata: Metadata, environment: [String: String]) {
        let sources: [(String, String?, String)] = [
            ("$public_ipv4", metadata.publicIPv4, "COREOS_PUBLIC_IPV4"),
            ("$private_ipv4", metadata.privateIPv4, "COREOS_PRIVATE_IPV4"),
            ("$public_ipv6", metadata.publicIPv6, "COREOS_PUBLIC_IPV6"),
            ("$private_ipv6", metadata.privateIPv6, "COREOS_PRIVATE_IPV6"),
        ]
        values = sources.map { placeholder, address, variable in
            (placeholder, address ?? environment[variable] ?? "")
        }
    }

    /// `text` with every placeholder replaced, by coreos-cloudinit's two
    /// regular expressions a placeholder at a time:
    /// `([^\\]|^)\$key` -> `${1}value`, then `\\\$key` -> `$key`. So
    /// `\$public_ipv4` stays as the literal `$public_ipv4`, and, as there,
    /// a placeholder right after one just replaced stays too (the first
    /// match consumed the character the second needs before it). Values are
    /// inserted as they are (Go would expand a `$` inside one).
    public func apply(to text: String) -> String {
        var bytes = Array(text.utf8)
        for (placeholder, value) in values {
            let key = Array(placeholder.utf8)
            bytes = Self.replace(key, with: Array(value.utf8), in: bytes)
            bytes = Self.unescape(key, in: bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The variables coreos-cloudinit writes into /etc/environment: one for
    /// each non-empty address, sorted by name as it writes new ones.
    public var environmentVariables: [(name: String, value: String)] {
        values.filter { !$0.value.isEmpty }
            .map { ("COREOS_" + $0.placeholder.dropFirst().uppercased(), $0.value) }
            .sorted { $0.name < $1.name }
    }

    private static let backslash = UInt8(ascii: "\\")

    /// The first expression: an occurrence counts at the very start, or
    /// after a character that is not a backslash and not the end of the
    /// previous match.
    private static func replace(_ key: [UInt8], with value: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var copied = 0
        for start in occurrences(of: key, in: bytes) {
            let matches = start == 0 || (start > copied && bytes[start - 1] != backslash)
            guard matches else { continue }
            result += bytes[copied..<start]
            result += value
            copied = start + key.count
        }
        return result + bytes[copied...]
    }

    /// The second expression: a backslash before a placeholder goes.
    private static func unescape(_ key: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var copied = 0
        for start in occurrences(of: key, in: bytes) where start > copied && bytes[start - 1] == backslash {
            result += bytes[copied..<(start - 1)]
            copied = start
        }
        return result + bytes[copied...]
    }

    /// Where `key` starts in `bytes`; a placeholder begins with `$` and has
    /// no other, so occurrences cannot overlap.
    private static func occurrences(of key: [UInt8], in bytes: [UInt8]) -> [Int] {
        guard bytes.count >= key.count else { return [] }
        return (0...(bytes.count - key.count)).filter { bytes[$0] == key[0] && bytes[$0..<($0 + key.count)].elementsEqual(key) }
    }
}
