import CContainer
import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

/// `exec`: a new process in the namespaces and cgroups of a container's
/// init, with the config's process settings (or a `--process` file) and
/// the container's seccomp filter.
struct ContainerExec {
    let root: String
    let output: Output

    static let values: Set<String> = [
        "process", "pid-file", "console-socket", "cwd", "env", "user", "additional-gids", "cap", "preserve-fds",
        "process-label", "apparmor", "cgroup",
    ]
    static let flags: Set<String> = ["detach", "tty", "no-new-privs", "ignore-paused"]
    static let aliases = ["p": "process", "d": "detach", "t": "tty", "e": "env", "u": "user", "g": "additional-gids", "c": "cap"]

    func run(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed: GoFlags
        do { parsed = try GoFlags(arguments, values: Self.values, flags: Self.flags, aliases: Self.aliases, stopAtPositional: true) } catch {
            throw CommandError("exec: \(error)")
        }
        guard let id = parsed.positionals.first else { throw CommandError("exec: expects a container id, got 0") }
        for unsupported in ["process-label", "apparmor"] where parsed.value(unsupported) != nil {
            throw CommandError("exec: --\(unsupported) is not supported")
        }
        var preserveFDs: Int32 = 0
        if let text = parsed.value("preserve-fds") {
            guard let count = Int32(text), count >= 0, count < 1 << 20 else { throw CommandError("exec: --preserve-fds: not a count: \(text)") }
            preserveFDs = count
        }
        let subCgroups = try Self.subCgroups(parsed.list("cgroup"))
        let command = Array(parsed.positionals.dropFirst())
        if parsed.value("process") == nil && command.isEmpty { throw CommandError("exec: process args cannot be empty") }
        let detach = parsed.flag("detach")
        let consoleSocket = parsed.value("console-socket")

        let directory = try ContainerDirectory(root: root, id: id)
        let lock = try directory.lock()
        guard let loaded = try directory.load() else { throw CommandError("exec: container \(id) is still being created") }
        switch loaded.state.status {
        case .stopped: throw CommandError("exec: cannot exec in a stopped container")
        case .paused where !parsed.flag("ignore-paused"):
            throw CommandError("exec: cannot exec in a paused container (use --ignore-paused to override)")
        case .creating: throw CommandError("exec: container \(id) is still being created")
        default: break
        }
        guard let config = directory.savedConfig() else { throw CommandError("exec: cannot read \(directory.configPath)") }
        let process = try Self.process(parsed, command: command, config: config.process)
        if detach && process.terminal && consoleSocket == nil {
            throw CommandError("exec: cannot allocate a terminal when detached without --console-socket")
        }
        if (!detach || !process.terminal) && consoleSocket != nil {
            throw CommandError("exec: --console-socket needs --detach and a terminal (--tty or process.terminal)")
        }

        let child: ChildConfiguration
        do { child = try ChildConfiguration(exec: process, namespaces: config.linux?.namespaces ?? [], initPID: loaded.pid) } catch {
            throw CommandError("exec: \(error)")
        }
        if let plan = try directory.cgroupPlan(loaded.record) {
            let controllers = Set(plan.directories.flatMap(\.controllers))
            if let unknown = subCgroups.keys.sorted().first(where: { !$0.isEmpty && !controllers.contains($0) }) {
                throw CommandError("exec: --cgroup: the container has no \(unknown) cgroup")
            }
            let paths = plan.directories.map { Self.cgroup($0, subCgroups: subCgroups) }
            do { try child.joinCgroups(paths) } catch { throw CommandError("exec: cgroups: \(error)") }
        } else if !subCgroups.isEmpty {
            throw CommandError("exec: --cgroup: the container has no cgroups")
        }
        let seccomp: SeccompProgram?
        do { seccomp = try config.linux?.seccomp.map { try SeccompProgram($0, file: directory.configPath) } } catch {
            throw CommandError("exec: \(error)")
        }
        let console = try process.terminal ? ConsoleConnection(socketPath: consoleSocket) : nil

        let (pid, master) = try spawn(child, seccomp: seccomp, console: console, preserveFDs: preserveFDs, pidFile: parsed.value("pid-file"))
        // Held until the process is ready, not while it runs.
        withExtendedLifetime(lock) {}
        if detach { return 0 }
        defer { master.map(Syscall.close) }
        return try ForegroundProcess(pid: pid, master: master).wait(output: output)
    }

    /// Starts the process and waits until it is about to exec; the pid
    /// of the process that execs and, when we relay its terminal, the master.
    private func spawn(
        _ child: ChildConfiguration, seccomp: SeccompProgram?, console: ConsoleConnection?, preserveFDs: Int32, pidFile: String?
    ) throws(CommandError) -> (pid: Int32, master: Int32?) {
        var syncFD: Int32 = -1
        var pid = child.withContainer { container in
            container.preserved_fds = preserveFDs
            if let seccomp {
                container.seccomp_filter = UnsafeRawPointer(seccomp.fprog)
                container.seccomp_flags = seccomp.flags
            }
            if let console { container.console_socket_fd = console.childEnd }
            return corebox_container_spawn(&container, &syncFD)
        }
        guard pid > 0 else { throw CommandError("exec: start the process: \(String(cString: strerror(errno)))") }
        defer { Syscall.close(syncFD) }
        do throws(CommandError) {
            try ChildSync.awaitReady(syncFD: syncFD, pid: &pid)
            let master = try console?.receiveMaster()
            do {
                try child.writeOOMScoreAdj(pid: pid)
                if let pidFile { try Files.writeAtomically(ContainerCreation.absolute(pidFile), Array(String(pid).utf8)) }
            } catch {
                master.map(Syscall.close)
                throw CommandError("exec: \(error)")
            }
            return (pid, master)
        } catch {
            _ = kill(pid, SIGKILL)
            while waitpid(pid, nil, 0) < 0 && errno == EINTR {}
            throw error
        }
    }

