import CContainer
import CoreboxCore
import CoreboxSystem
import Glibc
import OCIImage
import OCISpec

/// A config.json field the C child cannot be given as it is, e.g.
/// `linux.namespaces[2].path: open('/proc/1/ns/nope'): No such file or directory (errno 2)`.
public struct ChildConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field's path in config.json: `mounts[3].options[1]`.
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// A `ContainerConfig` and its bundle turned into the `corebox_container`
/// the C child runs from clone to exec. The object owns every C string,
/// array and namespace descriptor the structure points to, for as long as
/// it lives; use the structure only inside `withContainer`.
///
/// Not done here (the caller sets them in `withContainer`): the exec FIFO,
/// preserved descriptors, `--no-pivot`, seccomp, the console socket, the
/// room for the hooks' states (`reserveHookStates`).
public final class ChildConfiguration {
    private var container = corebox_container()
    private let memory = ChildMemory()
    private let uidMappings: [IDMapping]
    private let gidMappings: [IDMapping]
    private let oomScoreAdj: Int?

    /// - Parameters:
    ///   - bundle: the bundle directory; `root.path` and relative bind
    ///     sources are taken relative to it.
    public init(config: ContainerConfig, bundle: String) throws(ChildConfigurationError) {
        guard let process = config.process else { throw ChildConfigurationError(field: "process", message: "missing: there is nothing to run") }
        let linux = config.linux ?? Linux()
        uidMappings = linux.uidMappings
        gidMappings = linux.gidMappings
        oomScoreAdj = process.oomScoreAdj
        container.exec_fifo_fd = -1

        try setNamespaces(linux)
        if usesUserNamespace {
            for (key, mappings) in [("uidMappings", uidMappings), ("gidMappings", gidMappings)] where mappings.isEmpty {
                throw ChildConfigurationError(field: "linux.\(key)", message: "a user namespace needs at least one mapping")
            }
        }
        try setRoot(config.root, linux: linux, bundle: Self.absolute(bundle))
        try setMounts(config.mounts, bundle: Self.absolute(bundle))
        try setDevices(linux.devices, mounts: config.mounts)
        container.masked_paths = memory.strings(linux.maskedPaths)
        container.masked_count = linux.maskedPaths.count
        container.readonly_paths = memory.strings(linux.readonlyPaths)
        container.readonly_count = linux.readonlyPaths.count
        if !config.hostname.isEmpty { container.hostname = memory.string(config.hostname) }
        if !config.domainname.isEmpty { container.domainname = memory.string(config.domainname) }
        let sysctl = linux.sysctl.sorted { $0.key < $1.key }
        container.sysctl_keys = memory.strings(sysctl.map(\.key))
        container.sysctl_values = memory.strings(sysctl.map(\.value))
        container.sysctl_count = sysctl.count
        try setProcess(process, root: String(cString: container.rootfs))
        setHooks(config.hooks ?? Hooks())
    }

    /// For `exec`: `process` run in the namespaces of the container's init
    /// (those of `namespaces`, entered through /proc/INIT/ns), in no new
    /// root: joining the mount namespace puts it in the container's.
    public init(exec process: ContainerProcess, namespaces: [Namespace], initPID: pid_t) throws(ChildConfigurationError) {
        uidMappings = []
        gidMappings = []
        oomScoreAdj = process.oomScoreAdj
        container.exec_fifo_fd = -1
        var joins: [corebox_namespace_join] = []
        // The user namespace first: the others belong to it.
        for namespace in namespaces.sorted(by: { ($0.type == .user ? 0 : 1) < ($1.type == .user ? 0 : 1) }) {
            let (flag, name) = Self.kind(of: namespace.type)
            let path = "/proc/\(initPID)/ns/\(name)"
            do { memory.descriptors.append(try Syscall.open(path, O_RDONLY | O_CLOEXEC)) } catch {
                throw ChildConfigurationError(field: "linux.namespaces", message: error.description)
            }
            joins.append(corebox_namespace_join(type: flag, fd: memory.descriptors.last!))
        }
        container.joins = memory.buffer(joins)
        container.join_count = joins.count
        try setProcess(process, root: "/proc/\(initPID)/root")
    }

