import CContainer
import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

/// `create`: from a bundle to an init blocked on the exec FIFO, with its
/// state directory written. Any failure takes back all it did: the child
/// killed and reaped, its cgroups and the state directory removed.
struct ContainerCreation {
    var directory: ContainerDirectory
    var bundle: String
    var pidFile: String?
    var noPivot = false
    var preserveFDs = 0
    /// `--console-socket`; without one a foreground `run` (not `detach`)
    /// receives a terminal's master itself, to relay it.
    var consoleSocket: String?
    var detach = true
    /// `--systemd-cgroup`: the cgroup is a transient scope of systemd's.
    var systemdCgroup = false

    /// The devices runc's cgroup allows besides the config's rules:
    /// mknod of anything, the default nodes, ptys and tun.
    static let defaultDeviceRules: [(type: String, major: Int64, minor: Int64, access: String)] = [
        ("c", -1, -1, "m"), ("b", -1, -1, "m"),
        ("c", 1, 3, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 7, "rwm"), ("c", 5, 0, "rwm"),
        ("c", 1, 5, "rwm"), ("c", 1, 9, "rwm"), ("c", 136, -1, "rwm"), ("c", 5, 2, "rwm"), ("c", 10, 200, "rwm"),
    ]

    /// The config's resources with the device rules runc ends up with: all
    /// denied first (runc's device emulator starts from deny-all, whatever
    /// the config's rules say), then the config's rules, then the allow
    /// rules for the default devices and the config's own devices.
    static func resources(_ config: ContainerConfig) -> Resources {
        var resources = config.linux?.resources ?? Resources()
        var denyAll = DeviceRule()
        denyAll.access = "rwm"
        resources.devices.insert(denyAll, at: 0)
        func rule(_ type: String, _ major: Int64, _ minor: Int64, _ access: String) -> DeviceRule {
            var rule = DeviceRule()
            (rule.allow, rule.type, rule.major, rule.minor, rule.access) = (true, type, major, minor, access)
            return rule
        }
        resources.devices += defaultDeviceRules.map { rule($0.type, $0.major, $0.minor, $0.access) }
        // The devices cgroup governs only character and block devices.
        for device in config.linux?.devices ?? [] where device.type != .fifo {
            resources.devices.append(rule(device.type == .block ? "b" : "c", device.major, device.minor, "rwm"))
        }
        return resources
    }

    /// The init, and the master of its terminal when this process relays it.
    struct Created {
        var pid: Int32
        var master: Int32?
    }

