extension ContainerConfig {
    /// The config `runc spec` writes: `sh` on a terminal, a read-only
    /// `rootfs`, runc 1.1.5's values in its order.
    /// - Parameters:
    ///   - rootless: the caller's effective uid and gid for `--rootless`:
    ///     a user namespace mapping root to them, /sys bound instead of
    ///     mounted, no uid=/gid= mount options, no cgroup settings.
    ///   - cgroupNamespace: whether the host is pure cgroup v2, where runc
    ///     adds a cgroup namespace.
    public static func runcDefault(rootless: (uid: UInt32, gid: UInt32)? = nil, cgroupNamespace: Bool = false) -> ContainerConfig {
        var config = ContainerConfig()
        config.ociVersion = OCIVersion.runtime
        config.root.path = "rootfs"
        config.root.readonly = true
        config.hostname = "runc"

        var process = ContainerProcess()
        process.terminal = true
        process.args = ["sh"]
        process.env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]
        process.cwd = "/"
        let capabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        var sets = Capabilities()
        (sets.bounding, sets.effective, sets.permitted, sets.ambient) = (capabilities, capabilities, capabilities, capabilities)
        process.capabilities = sets
        var files = Rlimit()
        (files.type, files.hard, files.soft) = ("RLIMIT_NOFILE", 1024, 1024)
        process.rlimits = [files]
        process.noNewPrivileges = true
        config.process = process

        config.mounts = [
            Mount("/proc", type: "proc", source: "proc"),
            Mount("/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            Mount("/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            Mount("/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            Mount("/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            Mount("/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
            Mount("/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
        ]

        var linux = Linux()
        var resources = Resources()
        resources.devices = [DeviceRule(allow: false, access: "rwm")]
        linux.resources = resources
        linux.namespaces = [.pid, .network, .ipc, .uts, .mount].map(Namespace.init)
        if cgroupNamespace { linux.namespaces.append(Namespace(.cgroup)) }
        linux.maskedPaths = [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
        ]
        linux.readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        config.linux = linux

        if let rootless { config.makeRootless(uid: rootless.uid, gid: rootless.gid) }
        return config
    }

    /// runc's `ToRootless`.
    mutating func makeRootless(uid: UInt32, gid: UInt32) {
        guard var linux else { return }
        linux.namespaces.removeAll { $0.type == .network || $0.type == .user }
        linux.namespaces.append(Namespace(.user))
        linux.uidMappings = [IDMapping(containerID: 0, hostID: uid, size: 1)]
        linux.gidMappings = [IDMapping(containerID: 0, hostID: gid, size: 1)]
        linux.resources = nil
        self.linux = linux
        mounts = mounts.map { mount in
            if mount.destination == "/sys" {
                return Mount("/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"])
            }
            var mount = mount
            mount.options.removeAll { $0.hasPrefix("gid=") || $0.hasPrefix("uid=") }
            return mount
        }
    }
}