    /// A namespace's clone flag and its name under /proc/PID/ns.
    private static func kind(of type: NamespaceType) -> (flag: Int32, name: String) {
        switch type {
        case .pid: (CLONE_NEWPID, "pid")
        case .network: (CLONE_NEWNET, "net")
        case .mount: (CLONE_NEWNS, "mnt")
        case .ipc: (CLONE_NEWIPC, "ipc")
        case .uts: (CLONE_NEWUTS, "uts")
        case .user: (CLONE_NEWUSER, "user")
        case .cgroup: (CLONE_NEWCGROUP, "cgroup")
        case .time: (CLONE_NEWTIME, "time")
        }
    }

    /// Whether the process gets a terminal (`process.terminal`): the
    /// caller sets the console socket in `withContainer`.
    public var terminal: Bool { container.terminal != 0 }

    /// Opens the cgroup.procs of each of `directories` for the child to
    /// join them first thing, before it forks anything.
    public func joinCgroups(_ directories: [String]) throws(SystemError) {
        for directory in directories {
            memory.descriptors.append(try Syscall.open(directory + "/cgroup.procs", O_WRONLY | O_CLOEXEC))
        }
        container.cgroup_procs_fds = memory.buffer(memory.descriptors.suffix(directories.count).map { $0 })
        container.cgroup_procs_count = directories.count
    }

    /// Whether the child waits for `writeIDMaps` (a new user namespace).
    public var usesUserNamespace: Bool { container.clone_flags & CLONE_NEWUSER != 0 }

    /// Lends the structure to `body` (to pass to `corebox_container_spawn`,
    /// or to set the fields this type leaves to the caller).
    public func withContainer<R, E: Error>(_ body: (inout corebox_container) throws(E) -> R) throws(E) -> R {
        try body(&container)
    }

    // MARK: The parent's part after spawn

    /// With a new user namespace: writes the child's uid_map, setgroups
    /// ("allow") and gid_map from `linux.uidMappings`/`gidMappings`, then
    /// sends the go-ahead byte the child waits for on the sync socket.
    /// Without one it does nothing. After an error the child is still
    /// waiting: closing the sync socket ends it ("wait for the ID maps").
    public func writeIDMaps(pid: pid_t, syncFD: Int32) throws(SystemError) {
        guard usesUserNamespace else { return }
        try Self.write(Self.mapText(uidMappings), to: "/proc/\(pid)/uid_map")
        try Self.write("allow", to: "/proc/\(pid)/setgroups")
        try Self.write(Self.mapText(gidMappings), to: "/proc/\(pid)/gid_map")
        try Syscall.writeAll(syncFD, [1], path: "the sync socket")
    }

    /// Writes `process.oomScoreAdj`, when the config has one, to
    /// /proc/PID/oom_score_adj.
    public func writeOOMScoreAdj(pid: pid_t) throws(SystemError) {
        guard let oomScoreAdj else { return }
        try Self.write(String(oomScoreAdj), to: "/proc/\(pid)/oom_score_adj")
    }

    private static func mapText(_ mappings: [IDMapping]) -> String {
        mappings.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
    }

    /// One write(2), as /proc's map files require.
    private static func write(_ text: String, to path: String) throws(SystemError) {
        let fd = try Syscall.open(path, O_WRONLY | O_CLOEXEC)
        defer { Syscall.close(fd) }
        try Syscall.writeAll(fd, Array(text.utf8), path: path)
    }

    // MARK: Hooks

    /// Whether the child stops before entering its root for the runtime's
    /// hooks and takes the states for its own (COREBOX_CHILD_HOOKS).
    public var syncsForHooks: Bool { container.hooks_sync != 0 }