    func run(now: Timestamp, log: ContainerLog) throws(CommandError) -> Created {
        let bundle = Self.absolute(bundle)
        let configPath = bundle + "/config.json"
        let configBytes: [UInt8]
        do { configBytes = try Files.read(configPath) } catch { throw CommandError("read the bundle's config: \(error)") }
        let config: ContainerConfig
        do { config = try ContainerConfig.decode(configBytes, file: configPath) } catch { throw CommandError("\(error)") }
        let terminal = config.process?.terminal == true
        if terminal && detach && consoleSocket == nil {
            throw CommandError("\(configPath): process.terminal: a detached container's terminal needs --console-socket")
        }
        if consoleSocket != nil && (!terminal || !detach) {
            throw CommandError("--console-socket needs process.terminal and a detached container")
        }
        let seccomp: SeccompProgram?
        do { seccomp = try config.linux?.seccomp.map { try SeccompProgram($0, file: configPath) } } catch {
            throw CommandError("\(error)")
        }
        let layout: CgroupLayout?
        do {
            layout = try Cgroups.detectLayoutEnteringDelegatedLeaf()
        } catch {
            throw CommandError("cgroups: \(error)")
        }
        if let layout, !RuntimeRecord.canRecord(layout) { throw CommandError("cgroups: a cgroup path holds a tab or a newline") }
        if config.linux?.cgroupsPath.contains("\n") == true { throw CommandError("\(configPath): linux.cgroupsPath: holds a newline") }
        let scope: SystemdCgroup?
        do { scope = systemdCgroup ? try SystemdCgroup(cgroupsPath: config.linux?.cgroupsPath ?? "", id: directory.id) : nil } catch {
            throw CommandError("\(configPath): linux.cgroupsPath: \(error)")
        }
        let resources = Self.resources(config)
        let plan: CgroupPlan?
        do {
            plan = try layout.map { layout throws(CgroupPlanError) in
                try CgroupPlanner.plan(
                    resources: resources, cgroupsPath: scope?.path ?? config.linux?.cgroupsPath ?? "", id: directory.id, layout: layout)
            }
        } catch {
            throw CommandError("\(configPath): linux.resources: \(error)")
        }
        for warning in plan?.warnings ?? [] { log.warning(warning) }
        var limits: [(name: String, value: SystemdProperty)] = []
        if scope != nil {
            do { limits = try SystemdCgroup.properties(resources, unified: layout?.isUnified ?? false) } catch {
                throw CommandError("\(configPath): linux.resources: \(error)")
            }
        }
        var concrete = config
        if let plan, let layout { concrete.mounts = CgroupMounts.expand(config.mounts, plan: plan, layout: layout) }
        let child: ChildConfiguration
        do { child = try ChildConfiguration(config: concrete, bundle: bundle) } catch { throw CommandError("\(configPath): \(error)") }

        let console = try terminal ? ConsoleConnection(socketPath: consoleSocket) : nil
        let lock = try directory.create()
        var pid: Int32 = 0
        do throws(CommandError) {
            try spawn(config: config, configBytes: configBytes, bundle: bundle, child: child, seccomp: seccomp,
                      layout: layout, plan: plan, scope: scope, limits: limits, console: console, now: now, log: log, pid: &pid)
            withExtendedLifetime(lock) {}
            return Created(pid: pid, master: try console?.receiveMaster())
        } catch {
            if pid > 0 {
                _ = kill(pid, SIGKILL)
                while waitpid(pid, nil, 0) < 0 && errno == EINTR {}
            }
            if let scope { SystemdScopes.stop(scope.unit, log: log) }
            if let plan {
                do { try Cgroups.remove(plan) } catch let removal { log.warning("remove the cgroups: \(removal)") }
            }
            directory.removeAll()
            throw error
        }
    }

