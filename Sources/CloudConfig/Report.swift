import CoreboxCore
import YAML

/// One finding about user-data, placed where it was found.
public struct Diagnostic: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case error
        case warning
        case info
    }

    public var kind: Kind
    /// coreos-cloudinit's text for the same finding.
    public var message: String
    public var mark: YAMLMark
    /// Help beyond coreos-cloudinit's message ("did you mean ...").
    public var hint: String?
    /// Whether the config cannot be applied with this in it. Every error
    /// is; so is a value of the wrong type, which coreos-cloudinit reports
    /// as a warning but then fails to decode.
    public var blocksApply: Bool

    public init(_ kind: Kind, _ message: String, at mark: YAMLMark, hint: String? = nil, blocksApply: Bool? = nil) {
        self.kind = kind
        self.message = message
        self.mark = mark
        self.hint = hint
        self.blocksApply = blocksApply ?? (kind == .error)
    }

    /// `line N: kind: message`, as coreos-cloudinit prints it, then the
    /// column and any hint in parentheses.
    public var text: String {
        let extra = ["column \(mark.column)", hint].compactMap { $0 }.joined(separator: "; ")
        return "line \(mark.line): \(kind.rawValue): \(message) (\(extra))"
    }

    /// One JSON object: coreos-cloudinit's `kind`, `message`, `line`, and ours.
    public var json: String {
        var fields = [
            "\"kind\":" + JSONString.quoted(kind.rawValue),
            "\"message\":" + JSONString.quoted(message),
            "\"line\":\(mark.line)",
            "\"column\":\(mark.column)",
        ]
        if let hint { fields.append("\"hint\":" + JSONString.quoted(hint)) }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// Everything found in one pass over user-data, in the order of the text.
public struct Report: Equatable, Sendable {
    public private(set) var diagnostics: [Diagnostic] = []

    public init(_ diagnostics: [Diagnostic] = []) {
        self.diagnostics = diagnostics
        sort()
    }

    /// Nothing to say: coreos-cloudinit's `-validate` exits 0 only then.
    public var isEmpty: Bool { diagnostics.isEmpty }
    public var blocksApply: Bool { diagnostics.contains { $0.blocksApply } }

    mutating func add(_ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
    }

    mutating func add(contentsOf other: Report) {
        diagnostics += other.diagnostics
        sort()
    }

    /// By place; findings at one place keep the order they were made in.
    mutating func sort() {
        diagnostics = diagnostics.enumerated().sorted {
            ($0.element.mark.line, $0.element.mark.column, $0.offset) < ($1.element.mark.line, $1.element.mark.column, $1.offset)
        }.map(\.element)
    }

    /// One line per finding.
    public var text: String { diagnostics.map { $0.text + "\n" }.joined() }

    /// A JSON array of the findings.
    public var json: String { "[" + diagnostics.map(\.json).joined(separator: ",") + "]\n" }
}

/// Go's `%q`, as coreos-cloudinit's messages quote names and values.
func goQuoted(_ text: String) -> String { GoSyntax.quote(text) }