    /// The createContainer and startContainer hooks, which the child runs;
    /// the sync only when there are hooks around it to run.
    private func setHooks(_ hooks: Hooks) {
        func childHooks(_ list: [Hook]) -> UnsafePointer<corebox_hook> {
            memory.buffer(list.map { hook in
                corebox_hook(path: memory.string(hook.path), argv: memory.mutableStrings(hook.args.isEmpty ? [hook.path] : hook.args),
                             envp: memory.mutableStrings(hook.env), timeout: Int32(clamping: hook.timeout ?? 0))
            })
        }
        container.create_container_hooks = childHooks(hooks.createContainer)
        container.create_container_count = hooks.createContainer.count
        container.start_container_hooks = childHooks(hooks.startContainer)
        container.start_container_count = hooks.startContainer.count
        let synced = [hooks.prestart, hooks.createRuntime, hooks.createContainer, hooks.startContainer]
        container.hooks_sync = synced.contains { !$0.isEmpty } ? 1 : 0
    }

    /// Room in the child for the states it is sent at the hooks sync,
    /// `capacity` bytes.
    public func reserveHookStates(capacity: Int) {
        container.state_buffer = UnsafeMutablePointer(mutating: memory.buffer([CChar](repeating: 0, count: capacity)))
        container.state_capacity = capacity
    }

    // MARK: Namespaces and the root

