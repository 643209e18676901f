import CSystemd
import CoreboxCore
import Glibc
import Logging

/// Where log entries go: the journal with structured fields, or plain lines on stderr.
public enum LogSink: Sendable, Equatable {
    case journal
    case stderr
}

/// How this process logs, decided once at start from its environment.
///
/// `COREBOX_LOG_TARGET` is `auto` (the default: the journal when stderr is
/// already connected to it, as `JOURNAL_STREAM` tells under systemd, else
/// stderr), `journal` or `stderr`. `COREBOX_LOG_LEVEL` is a swift-log level
/// name, `info` by default.
public struct LogSettings: Sendable, Equatable {
    public static let journalSocket = "/run/systemd/journal/socket"

    public var sink: LogSink
    public var level: Logger.Level

    public init(sink: LogSink, level: Logger.Level) {
        self.sink = sink
        self.level = level
    }

    /// Reads the settings; asking for the journal where it has no socket is an error.
    public init(environment: [String: String], journalSocket: String = Self.journalSocket) throws(SettingsError) {
        let levelName = environment["COREBOX_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: "|")
            throw SettingsError("COREBOX_LOG_LEVEL: unknown level \"\(levelName)\" (\(names))")
        }
        switch environment["COREBOX_LOG_TARGET"] ?? "auto" {
        case "auto":
            self.init(sink: Self.stderrIsJournal(environment["JOURNAL_STREAM"]) ? .journal : .stderr, level: level)
        case "stderr":
            self.init(sink: .stderr, level: level)
        case "journal":
            do {
                let status = try Syscall.fileStatus(journalSocket)
                guard status.st_mode & S_IFMT == S_IFSOCK else {
                    throw SystemError(errno: ENOTSOCK, operation: "stat", path: journalSocket)
                }
            } catch {
                throw SettingsError("COREBOX_LOG_TARGET=journal: \(error)")
            }
            self.init(sink: .journal, level: level)
        case let other:
            throw SettingsError("COREBOX_LOG_TARGET: unknown target \"\(other)\" (auto|journal|stderr)")
        }
    }

    /// systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is the
    /// journal; it only counts if it still names our stderr (sd_journal_stream_fd(3)).
    static func stderrIsJournal(_ journalStream: String?) -> Bool {
        guard let journalStream, let status = try? Syscall.fileStatus(fd: STDERR_FILENO) else { return false }
        return journalStream == "\(status.st_dev):\(status.st_ino)"
    }
}

/// A setting in the environment that cannot be used.
public struct SettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The log handler of every applet: structured journal entries (priority,
/// identifier, code location, metadata as fields), or readable stderr lines.
public struct CoreboxLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level

    /// SYSLOG_IDENTIFIER: the applet's name.
    public let identifier: String
    public let label: String
    public let sink: LogSink

    public init(label: String, identifier: String, settings: LogSettings) {
        self.label = label
        self.identifier = identifier
        self.sink = settings.sink
        self.logLevel = settings.level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        switch sink {
        case .journal:
            let fields = LogFormat.journalFields(identifier: identifier, label: label, event: event, metadata: merged)
            if Self.sendToJournal(fields) { return }
            // The journal went away: the entry still reaches stderr.
            fallthrough
        case .stderr:
            let line = LogFormat.stderrLine(identifier: identifier, event: event, metadata: merged) + "\n"
            _ = line.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
        }
    }

    private static func sendToJournal(_ fields: [String]) -> Bool {
        let buffers = fields.map { Array($0.utf8) }
        var vectors: [iovec] = []
        vectors.reserveCapacity(buffers.count)
        return withExtendedLifetime(buffers) {
            for buffer in buffers {
                buffer.withUnsafeBytes { bytes in
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count))
                }
            }
            return sd_journal_sendv(vectors, Int32(vectors.count)) >= 0
        }
    }
}

/// The text of log entries, kept apart from where they are written.
enum LogFormat {
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// `FIELD=value` strings for sd_journal_sendv.
    static func journalFields(identifier: String, label: String, event: LogEvent, metadata: Logger.Metadata) -> [String] {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(priority(event.level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
            "LOGGER=\(label)",
        ]
        if let error = event.error { fields.append("ERROR=\(error)") }
        for key in metadata.keys.sorted() {
            fields.append("\(journalFieldName(key))=\(metadata[key]!)")
        }
        return fields
    }

    /// A metadata key as a journal field name: upper case letters, digits and
    /// underscores, camelCase split at its humps, never a leading underscore
    /// (those are the journal's trusted fields) or digit, at most 64 bytes.
    static func journalFieldName(_ key: String) -> String {
        var name = ""
        var previousWasLower = false
        for scalar in key.unicodeScalars {
            let isUpper = ("A"..."Z").contains(scalar)
            let isLower = ("a"..."z").contains(scalar)
            let isDigit = ("0"..."9").contains(scalar)
            if isUpper && previousWasLower { name += "_" }
            if isUpper || isDigit { name.unicodeScalars.append(scalar) }
            else if isLower { name += String(scalar).uppercased() }
            else { name += "_" }
            previousWasLower = isLower || isDigit
        }
        while name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty || name.first!.isNumber { name = "F_" + name }
        return String(name.prefix(64))
    }

    /// `applet: [level: ]message key=value ...`; info and notice carry no level word.
    static func stderrLine(identifier: String, event: LogEvent, metadata: Logger.Metadata) -> String {
        var line = "\(identifier): "
        if event.level != .info && event.level != .notice { line += "\(event.level.rawValue): " }
        line += event.message.description
        if let error = event.error { line += ": \(error)" }
        for key in metadata.keys.sorted() {
            let value = "\(metadata[key]!)"
            let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" }
            line += " \(key)=" + (needsQuotes ? quoted(value) : value)
        }
        return line
    }

    private static func quoted(_ value: String) -> String {
        var result = "\""
        for character in value {
            if character == "\"" || character == "\\" { result.append("\\") }
            result.append(character)
        }
        return result + "\""
    }
}
