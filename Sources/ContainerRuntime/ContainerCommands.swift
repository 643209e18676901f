import CContainer
import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

/// The lifecycle commands, on the state directories under `root`.
struct ContainerCommands {
    let root: String
    let systemdCgroup: Bool
    let log: ContainerLog
    let output: Output
    /// The process environment, read once at start (`-e NAME`, registry credentials).
    let environment: [String: String]
    /// Where images are stored and image containers' bundles unpacked.
    var layout = Layout()

    func run(_ command: String, _ arguments: [String]) throws(CommandError) -> Int32 {
        switch command {
        case "create": return try create(arguments)
        case "start": return try start(arguments)
        case "run": return try Self.isImageRun(arguments) ? runImage(arguments) : runCommand(arguments)
        case "unpack": return try unpack(arguments)
        case "pull": return try pull(arguments)
        case "state": return try state(arguments)
        case "kill": return try kill(arguments)
        case "delete": return try delete(arguments)
        case "list": return try list(arguments)
        case "features": return try features(arguments)
        case "spec": return try spec(arguments)
        case "exec":
            do { return try ContainerExec(root: root, output: output).run(arguments) } catch {
                var failed = error
                failed.status = 255 // runc's status for a failed exec
                throw failed
            }
        case "ps": return try ps(arguments)
        case "pause": return try pause(arguments)
        case "resume": return try resume(arguments)
        case "update": return try update(arguments)
        default: throw CommandError("unknown command \"\(command)\"; see container --help")
        }
    }

    func parse(
        _ command: String, _ arguments: [String], values: Set<String> = [], flags: Set<String> = [],
        aliases: [String: String] = [:], positionals: ClosedRange<Int>
    ) throws(CommandError) -> GoFlags {
        let parsed: GoFlags
        do { parsed = try GoFlags(arguments, values: values, flags: flags, aliases: aliases) } catch {
            throw CommandError("\(command): \(error)")
        }
        guard positionals.contains(parsed.positionals.count) else {
            let what = positionals.lowerBound == 1 ? "a container id" : "\(positionals.lowerBound) arguments"
            throw CommandError("\(command): expects \(what)\(positionals.count > 1 ? " (at most \(positionals.upperBound) arguments)" : ""), got \(parsed.positionals.count)")
        }
        return parsed
    }

    func directory(_ id: String) throws(CommandError) -> ContainerDirectory {
        log.containerID = id
        return try ContainerDirectory(root: root, id: id)
    }

    // MARK: create, start, run

    private static let createValues: Set<String> = ["bundle", "pid-file", "console-socket", "preserve-fds"]
    private static let createFlags: Set<String> = ["no-pivot", "no-new-keyring"]
    /// runc's `run ID`: create's flags and `--detach`.
    static let runValues = createValues
    static let runFlags = createFlags.union(["detach"])
    static let runAliases = ["b": "bundle", "d": "detach"]

    private func creation(_ parsed: GoFlags, command: String) throws(CommandError) -> ContainerCreation {
        var preserveFDs = 0
        if let text = parsed.value("preserve-fds") {
            guard let count = Int(text), count >= 0, count < 1 << 20 else { throw CommandError("\(command): --preserve-fds: not a count: \(text)") }
            preserveFDs = count
        }
        return ContainerCreation(
            directory: try directory(parsed.positionals[0]), bundle: parsed.value("bundle") ?? ".", pidFile: parsed.value("pid-file"),
            noPivot: parsed.flag("no-pivot"), preserveFDs: preserveFDs, consoleSocket: parsed.value("console-socket"),
            detach: command == "create" || parsed.flag("detach"), systemdCgroup: systemdCgroup)
    }

    private func create(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try parse("create", arguments, values: Self.createValues, flags: Self.createFlags, aliases: ["b": "bundle"], positionals: 1...1)
        _ = try creation(parsed, command: "create").run(now: Clock.now(), log: log)
        return 0
    }

    private func start(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try parse("start", arguments, positionals: 1...1)
        try start(try directory(parsed.positionals[0]))
        return 0
    }

