import Glibc
import Logging
import TestSupport
import Testing
@testable import CoreboxSystem

@Suite struct LogFormatTests {
    func event(_ level: Logger.Level, _ message: Logger.Message, error: (any Error)? = nil) -> LogEvent {
        LogEvent(level: level, message: message, error: error, metadata: nil, source: nil,
                 file: "KVServer/Server.swift", function: "start()", line: 42)
    }

    @Test func journalEntryCarriesPriorityIdentifierLocationAndMetadata() {
        let fields = LogFormat.journalFields(
            identifier: "kvd", label: "kvd.wal", event: event(.warning, "fsync slow"),
            metadata: ["dataDir": "/var/lib/kvd", "fsync_ms": "12", "peers": ["a", "b"]]
        )
        #expect(fields == [
            "MESSAGE=fsync slow", "PRIORITY=4", "SYSLOG_IDENTIFIER=kvd",
            "CODE_FILE=KVServer/Server.swift", "CODE_LINE=42", "CODE_FUNC=start()", "LOGGER=kvd.wal",
            "DATA_DIR=/var/lib/kvd", "FSYNC_MS=12", #"PEERS=["a", "b"]"#,
        ])
    }

    @Test func anErrorBecomesAField() {
        let fields = LogFormat.journalFields(identifier: "kvd", label: "kvd", event: event(.error, "open failed", error: SettingsError("disk gone")), metadata: [:])
        #expect(fields.contains("ERROR=disk gone"))
        #expect(fields.contains("PRIORITY=3"))
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func prioritiesFollowSyslog(level: Logger.Level, priority: Int) {
        #expect(LogFormat.priority(level) == priority)
    }

    @Test(arguments: [
        ("dataDir", "DATA_DIR"), ("peer-url", "PEER_URL"), ("_pid", "PID"), ("9lives", "F_9LIVES"),
        ("already_FINE", "ALREADY_FINE"), ("ünicode", "NICODE"),
        (String(repeating: "a", count: 80), String(repeating: "A", count: 64)),
    ])
    func metadataKeysBecomeValidFieldNames(key: String, field: String) {
        let name = LogFormat.journalFieldName(key)
        #expect(name == field)
        #expect(name.count <= 64 && !name.hasPrefix("_"))
    }

    @Test func stderrLinesAreReadable() {
        #expect(LogFormat.stderrLine(identifier: "kvd", event: event(.info, "serving"), metadata: ["port": "2379"])
            == "kvd: serving port=2379")
        #expect(LogFormat.stderrLine(identifier: "kvd", event: event(.error, "cannot start", error: SettingsError("bad flag")), metadata: ["path": "/var/lib/my dir", "quote": "a\"b"])
            == #"kvd: error: cannot start: bad flag path="/var/lib/my dir" quote="a\"b""#)
    }
}

@Suite struct LogSettingsTests {
    @Test func defaultsToStderrAtInfoOutsideSystemd() throws {
        let settings = try LogSettings(environment: [:])
        #expect(settings == LogSettings(sink: .stderr, level: .info))
    }

    @Test func journalStreamMustNameOurStderr() throws {
        let status = try Syscall.fileStatus(fd: STDERR_FILENO)
        let ours = "\(status.st_dev):\(status.st_ino)"
        #expect(try LogSettings(environment: ["JOURNAL_STREAM": ours]).sink == .journal)
        #expect(try LogSettings(environment: ["JOURNAL_STREAM": "1:1"]).sink == .stderr)
    }

    @Test func explicitTargetsAndLevels() throws {
        let dir = try TemporaryDirectory()
        let socket = try DatagramSocket(path: dir.path + "/journal.socket")
        #expect(try LogSettings(environment: ["COREBOX_LOG_TARGET": "journal", "COREBOX_LOG_LEVEL": "debug"], journalSocket: socket.path)
            == LogSettings(sink: .journal, level: .debug))
        #expect(try LogSettings(environment: ["COREBOX_LOG_TARGET": "stderr"]).sink == .stderr)
    }

    @Test(arguments: [
        (["COREBOX_LOG_TARGET": "journal"], "COREBOX_LOG_TARGET=journal: stat('/nonexistent/journal.socket'): No such file or directory (errno 2)"),
        (["COREBOX_LOG_TARGET": "syslog"], "COREBOX_LOG_TARGET: unknown target \"syslog\" (auto|journal|stderr)"),
        (["COREBOX_LOG_LEVEL": "loud"], "COREBOX_LOG_LEVEL: unknown level \"loud\" (trace|debug|info|notice|warning|error|critical)"),
    ])
    func badSettingsAreOneLineErrors(environment: [String: String], message: String) {
        #expect {
            try LogSettings(environment: environment, journalSocket: "/nonexistent/journal.socket")
        } throws: { error in
            "\(error)" == message
        }
    }

    @Test func aJournalPathThatIsNotASocketIsRefused() throws {
        let dir = try TemporaryDirectory()
        try dir.write("plain", "")
        #expect {
            try LogSettings(environment: ["COREBOX_LOG_TARGET": "journal"], journalSocket: dir.path + "/plain")
        } throws: { error in
            "\(error)".contains("Socket operation on non-socket")
        }
    }
}