    private func setNamespaces(_ linux: Linux) throws(ChildConfigurationError) {
        var joins: [corebox_namespace_join] = []
        for (index, namespace) in linux.namespaces.enumerated() {
            let field = "linux.namespaces[\(index)]"
            let (flag, name) = Self.kind(of: namespace.type)
            guard access("/proc/self/ns/" + name, F_OK) == 0 else {
                throw ChildConfigurationError(field: field + ".type", message: "this kernel has no \(namespace.type.rawValue) namespaces (no /proc/self/ns/\(name))")
            }
            if namespace.path.isEmpty {
                container.clone_flags |= flag
                continue
            }
            let fd: Int32
            do { fd = try Syscall.open(namespace.path, O_RDONLY | O_CLOEXEC) } catch {
                throw ChildConfigurationError(field: field + ".path", message: error.description)
            }
            memory.descriptors.append(fd)
            joins.append(corebox_namespace_join(type: flag, fd: fd))
        }
        // The user namespace first: joining the others takes its capabilities,
        // and the namespaces made after it belong to it.
        joins = joins.filter { $0.type == CLONE_NEWUSER } + joins.filter { $0.type != CLONE_NEWUSER }
        container.joins = memory.buffer(joins)
        container.join_count = joins.count
        if !linux.timeOffsets.isEmpty {
            // /proc/PID/timens_offsets's lines; OCISpec checked that the time namespace is a new one.
            let lines = linux.timeOffsets.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.secs) \($0.value.nanosecs)\n" }
            container.time_offsets = memory.string(lines.joined(by: ""))
        }
    }

    private func setRoot(_ root: Root, linux: Linux, bundle: String) throws(ChildConfigurationError) {
        let path = root.path.hasPrefix("/") ? root.path : bundle + "/" + root.path
        guard let resolved = realpath(path, nil) else {
            throw ChildConfigurationError(field: "root.path", message: SystemError(errno: errno, operation: "realpath", path: path).description)
        }
        defer { free(resolved) }
        container.rootfs = memory.string(String(cString: resolved))
        container.readonly_rootfs = root.readonly ? 1 : 0
        if let propagation = linux.rootfsPropagation {
            container.rootfs_propagation = Self.propagationFlags[propagation.rawValue]!
        }
    }

    /// `path` made absolute against the working directory.
    private static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        let directory = String(cString: cwd)
        return path == "." || path.isEmpty ? directory : directory + "/" + path
    }

    // MARK: Mounts

    /// What a mount option does: runc's table of mount(2) flags.
    private enum MountOption {
        case set(Int), clear(Int), propagation(UInt)
    }

    private static let mountOptions: [String: MountOption] = [
        "ro": .set(MS_RDONLY), "rw": .clear(MS_RDONLY),
        "nosuid": .set(MS_NOSUID), "suid": .clear(MS_NOSUID),
        "nodev": .set(MS_NODEV), "dev": .clear(MS_NODEV),
        "noexec": .set(MS_NOEXEC), "exec": .clear(MS_NOEXEC),
        "sync": .set(MS_SYNCHRONOUS), "async": .clear(MS_SYNCHRONOUS),
        "dirsync": .set(MS_DIRSYNC), "remount": .set(MS_REMOUNT),
        "mand": .set(MS_MANDLOCK), "nomand": .clear(MS_MANDLOCK),
        "noatime": .set(MS_NOATIME), "atime": .clear(MS_NOATIME),
        "nodiratime": .set(MS_NODIRATIME), "diratime": .clear(MS_NODIRATIME),
        "relatime": .set(MS_RELATIME), "norelatime": .clear(MS_RELATIME),
        "strictatime": .set(MS_STRICTATIME), "nostrictatime": .clear(MS_STRICTATIME),
        "silent": .set(MS_SILENT), "loud": .clear(MS_SILENT),
        "acl": .set(MS_POSIXACL), "noacl": .clear(MS_POSIXACL),
        "iversion": .set(MS_I_VERSION), "noiversion": .clear(MS_I_VERSION),
        "lazytime": .set(MS_LAZYTIME), "nolazytime": .clear(MS_LAZYTIME),
        "nosymfollow": .set(256), "symfollow": .clear(256), // MS_NOSYMFOLLOW (Linux 5.10)
        "bind": .set(MS_BIND), "rbind": .set(MS_BIND | MS_REC),
        "defaults": .set(0),
        "private": .propagation(UInt(MS_PRIVATE)), "rprivate": .propagation(UInt(MS_PRIVATE | MS_REC)),
        "shared": .propagation(UInt(MS_SHARED)), "rshared": .propagation(UInt(MS_SHARED | MS_REC)),
        "slave": .propagation(UInt(MS_SLAVE)), "rslave": .propagation(UInt(MS_SLAVE | MS_REC)),
        "unbindable": .propagation(UInt(MS_UNBINDABLE)), "runbindable": .propagation(UInt(MS_UNBINDABLE | MS_REC)),
    ]

    private static let propagationFlags: [String: UInt] = [
        "private": UInt(MS_PRIVATE), "rprivate": UInt(MS_PRIVATE | MS_REC),
        "shared": UInt(MS_SHARED), "rshared": UInt(MS_SHARED | MS_REC),
        "slave": UInt(MS_SLAVE), "rslave": UInt(MS_SLAVE | MS_REC),
        "unbindable": UInt(MS_UNBINDABLE), "runbindable": UInt(MS_UNBINDABLE | MS_REC),
    ]

    /// runc's options that need mount_setattr(2) or a copy, which the
    /// child does not do.
    private static let unsupportedOptions: Set<String> = [
        "rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnodiratime", "rdiratime",
        "rrelatime", "rnorelatime", "rnoatime", "ratime", "rstrictatime", "rnostrictatime", "rnosymfollow",
        "rsymfollow", "tmpcopyup",
    ]

    /// A mount's options as mount(2) flags, propagation, and the rest
    /// joined with "," as filesystem data.
    struct ParsedOptions {
        var flags: UInt = 0
        var propagation: UInt = 0
        var data: [String] = []
    }

    static func parse(options: [String], field: String) throws(ChildConfigurationError) -> ParsedOptions {
        var parsed = ParsedOptions()
        for (index, option) in options.enumerated() {
            if unsupportedOptions.contains(option) {
                throw ChildConfigurationError(field: "\(field)[\(index)]", message: "mount option \"\(option)\" is not supported yet")
            }
            switch mountOptions[option] {
            case .set(let flag): parsed.flags |= UInt(flag)
            case .clear(let flag): parsed.flags &= ~UInt(flag)
            case .propagation(let flag): parsed.propagation = flag
            case nil: parsed.data.append(option)
            }
        }
        return parsed
    }

    private static func isBind(_ mount: Mount) -> Bool {
        mount.type == "bind" || mount.options.contains("bind") || mount.options.contains("rbind")
    }

    private func setMounts(_ mounts: [Mount], bundle: String) throws(ChildConfigurationError) {
        var entries: [corebox_mount] = []
        for (index, mount) in mounts.enumerated() {
            let field = "mounts[\(index)]"
            if !mount.uidMappings.isEmpty || !mount.gidMappings.isEmpty {
                throw ChildConfigurationError(field: field + ".uidMappings", message: "ID-mapped mounts are not supported yet")
            }
            let parsed = try Self.parse(options: mount.options, field: field + ".options")
            let bind = Self.isBind(mount)
            var source = mount.source
            if bind && !source.isEmpty && !source.hasPrefix("/") { source = bundle + "/" + source }
            entries.append(corebox_mount(
                source: source.isEmpty ? nil : memory.string(source),
                destination: memory.string(mount.destination),
                type: bind || mount.type.isEmpty ? nil : memory.string(mount.type),
                data: parsed.data.isEmpty ? nil : memory.string(parsed.data.joined(by: ",")),
                flags: parsed.flags | (bind ? UInt(MS_BIND) : 0),
                propagation: parsed.propagation))
        }
        container.mounts = memory.buffer(entries)
        container.mount_count = entries.count
    }

    // MARK: /dev

    /// The nodes runc always creates: path, major, minor.
    private static let defaultDevices: [(String, UInt32, UInt32)] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
        ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ]

    /// Devices and /dev symlinks, unless /dev is bound from elsewhere (as
    /// runc, which then leaves /dev as it is).
    private func setDevices(_ devices: [Device], mounts: [Mount]) throws(ChildConfigurationError) {
        guard !mounts.contains(where: { $0.destination == "/dev" && Self.isBind($0) }) else { return }
        var nodes: [corebox_device] = []
        for (path, major, minor) in Self.defaultDevices where !devices.contains(where: { $0.path == path }) {
            nodes.append(corebox_device(path: memory.string(path), mode: S_IFCHR | 0o666, major: major, minor: minor, uid: 0, gid: 0))
        }
        for (index, device) in devices.enumerated() {
            let field = "linux.devices[\(index)]"
            guard let major = UInt32(exactly: device.major) else {
                throw ChildConfigurationError(field: field + ".major", message: "\(device.major) is not a device number")
            }
            guard let minor = UInt32(exactly: device.minor) else {
                throw ChildConfigurationError(field: field + ".minor", message: "\(device.minor) is not a device number")
            }
            let kind: mode_t = switch device.type {
            case .char, .unbuffered: S_IFCHR
            case .block: S_IFBLK
            case .fifo: S_IFIFO
            }
            nodes.append(corebox_device(path: memory.string(device.path), mode: kind | ((device.fileMode ?? 0o666) & 0o7777),
                                        major: major, minor: minor, uid: device.uid ?? 0, gid: device.gid ?? 0))
        }
        container.devices = memory.buffer(nodes)
        container.device_count = nodes.count

        var links = [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"), ("/proc/self/fd/1", "/dev/stdout"),
                     ("/proc/self/fd/2", "/dev/stderr"), ("pts/ptmx", "/dev/ptmx")]
        if access("/proc/kcore", F_OK) == 0 { links.append(("/proc/kcore", "/dev/core")) }
        container.symlinks = memory.buffer(links.map { corebox_symlink(target: memory.string($0.0), path: memory.string($0.1)) })
        container.symlink_count = links.count
    }

    // MARK: The process

    /// `root`: where the process's root is seen from here, for its passwd.
    private func setProcess(_ process: ContainerProcess, root: String) throws(ChildConfigurationError) {
        guard !process.args.isEmpty else { throw ChildConfigurationError(field: "process.args", message: "must not be empty") }
        container.argv = memory.mutableStrings(process.args)
        container.envp = memory.mutableStrings(Self.withHome(Self.environment(process.env), uid: process.user.uid) {
            (try? RootFiles.read("/etc/passwd", in: root)) ?? nil
        })
        if !process.cwd.isEmpty { container.cwd = memory.string(process.cwd) }
        container.terminal = process.terminal ? 1 : 0
        if let size = process.consoleSize {
            container.console_height = UInt16(clamping: size.height)
            container.console_width = UInt16(clamping: size.width)
        }

        var limits: [corebox_rlimit] = []
        for (index, limit) in process.rlimits.enumerated() {
            guard let resource = KnownNames.rlimits.firstIndex(of: limit.type) else {
                throw ChildConfigurationError(field: "process.rlimits[\(index)].type", message: "unknown rlimit \"\(limit.type)\"")
            }
            limits.append(corebox_rlimit(resource: Int32(resource), soft: rlim_t(limit.soft), hard: rlim_t(limit.hard)))
        }
        container.rlimits = memory.buffer(limits)
        container.rlimit_count = limits.count

        if let capabilities = process.capabilities {
            container.set_capabilities = 1
            container.cap_bounding = try Self.mask(capabilities.bounding, field: "process.capabilities.bounding")
            container.cap_effective = try Self.mask(capabilities.effective, field: "process.capabilities.effective")
            container.cap_inheritable = try Self.mask(capabilities.inheritable, field: "process.capabilities.inheritable")
            container.cap_permitted = try Self.mask(capabilities.permitted, field: "process.capabilities.permitted")
            // The kernel raises an ambient capability only when it is also
            // permitted and inheritable; runc warns about the others and goes on.
            container.cap_ambient = try Self.mask(capabilities.ambient, field: "process.capabilities.ambient")
                & container.cap_inheritable & container.cap_permitted
        }
        container.no_new_privileges = process.noNewPrivileges ? 1 : 0

        container.uid = process.user.uid
        container.gid = process.user.gid
        container.additional_gids = memory.buffer(process.user.additionalGids)
        container.additional_gid_count = process.user.additionalGids.count
        // runc's umask when the config sets none.
        container.umask = Int32(process.user.umask ?? 0o022)
    }

    /// `env` with HOME added when it has none, as runc does: the user's home
    /// in the container's passwd (read only then), or "/".
    static func withHome(_ env: [String], uid: UInt32, passwd: () -> String?) -> [String] {
        if env.contains(where: { $0.hasPrefix("HOME=") }) { return env }
        let home = passwd().flatMap { AccountFile.users($0).first { $0.uid == uid }?.home } ?? "/"
        return env + ["HOME=" + (home.isEmpty ? "/" : home)]
    }

    /// `env` with each name once, where it first appears, with its last
    /// value (runc sets them one by one in its own environment).
    static func environment(_ env: [String]) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        for entry in env {
            let name = String(entry.prefix { $0 != "=" })
            if values.updateValue(entry, forKey: name) == nil { order.append(name) }
        }
        return order.map { values[$0]! }
    }

    /// Capability names as a bitmask: bit N for `KnownNames.capabilities[N]`.
    static func mask(_ names: [String], field: String) throws(ChildConfigurationError) -> UInt64 {
        var mask: UInt64 = 0
        for (index, name) in names.enumerated() {
            guard let number = KnownNames.capabilities.firstIndex(of: name) else {
                throw ChildConfigurationError(field: "\(field)[\(index)]", message: "unknown capability \"\(name)\"")
            }
            mask |= 1 << UInt64(number)
        }
        return mask
    }
}