    /// The part after the state directory exists; sets `pid` as soon as
    /// there is a child, for the caller to clean up after an error.
    private func spawn(
        config: ContainerConfig, configBytes: [UInt8], bundle: String, child: ChildConfiguration, seccomp: SeccompProgram?,
        layout: CgroupLayout?, plan: CgroupPlan?, scope: SystemdCgroup?, limits: [(name: String, value: SystemdProperty)],
        console: ConsoleConnection?, now: Timestamp, log: ContainerLog,
        pid: inout Int32
    ) throws(CommandError) {
        // Saved before the child exists, so a delete after a crash finds the cgroups.
        do {
            try Files.writeAtomically(directory.configPath, configBytes, mode: 0o600)
            try directory.saveRuntime(RuntimeRecord(startTime: 0, layout: layout, config: config, scope: scope))
        } catch {
            throw CommandError("write the state: \(error)")
        }
        // Writable by all whatever the umask: the init opens it as the
        // container's root, an unprivileged uid in a user namespace.
        if mkfifo(directory.fifoPath, 0o622) != 0 || chmod(directory.fifoPath, 0o622) != 0 {
            throw CommandError("create the exec FIFO: \(SystemError(errno: errno, operation: "mkfifo", path: directory.fifoPath))")
        }
        let fifo = Glibc.open(directory.fifoPath, openPathFlag | O_CLOEXEC)
        guard fifo >= 0 else {
            throw CommandError("open the exec FIFO: \(SystemError(errno: errno, operation: "open", path: directory.fifoPath))")
        }
        defer { Syscall.close(fifo) }

        // The cgroups exist before the child runs: a `cgroup` mount binds
        // them. The child joins them first thing, before it forks (a pid
        // namespace join).
        do {
            if let plan {
                try Cgroups.apply(plan)
                try child.joinCgroups(plan.directories.map(\.path))
            }
        } catch {
            throw CommandError("cgroups: \(error)")
        }
        var state = ContainerState(
            id: directory.id, pid: 0, status: .creating, bundle: bundle,
            rootfs: child.withContainer { String(cString: $0.rootfs) }, created: now, annotations: config.annotations)
        if child.syncsForHooks { child.reserveHookStates(capacity: ContainerHooks.childStatesCapacity(state)) }
        var syncFD: Int32 = -1
        let spawned = child.withContainer { container in
            if let console { container.console_socket_fd = console.childEnd }
            container.exec_fifo_fd = fifo
            container.no_pivot = noPivot ? 1 : 0
            container.preserved_fds = Int32(preserveFDs)
            if let seccomp {
                container.seccomp_filter = UnsafeRawPointer(seccomp.fprog)
                container.seccomp_flags = seccomp.flags
            }
            return corebox_container_spawn(&container, &syncFD)
        }
        guard spawned > 0 else { throw CommandError("start the container's init: \(String(cString: strerror(errno)))") }
        pid = spawned
        defer { Syscall.close(syncFD) }
        log.debug("spawned the init, pid \(spawned)")

        do {
            try child.writeIDMaps(pid: spawned, syncFD: syncFD)
        } catch {
            throw CommandError("set up the init: \(error)")
        }
        // Until READY; the child may stop for the hooks on the way. With a
        // pid namespace joined, `pid` becomes the process that goes on.
        readiness: while true {
            guard let message = ChildSync.next(syncFD: syncFD, pid: &pid) else {
                throw CommandError("the container's init exited before it was ready")
            }
            switch message.kind {
            case Int32(COREBOX_CHILD_READY.rawValue): break readiness
            case Int32(COREBOX_CHILD_HOOKS.rawValue):
                state.pid = Int(pid)
                // prestart's state says "created", as runtime-spec 1.0.2 has
                // prestart run after `start` (its conformance suite checks it; crun
                // agrees, runc says "creating").
                var prestartState = state
                prestartState.status = .created
                try ContainerHooks.run(config.hooks?.prestart ?? [], name: "prestart", state: prestartState)
                try ContainerHooks.run(config.hooks?.createRuntime ?? [], name: "createRuntime", state: state)
                do { try Syscall.writeAll(syncFD, ContainerHooks.childStates(state), path: "the sync socket") } catch {
                    throw CommandError("send the hooks' state: \(error)")
                }
            default: throw ChildSync.failure(message)
            }
        }
        do { try child.writeOOMScoreAdj(pid: pid) } catch { throw CommandError("set up the init: \(error)") }
        guard let startTime = Liveness.startTime(pid: pid) else { throw CommandError("the container's init exited before it was ready") }
        if let scope {
            try SystemdScopes.start(scope, pid: pid, id: directory.id, limits: limits)
            // systemd writes its own values (rounded CPU quota) on the scope's
            // cgroup when it adopts it: the config's exact ones go in again.
            do { for write in plan?.writes ?? [] { try Cgroups.perform(write) } } catch { throw CommandError("cgroups: \(error)") }
        }

        state.pid = Int(pid)
        state.status = .created
        do {
            try directory.saveRuntime(RuntimeRecord(startTime: startTime, layout: layout, config: config, scope: scope))
            try directory.saveState(state)
            if let pidFile { try Files.writeAtomically(Self.absolute(pidFile), Array(String(pid).utf8)) }
        } catch {
            throw CommandError("write the state: \(error)")
        }
    }

    /// `path` made absolute against the working directory.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        let directory = String(cString: cwd)
        return path == "." || path.isEmpty ? directory : directory + "/" + path
    }
}
