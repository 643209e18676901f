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

    /// The devices runc's cgroup allows besides the config's rules:
    /// mknod of anything, the default nodes, ptys and tun.
    static let defaultDeviceRules: [(type: String, major: Int64, minor: Int64, access: String)] = [
        ("c", -1, -1, "m"), ("b", -1, -1, "m"),
        ("c", 1, 3, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 7, "rwm"), ("c", 5, 0, "rwm"),
        ("c", 1, 5, "rwm"), ("c", 1, 9, "rwm"), ("c", 136, -1, "rwm"), ("c", 5, 2, "rwm"), ("c", 10, 200, "rwm"),
    ]

    /// The config's resources with the allow rules for the default devices
    /// and the config's own devices appended (runc's order).
    static func resources(_ config: ContainerConfig) -> Resources {
        var resources = config.linux?.resources ?? Resources()
        guard !resources.devices.isEmpty else { return resources }
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

    /// Returns the init's pid.
    func run(now: Timestamp, log: ContainerLog) throws(CommandError) -> Int32 {
        let bundle = Self.absolute(bundle)
        let configPath = bundle + "/config.json"
        let configBytes: [UInt8]
        do { configBytes = try Files.read(configPath) } catch { throw CommandError("read the bundle's config: \(error)") }
        let config: ContainerConfig
        do { config = try ContainerConfig.decode(configBytes, file: configPath) } catch { throw CommandError("\(error)") }
        try ContainerHooks.refuseUnsupported(config.hooks, file: configPath)
        if config.process?.terminal == true {
            throw CommandError("\(configPath): process.terminal: a terminal needs --console-socket, which is not supported yet")
        }
        let child: ChildConfiguration
        do { child = try ChildConfiguration(config: config, bundle: bundle) } catch { throw CommandError("\(configPath): \(error)") }
        let seccomp: SeccompProgram?
        do { seccomp = try config.linux?.seccomp.map { try SeccompProgram($0, file: configPath) } } catch {
            throw CommandError("\(error)")
        }
        let layout: CgroupLayout?
        do { layout = try Cgroups.detectLayout() } catch { throw CommandError("cgroups: \(error)") }
        if let layout, !RuntimeRecord.canRecord(layout) { throw CommandError("cgroups: a cgroup path holds a tab or a newline") }
        let plan: CgroupPlan?
        do {
            plan = try layout.map { layout throws(CgroupPlanError) in
                try CgroupPlanner.plan(resources: Self.resources(config), cgroupsPath: config.linux?.cgroupsPath ?? "", id: directory.id, layout: layout)
            }
        } catch {
            throw CommandError("\(configPath): linux.resources: \(error)")
        }
        for warning in plan?.warnings ?? [] { log.warning(warning) }

        let lock = try directory.create()
        var pid: Int32 = 0
        do throws(CommandError) {
            try spawn(config: config, configBytes: configBytes, bundle: bundle, child: child, seccomp: seccomp,
                      layout: layout, plan: plan, now: now, log: log, pid: &pid)
            withExtendedLifetime(lock) {}
            return pid
        } catch {
            if pid > 0 {
                _ = kill(pid, SIGKILL)
                while waitpid(pid, nil, 0) < 0 && errno == EINTR {}
            }
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
        layout: CgroupLayout?, plan: CgroupPlan?, now: Timestamp, log: ContainerLog, pid: inout Int32
    ) throws(CommandError) {
        // Saved before the child exists, so a delete after a crash finds the cgroups.
        do {
            try Files.writeAtomically(directory.configPath, configBytes, mode: 0o600)
            try directory.saveRuntime(RuntimeRecord(startTime: 0, layout: layout))
        } catch {
            throw CommandError("write the state: \(error)")
        }
        if mkfifo(directory.fifoPath, 0o622) != 0 {
            throw CommandError("create the exec FIFO: \(SystemError(errno: errno, operation: "mkfifo", path: directory.fifoPath))")
        }
        let fifo = Glibc.open(directory.fifoPath, openPathFlag | O_CLOEXEC)
        guard fifo >= 0 else {
            throw CommandError("open the exec FIFO: \(SystemError(errno: errno, operation: "open", path: directory.fifoPath))")
        }
        defer { Syscall.close(fifo) }

        var syncFD: Int32 = -1
        let spawned = child.withContainer { container in
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
            if let plan { try Cgroups.apply(plan, pid: spawned) }
        } catch {
            throw CommandError("cgroups: \(error)")
        }
        do {
            try child.writeOOMScoreAdj(pid: spawned)
            try child.writeIDMaps(pid: spawned, syncFD: syncFD)
        } catch {
            throw CommandError("set up the init: \(error)")
        }
        var message = corebox_child_message()
        let count = withUnsafeMutableBytes(of: &message) { buffer in
            var count: Int
            repeat { count = read(syncFD, buffer.baseAddress, buffer.count) } while count < 0 && errno == EINTR
            return count
        }
        guard count == MemoryLayout<corebox_child_message>.size else {
            throw CommandError("the container's init exited before it was ready")
        }
        if message.kind != COREBOX_CHILD_READY.rawValue {
            let step = withUnsafeBytes(of: message.step) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw CommandError("\(step): \(String(cString: strerror(message.error)))")
        }
        guard let startTime = Liveness.startTime(pid: spawned) else { throw CommandError("the container's init exited before it was ready") }

        let state = ContainerState(
            id: directory.id, pid: Int(spawned), status: .created, bundle: bundle,
            rootfs: child.withContainer { String(cString: $0.rootfs) }, created: now, annotations: config.annotations)
        do {
            try directory.saveRuntime(RuntimeRecord(startTime: startTime, layout: layout))
            try directory.saveState(state)
            if let pidFile { try Files.writeAtomically(Self.absolute(pidFile), Array(String(spawned).utf8)) }
        } catch {
            throw CommandError("write the state: \(error)")
        }
        var creating = state
        creating.status = .creating
        try ContainerHooks.run(config.hooks?.prestart ?? [], name: "prestart", state: creating)
        try ContainerHooks.run(config.hooks?.createRuntime ?? [], name: "createRuntime", state: creating)
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
