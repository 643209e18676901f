import CoreboxCore
import CoreboxSystem
import Glibc
import Logging
import OCISpec

/// The `container` applet: an OCI runtime with runc's command line
/// (docs: REFERENCE.md, "container"). Global flags come before the command.
public enum ContainerApplet {
    public static func main(_ context: AppletContext) -> Int32 {
        run(context.arguments, layout: context.layout, environment: context.environment, output: .console)
    }

    static let usage = """
        usage: container [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--systemd-cgroup] COMMAND ...
          create [--bundle|-b DIR] [--pid-file FILE] [--console-socket PATH] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID
          start ID
          run [--bundle|-b DIR] [--pid-file FILE] [--detach|-d] [--console-socket PATH] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID
          exec [--process|-p FILE] [--detach|-d] [--pid-file FILE] [--tty|-t] [--console-socket PATH] [--cwd DIR] [--env|-e K=V]...
               [--user|-u UID[:GID]] [--additional-gids|-g GID]... [--cap|-c CAP]... [--no-new-privs] [--preserve-fds N]
               [--ignore-paused] ID [COMMAND [ARG...]]
          state ID
          ps [--format|-f table|json] ID [PS-OPTION...]
          pause ID
          resume ID
          update [--resources|-r FILE|-] [--memory N] [--memory-swap N] [--memory-reservation N] [--cpu-share N]
               [--cpu-quota N] [--cpu-period N] [--cpu-rt-runtime N] [--cpu-rt-period N] [--cpuset-cpus LIST]
               [--cpuset-mems LIST] [--blkio-weight N] [--pids-limit N] ID
          kill [--all|-a] ID [SIGNAL]
          delete [--force|-f] ID
          list [--format|-f table|json] [--quiet|-q]
          features
          spec [--rootless] [--bundle|-b DIR]
          run [--rm] [--detach|-d] [--name ID] [--env|-e K=V]... [--creds USER:PASS] [--tls-verify=false] IMAGE [CMD [ARG...]]
          unpack [--creds USER:PASS] [--tls-verify=false] IMAGE DIR
          pull [--creds USER:PASS] [--tls-verify=false] docker://HOST/REPO[:TAG|@DIGEST]
          (IMAGE: oci:DIR[:NAME], docker-archive:FILE[:TAG], docker://HOST[:PORT]/REPO[:TAG|@DIGEST], or a path)
          --version
        """

    /// Runs a command line with its output going to `output` (tests pass their own).
    static func run(
        _ arguments: [String], layout: Layout, environment: [String: String] = ProcessEnvironment.current(), output: Output
    ) -> Int32 {
        var global: GoFlags
        do {
            global = try GoFlags(
                arguments, values: ["root", "log", "log-format", "rootless"],
                flags: ["debug", "systemd-cgroup", "version", "v", "help", "h"], stopAtPositional: true)
        } catch {
            output.error("container: \(error)\n\(usage)\n")
            return 1
        }
        if global.flag("version") || global.flag("v") {
            output.out("container version \(Corebox.version)\nspec: \(OCIVersion.runtime)\nlibseccomp: \(SeccompProgram.libseccompVersion)\n")
            return 0
        }
        if global.flag("help") || global.flag("h") || global.positionals.isEmpty {
            output.out(usage + "\n")
            return global.positionals.isEmpty && !global.flag("help") && !global.flag("h") ? 1 : 0
        }
        let format = global.value("log-format") ?? "text"
        guard format == "text" || format == "json" else {
            output.error("container: --log-format: want text or json, got \"\(format)\"\n")
            return 1
        }
        // Where main.swift's LoggingSystem bootstrap sends messages: the journal under systemd.
        let toJournal = (try? LogSettings(environment: environment))?.sink == .journal
        let log = ContainerLog(file: global.value("log"), json: format == "json", debug: global.flag("debug"), output: output, toJournal: toJournal)
        let command = global.positionals.removeFirst()
        let commands = ContainerCommands(
            root: global.value("root") ?? layout.containerRuntime, systemdCgroup: global.flag("systemd-cgroup"), log: log, output: output,
            environment: environment, layout: layout)
        do {
            return try commands.run(command, Array(global.positionals))
        } catch {
            log.error(error.description)
            return error.status
        }
    }
}

/// Where the applet's output goes: the console, or a test's buffers.
struct Output: Sendable {
    let out: @Sendable (String) -> Void
    let error: @Sendable (String) -> Void

    static let console = Output(out: Console.out, error: Console.error)
}

/// Errors go to stderr as `container: MESSAGE`; with `--log` every message
/// also goes to the file, as runc's logrus writes it (text or one JSON object a line).
/// Under systemd, where stderr is the journal, they go there instead as
/// structured entries (SYSLOG_IDENTIFIER=container, CONTAINER_ID, PRIORITY).
final class ContainerLog {
    let file: String?
    let json: Bool
    let debug: Bool
    let output: Output
    /// The journal's logger (CoreboxLogHandler), or nil for lines on `output`.
    let journal: Logger?
    /// The container the command is about, once its id is known: a field of journal entries.
    var containerID: String?

    init(file: String?, json: Bool, debug: Bool, output: Output, toJournal: Bool) {
        self.file = file
        self.json = json
        self.debug = debug
        self.output = output
        journal = toJournal ? Self.journalLogger(debug: debug) : nil
    }

    static func journalLogger(debug: Bool) -> Logger {
        var logger = Logger(label: "container")
        if debug { logger.logLevel = .debug }
        return logger
    }

    // The caller's place goes into the journal entry (CODE_FILE, CODE_LINE, CODE_FUNC).

    func error(_ message: String, file: String = #fileID, function: String = #function, line: UInt = #line) {
        if !send(.error, message, file, function, line) { output.error("container: \(message)\n") }
        write("error", message)
    }

    func warning(_ message: String, file: String = #fileID, function: String = #function, line: UInt = #line) {
        if !send(.warning, message, file, function, line) { output.error("container: warning: \(message)\n") }
        write("warning", message)
    }

    /// Also passed as a plain `(String) -> Void` (image pulls): no caller's place.
    func debug(_ message: String) {
        guard debug else { return }
        if !send(.debug, message, #fileID, #function, #line) && file == nil { output.error("container: debug: \(message)\n") }
        write("debug", message)
    }

    /// Logs to the journal when there is one; false when there is not.
    private func send(_ level: Logger.Level, _ message: String, _ file: String, _ function: String, _ line: UInt) -> Bool {
        guard let journal else { return false }
        journal.log(
            level: level, "\(message)", metadata: containerID.map { ["containerID": "\($0)"] },
            file: file, function: function, line: line)
        return true
    }

    private func write(_ level: String, _ message: String) {
        guard let file else { return }
        let time = Clock.now().text
        let line = json
            ? "{\"level\":\(JSONString.quoted(level)),\"msg\":\(JSONString.quoted(message)),\"time\":\(JSONString.quoted(time))}\n"
            : "time=\(GoSyntax.quote(time)) level=\(level) msg=\(GoSyntax.quote(message))\n"
        let fd = Glibc.open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            output.error("container: --log: \(SystemError(errno: errno, operation: "open", path: file))\n")
            return
        }
        defer { Syscall.close(fd) }
        try? Syscall.writeAll(fd, Array(line.utf8), path: file)
    }
}

enum Clock {
    static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(seconds: Int64(time.tv_sec), nanoseconds: Int32(time.tv_nsec))
    }
}