/// The C memory and descriptors a `ChildConfiguration` hands out, freed and
/// closed together when it goes (also when its initializer throws).
public final class ChildMemory {
    var descriptors: [Int32] = []

    public init() {}
    private var copies: [UnsafeMutablePointer<CChar>] = []
    private var allocations: [UnsafeMutableRawPointer] = []

    public func string(_ text: String) -> UnsafePointer<CChar> {
        let copy = strdup(text)!
        copies.append(copy)
        return UnsafePointer(copy)
    }

    /// A NULL-terminated array of strings.
    public func strings(_ texts: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        buffer(texts.map { Optional(string($0)) } + [nil])
    }

    /// The same, typed as argv and envp are.
    public func mutableStrings(_ texts: [String]) -> UnsafePointer<UnsafeMutablePointer<CChar>?> {
        buffer(texts.map { UnsafeMutablePointer(mutating: string($0)) } + [nil])
    }

    public func buffer<T>(_ values: [T]) -> UnsafePointer<T> {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
        pointer.initialize(from: values, count: values.count)
        allocations.append(UnsafeMutableRawPointer(pointer))
        return UnsafePointer(pointer)
    }

    deinit {
        copies.forEach { free($0) }
        allocations.forEach { $0.deallocate() }
        descriptors.forEach { Syscall.close($0) }
    }
}