    /// `--cgroup`'s arguments, runc's: one PATH for every hierarchy, or
    /// CONTROLLER[,CONTROLLER...]:PATH for some; the sub-cgroup by
    /// controller ("" for all). Sub-cgroups must exist already.
    static func subCgroups(_ arguments: [String]) throws(CommandError) -> [String: String] {
        var paths: [String: String] = [:]
        for argument in arguments {
            guard let colon = argument.firstIndex(of: ":") else {
                guard arguments.count == 1 else { throw CommandError("exec: invalid --cgroup argument: \(argument) (missing <controller>: prefix)") }
                paths[""] = argument
                continue
            }
            let path = String(argument[argument.index(after: colon)...])
            for controller in String(argument[..<colon]).split(byte: UInt8(ascii: ","), omittingEmpty: false) {
                guard !controller.isEmpty else { throw CommandError("exec: invalid --cgroup argument: \(argument) (empty <controller> prefix)") }
                guard paths.updateValue(path, forKey: controller) == nil else {
                    throw CommandError("exec: invalid --cgroup argument(s): controller \(controller) specified multiple times")
                }
            }
        }
        for path in paths.values where path.split(byte: UInt8(ascii: "/")).contains("..") {
            throw CommandError("exec: bad sub cgroup path: \(path)")
        }
        return paths
    }

    /// Where the process goes in one of the container's cgroups: the
    /// sub-cgroup `--cgroup` names for its controllers, else the cgroup itself.
    static func cgroup(_ directory: CgroupDirectory, subCgroups: [String: String]) -> String {
        let sub = subCgroups[""] ?? directory.controllers.lazy.compactMap { subCgroups[$0] }.first ?? ""
        let parts = sub.split(byte: UInt8(ascii: "/")).filter { $0 != "." }
        return parts.isEmpty ? directory.path : directory.path + "/" + parts.joined(by: "/")
    }

    /// The process of the `--process` file, or the config's with the flags
    /// applied as runc applies them.
    static func process(_ parsed: GoFlags, command: [String], config: ContainerProcess?) throws(CommandError) -> ContainerProcess {
        if let path = parsed.value("process") {
            do { return try ContainerProcess.decode(try Files.read(path), file: path) } catch {
                throw CommandError("exec: --process: \(error)")
            }
        }
        guard var process = config else { throw CommandError("exec: the container's config has no process") }
        process.args = command
        if let cwd = parsed.value("cwd") { process.cwd = cwd }
        guard process.cwd.hasPrefix("/") else { throw CommandError("exec: --cwd: must be an absolute path, got \"\(process.cwd)\"") }
        let capabilities = parsed.list("cap")
        if !capabilities.isEmpty {
            var sets = process.capabilities ?? Capabilities()
            sets.bounding += capabilities
            sets.effective += capabilities
            sets.permitted += capabilities
            sets.ambient += capabilities
            process.capabilities = sets
        }
        process.env += parsed.list("env")
        process.terminal = parsed.flag("tty")
        if parsed.flag("no-new-privs") { process.noNewPrivileges = true }
        if let user = parsed.value("user") {
            let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let uid = UInt32(parts[0]) else { throw CommandError("exec: --user: not a numeric uid: \(parts[0])") }
            process.user.uid = uid
            if parts.count > 1 {
                guard let gid = UInt32(parts[1]) else { throw CommandError("exec: --user: not a numeric gid: \(parts[1])") }
                process.user.gid = gid
            }
        }
        for text in parsed.list("additional-gids") {
            guard let gid = UInt32(text) else { throw CommandError("exec: --additional-gids: not a gid: \(text)") }
            process.user.additionalGids.append(gid)
        }
        return process
    }
}

/// Reading the child's reports on the sync socket.
enum ChildSync {
    /// The next message; a child that joined a pid namespace reports the
    /// process that goes on (`pid` becomes it, the reporter is reaped).
    /// nil when the socket closed.
    static func next(syncFD: Int32, pid: inout Int32) -> corebox_child_message? {
        while true {
            guard let message = read(from: syncFD) else { return nil }
            guard message.kind == COREBOX_CHILD_FORKED.rawValue else { return message }
            while waitpid(pid, nil, 0) < 0 && errno == EINTR {}
            pid = message.pid
        }
    }

    /// One message from `fd` (the sync socket, or the exec FIFO at
    /// `start`); nil when the writer ended without one.
    static func read(from fd: Int32) -> corebox_child_message? {
        var message = corebox_child_message()
        let count = withUnsafeMutableBytes(of: &message) { buffer in
            var count: Int
            repeat { count = Glibc.read(fd, buffer.baseAddress, buffer.count) } while count < 0 && errno == EINTR
            return count
        }
        return count == MemoryLayout<corebox_child_message>.size ? message : nil
    }

    /// Waits for READY; throws the failed step, or that the child died.
    static func awaitReady(syncFD: Int32, pid: inout Int32) throws(CommandError) {
        guard let message = next(syncFD: syncFD, pid: &pid) else { throw CommandError("the process exited before it was ready") }
        if message.kind != COREBOX_CHILD_READY.rawValue { throw failure(message) }
    }

    /// A FAILED message as an error: "exec /bin/nope: No such file or directory".
    static func failure(_ message: corebox_child_message) -> CommandError {
        let step = withUnsafeBytes(of: message.step) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return CommandError(message.error == 0 ? step : "\(step): \(String(cString: strerror(message.error)))")
    }
}
