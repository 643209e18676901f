import FoundationEssentials

/// What user-data is, decided as coreos-cloudinit decides it: a script if its
/// first line starts with `#!`, a cloud-config if its first line is
/// `#cloud-config` (trailing white space allowed), an Ignition config (JSON
/// with `ignitionVersion` or `ignition.version`) to skip, nothing when empty.
public enum UserDataKind: Equatable, Sendable {
    case empty
    case script
    case cloudConfig
    case ignition

    /// Anything else: coreos-cloudinit's message.
    public struct Unrecognized: Error, Equatable, CustomStringConvertible {
        public init() {}
        public var description: String { "Unrecognized user-data format" }
    }

    /// The kind of `bytes`, which gzip'd user-data must already be inflated
    /// from (`isGzip` tells).
    public static func of(_ bytes: [UInt8]) throws(Unrecognized) -> UserDataKind {
        if bytes.isEmpty { return .empty }
        let firstLine = bytes.prefix { $0 != UInt8(ascii: "\n") }
        if firstLine.starts(with: Array("#!".utf8)) { return .script }
        if String(decoding: firstLine, as: UTF8.self).trimmingTrailingWhiteSpace == "#cloud-config" { return .cloudConfig }
        if isIgnition(bytes) { return .ignition }
        throw Unrecognized()
    }

    /// gzip's magic bytes: such user-data is inflated, then classified.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: [0x1F, 0x8B])
    }

    private struct IgnitionProbe: Decodable {
        struct Ignition: Decodable { var version: String? }
        var ignitionVersion: Int?
        var ignition: Ignition?
    }

    private static func isIgnition(_ bytes: [UInt8]) -> Bool {
        guard let probe = try? JSONDecoder().decode(IgnitionProbe.self, from: Data(bytes)) else { return false }
        return probe.ignitionVersion != nil || probe.ignition?.version != nil
    }
}

extension String {
    /// Without the white space at its end (Go's unicode.IsSpace: spaces, tabs, CR, ...).
    var trimmingTrailingWhiteSpace: String {
        String(unicodeScalars.reversed().drop { $0.properties.isWhitespace }.reversed().map(Character.init))
    }
}