    /// Opens the exec FIFO for reading, which lets the init's open for
    /// writing return; its message says it is about to exec (or which
    /// startContainer hook failed).
    private func start(_ directory: ContainerDirectory) throws(CommandError) {
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        guard let loaded = try directory.load() else { throw CommandError("container \(directory.id) is still being created") }
        switch loaded.state.status {
        case .created: break
        case .stopped: throw CommandError("cannot start a container that has stopped")
        case .running, .creating: throw CommandError("cannot start an already running container")
        case .paused: throw CommandError("cannot start a container in the paused state")
        }
        let fd: Int32
        do { fd = try Syscall.open(directory.fifoPath, O_RDONLY | O_NONBLOCK) } catch { throw CommandError("start: \(error)") }
        defer { Syscall.close(fd) }
        // Until a writer has opened the FIFO poll reports nothing (not even
        // a hangup); the init opens it at once unless it died.
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&entry, 1, 100) == 0 || (entry.revents == 0) {
            guard Liveness.isAlive(pid: loaded.pid, startTime: loaded.record?.startTime ?? 0) else {
                throw CommandError("start: the container's init exited before it was started")
            }
        }
        // The init's answer once its startContainer hooks have run.
        guard let answer = ChildSync.read(from: fd) else { throw CommandError("start: the container's init exited before it was started") }
        if answer.kind != COREBOX_CHILD_READY.rawValue { throw CommandError("start: \(ChildSync.failure(answer))") }
        _ = unlink(directory.fifoPath)
        var state = loaded.state
        state.status = .running
        ContainerHooks.runAll(directory.savedConfig(ifItHas: "poststart", loaded.record)?.hooks?.poststart ?? [],
                              name: "poststart", state: state) { log.warning($0) }
    }

    private func runCommand(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try parse("run", arguments, values: Self.runValues, flags: Self.runFlags, aliases: Self.runAliases, positionals: 1...1)
        let creation = try creation(parsed, command: "run")
        let created = try creation.run(now: Clock.now(), log: log)
        defer { created.master.map(Syscall.close) }
        do {
            try start(creation.directory)
        } catch {
            try? delete(creation.directory, force: true)
            throw error
        }
        if parsed.flag("detach") { return 0 }
        let status = try ForegroundProcess(pid: created.pid, master: created.master).wait(output: output)
        try delete(creation.directory, force: true)
        return status
    }

    // MARK: state, list

    private func state(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try parse("state", arguments, positionals: 1...1)
        let directory = try directory(parsed.positionals[0])
        guard directory.exists else { throw CommandError("container does not exist: \(directory.id)") }
        let state = try directory.load()?.state
            ?? ContainerState(id: directory.id, pid: 0, status: .creating, bundle: "", rootfs: "", created: Timestamp())
        // runc prints it without a final newline.
        output.out(state.runcJSON)
        return 0
    }

    private func list(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try parse("list", arguments, values: ["format"], flags: ["quiet"], aliases: ["f": "format", "q": "quiet"], positionals: 0...0)
        let format = parsed.value("format") ?? "table"
        guard format == "table" || format == "json" else { throw CommandError("list: invalid format option \"\(format)\"") }
        var states: [ContainerState] = []
        for name in ((try? Syscall.listDirectory(root)) ?? []).sorted() {
            guard let directory = try? directory(name), var state = try? directory.load()?.state,
                  let status = try? Syscall.fileStatus(directory.path) else { continue }
            state.owner = Self.userName(status.st_uid)
            states.append(state)
        }
        if parsed.flag("quiet") {
            output.out(states.map { $0.id + "\n" }.joined())
        } else if format == "json" {
            output.out((states.isEmpty ? "null" : "[" + states.map(\.compactJSON).joined(separator: ",") + "]") + "\n")
        } else {
            let rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
                + states.map { [$0.id, String($0.pid), $0.status.rawValue, $0.bundle, $0.created.text, $0.owner] }
            output.out(Self.table(rows))
        }
        return 0
    }

    /// Go's tabwriter as runc sets it up (minimum width 12, padding 3,
    /// spaces): every column but the last padded to its widest cell.
    static func table(_ rows: [[String]]) -> String {
        var widths: [Int] = []
        for row in rows {
            for (index, cell) in row.dropLast().enumerated() {
                if widths.count <= index { widths.append(12) }
                widths[index] = max(widths[index], cell.count + 3)
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined() + "\n"
        }.joined()
    }

    /// The name of `uid` in the password database, `#UID` without one (as runc).
    static func userName(_ uid: uid_t) -> String {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return "#\(uid)" }
        return String(cString: name)
    }

    // MARK: kill, delete

    private func kill(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try parse("kill", arguments, flags: ["all"], aliases: ["a": "all"], positionals: 1...2)
        let signal = try Signals.number(parsed.positionals.count > 1 ? parsed.positionals[1] : "SIGTERM")
        let directory = try directory(parsed.positionals[0])
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        guard let loaded = try directory.load(), loaded.state.status != .stopped else { throw CommandError("container not running") }
        if parsed.flag("all"), let plan = try directory.cgroupPlan(loaded.record) {
            var pids = Set<Int32>()
            for cgroup in plan.directories { pids.formUnion((try? Cgroups.processes(in: cgroup)) ?? []) }
            for pid in pids { _ = Glibc.kill(pid, signal) }
            return 0
        }
        if Glibc.kill(Int32(loaded.state.pid), signal) != 0 {
            throw CommandError("kill: \(SystemError(errno: errno, operation: "kill"))")
        }
        return 0
    }

    private func delete(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try parse("delete", arguments, flags: ["force"], aliases: ["f": "force"], positionals: 1...1)
        let directory = try directory(parsed.positionals[0])
        if !directory.exists && parsed.flag("force") { return 0 }
        try delete(directory, force: parsed.flag("force"))
        return 0
    }

    /// Kills the init if it is created (or, with `force`, running), waits
    /// for it, removes its cgroups, then the state directory. A directory
    /// left by a crash in create goes too.
    private func delete(_ directory: ContainerDirectory, force: Bool) throws(CommandError) {
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        let loaded = try directory.load()
        if let loaded {
            let status = loaded.state.status
            if (status == .running || status == .paused) && !force {
                throw CommandError("cannot delete container \(directory.id) that is not stopped: \(status.rawValue)")
            }
            if let startTime = loaded.record?.startTime {
                if status != .stopped { _ = Glibc.kill(loaded.pid, SIGKILL) }
                // A frozen process dies only once thawed.
                if status == .paused, let plan = try directory.cgroupPlan(loaded.record) { try? Cgroups.thaw(plan) }
                // Also reaps a stopped init that is this process's child (in-process callers).
                if !Liveness.waitGone(pid: loaded.pid, startTime: startTime) {
                    throw CommandError("delete: the container's init (pid \(loaded.pid)) did not die after SIGKILL")
                }
            }
        }
        let record = loaded?.record ?? directory.runtimeRecord()
        if let unit = record?.systemdUnit { SystemdScopes.stop(unit, log: log) }
        if let plan = try directory.cgroupPlan(record) {
            do { try Cgroups.remove(plan) } catch { throw CommandError("delete: remove the cgroups: \(error)") }
        }
        let poststop = directory.savedConfig(ifItHas: "poststop", record)?.hooks?.poststop ?? []
        directory.removeAll()
        if var state = loaded?.state {
            state.status = .stopped
            ContainerHooks.runAll(poststop, name: "poststop", state: state) { log.warning($0) }
        }
    }

    // MARK: ps, pause, resume

    /// runc's `ps`: the container's pids as JSON, or `ps`'s own table
    /// (`ps -ef`, or the options given) cut to the header and their lines.
    private func ps(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed: GoFlags
        do { parsed = try GoFlags(arguments, values: ["format"], flags: [], aliases: ["f": "format"], stopAtPositional: true) } catch {
            throw CommandError("ps: \(error)")
        }
        guard let id = parsed.positionals.first else { throw CommandError("ps: expects a container id, got 0") }
        let format = parsed.value("format") ?? "table"
        guard format == "table" || format == "json" else { throw CommandError("ps: invalid format option \"\(format)\"") }
        let directory = try directory(id)
        guard directory.exists else { throw CommandError("container does not exist: \(id)") }
        var pids = Set<Int32>()
        if let plan = try directory.cgroupPlan(directory.runtimeRecord()) {
            for cgroup in plan.directories {
                do { pids.formUnion(try Cgroups.processes(in: cgroup)) } catch where error.errno == ENOENT {} catch {
                    throw CommandError("ps: \(error)")
                }
            }
        }
        if format == "json" {
            output.out("[" + pids.sorted().map(String.init).joined(separator: ",") + "]\n")
            return 0
        }
        let options = parsed.positionals.count > 1 ? Array(parsed.positionals.dropFirst()) : ["-ef"]
        let candidates = ["/usr/bin/ps", "/bin/ps"]
        guard let program = candidates.first(where: { Glibc.access($0, X_OK) == 0 }) else {
            throw CommandError("ps: no ps program")
        }
        let result: Subprocess.Result
        do { result = try Subprocess.run(program, options) } catch { throw CommandError("ps: \(error)") }
        guard result.status == 0 else { throw CommandError("ps: \(program) exited with \(result.status): \(result.output)") }
        output.out(try Self.psTable(result.output, pids: pids))
        return 0
    }

    /// `ps`'s header and the lines whose PID column is one of `pids`.
    static func psTable(_ text: String, pids: Set<Int32>) throws(CommandError) -> String {
        let lines = text.split(separator: "\n")
        guard let header = lines.first, let column = header.split(separator: " ").firstIndex(of: "PID") else {
            throw CommandError("ps: couldn't find PID field in ps output")
        }
        var kept = [header]
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ")
            guard column < fields.count, let pid = Int32(fields[column]) else { throw CommandError("ps: unable to parse pid: \(line)") }
            if pids.contains(pid) { kept.append(line) }
        }
        return kept.map { $0 + "\n" }.joined()
    }

    private func pause(_ arguments: [String]) throws(CommandError) -> Int32 {
        try freezer(arguments, command: "pause")
    }

    private func resume(_ arguments: [String]) throws(CommandError) -> Int32 {
        try freezer(arguments, command: "resume")
    }

    /// `pause` freezes a created or running container, `resume` thaws a paused one.
    private func freezer(_ arguments: [String], command: String) throws(CommandError) -> Int32 {
        let parsed = try parse(command, arguments, positionals: 1...1)
        let directory = try directory(parsed.positionals[0])
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        guard let loaded = try directory.load() else { throw CommandError("container not running") }
        let status = loaded.state.status
        if command == "pause" && status != .running && status != .created { throw CommandError("container not running") }
        if command == "resume" && status != .paused { throw CommandError("container not paused") }
        guard let plan = try directory.cgroupPlan(loaded.record) else { throw CommandError("\(command): the container has no cgroups") }
        do {
            if command == "pause" { try Cgroups.freeze(plan) } else { try Cgroups.thaw(plan) }
        } catch {
            throw CommandError("\(command): \(error)")
        }
        return 0
    }

    // MARK: features, spec

    private func features(_ arguments: [String]) throws(CommandError) -> Int32 {
        _ = try parse("features", arguments, positionals: 0...0)
        output.out(RuntimeFeatures.corebox(version: Corebox.version, libseccompVersion: SeccompProgram.libseccompVersion).text)
        return 0
    }

    private func spec(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try parse("spec", arguments, values: ["bundle"], flags: ["rootless"], aliases: ["b": "bundle"], positionals: 0...0)
        let path = (parsed.value("bundle").map { $0 + "/" } ?? "") + "config.json"
        let unified = (try? Cgroups.detectLayout())??.isUnified ?? false
        let config = ContainerConfig.runcDefault(rootless: parsed.flag("rootless") ? (geteuid(), getegid()) : nil, cgroupNamespace: unified)
        let fd: Int32
        do { fd = try Syscall.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o666) } catch where error.errno == EEXIST {
            throw CommandError("spec: File \(path) exists. Remove it first")
        } catch {
            throw CommandError("spec: \(error)")
        }
        defer { Syscall.close(fd) }
        do { try Syscall.writeAll(fd, Array(config.json().utf8), path: path) } catch { throw CommandError("spec: \(error)") }
        return 0
    }
}

/// Signal names (with or without SIG) and numbers, as `kill` takes them.
enum Signals {
    static let names: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT, "IOT": SIGIOT,
        "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2, "PIPE": SIGPIPE,
        "ALRM": SIGALRM, "TERM": SIGTERM, "STKFLT": SIGSTKFLT, "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP,
        "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ,
        "VTALRM": SIGVTALRM, "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO, "POLL": SIGPOLL, "PWR": SIGPWR, "SYS": SIGSYS,
    ]

    static func number(_ text: String) throws(CommandError) -> Int32 {
        if let number = Int32(text) {
            guard number > 0 && number <= 64 else { throw CommandError("kill: invalid signal \"\(text)\"") }
            return number
        }
        let upper = text.uppercased()
        let name = upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper
        if let number = names[name] { return number }
        if name.hasPrefix("RTMIN") || name.hasPrefix("RTMAX") {
            let offset = name.dropFirst(5)
            let base = name.hasPrefix("RTMIN") ? Int32(34) : Int32(64)
            if offset.isEmpty { return base }
            if let delta = Int32(offset), (base == 34 ? delta > 0 : delta < 0), (34...64).contains(base + delta) { return base + delta }
        }
        throw CommandError("kill: unknown signal \"\(text)\"")
    }
}
