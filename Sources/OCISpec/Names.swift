/// The names config.json may use, each list in one place so the checks and
/// `features` cannot disagree.
public enum KnownNames {
    /// The kernel's capabilities, in number order: a name's index is its
    /// number (linux/capability.h, up to CAP_CHECKPOINT_RESTORE, 40).
    public static let capabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// The kernel's resource limits, in number order: a name's index is the
    /// resource number `setrlimit` takes on Linux.
    public static let rlimits = [
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC",
        "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    ]

    /// The mount options runc knows, sorted as `runc features` lists them:
    /// mount(2) flags, propagation, recursive mount_setattr(2) attributes,
    /// and runc's `tmpcopyup` extension.
    public static let mountOptions = [
        "acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion", "lazytime",
        "loud", "mand", "noacl", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand",
        "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime",
        "relatime", "remount", "rexec", "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime",
        "rnostrictatime", "rnosuid", "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared",
        "rslave", "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
        "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable",
    ]

    /// Options without `=` that are not flags but data for one filesystem.
    /// For the filesystems listed here an option that is neither is an
    /// error; other filesystems get such words as data, unchecked, as runc
    /// passes them.
    static let filesystemWords: [String: Set<String>] = [
        "proc": [], "sysfs": [], "tmpfs": ["noswap"], "mqueue": [], "bind": [], "none": [], "": [],
        "devpts": ["newinstance"],
        "cgroup": [
            "none", "all", "noprefix", "xattr", "clone_children", "cpu", "cpuacct", "cpuset", "memory", "devices",
            "freezer", "net_cls", "net_prio", "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc",
        ],
        "cgroup2": ["nsdelegate", "favordynmods", "memory_localevents", "memory_recursiveprot", "memory_hugetlb_accounting"],
        "overlay": ["userxattr", "volatile"],
    ]

    /// libseccomp's architecture names the runtime-spec lists.
    public static let seccompArchitectures = [
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64",
    ]

    /// seccomp(2) filter flags the runtime-spec names.
    public static let seccompFlags = [
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ]

    static let capabilitySet = Set(capabilities)
    static let rlimitSet = Set(rlimits)
    static let mountOptionSet = Set(mountOptions)
    static let seccompArchitectureSet = Set(seccompArchitectures)
    static let seccompFlagSet = Set(seccompFlags)
}

/// A namespace `linux.namespaces` can ask for.
public enum NamespaceType: String, JSONEnum, Sendable {
    case pid, network, mount, ipc, uts, user, cgroup, time
    static let noun = "namespace"
}

/// `linux.devices[].type`: character, block, unbuffered character, FIFO.
public enum DeviceType: String, JSONEnum, Sendable {
    case char = "c", block = "b", unbuffered = "u", fifo = "p"
    static let noun = "device type"
}

/// `linux.rootfsPropagation`.
public enum Propagation: String, JSONEnum, Sendable {
    case `private`, rprivate, slave, rslave, shared, rshared, unbindable, runbindable
    static let noun = "propagation"
}

public enum SeccompAction: String, JSONEnum, Sendable {
    case kill = "SCMP_ACT_KILL", killProcess = "SCMP_ACT_KILL_PROCESS", killThread = "SCMP_ACT_KILL_THREAD"
    case trap = "SCMP_ACT_TRAP", errno = "SCMP_ACT_ERRNO", trace = "SCMP_ACT_TRACE", allow = "SCMP_ACT_ALLOW"
    case log = "SCMP_ACT_LOG", notify = "SCMP_ACT_NOTIFY"
    static let noun = "seccomp action"
}

public enum SeccompOperator: String, JSONEnum, Sendable {
    case notEqual = "SCMP_CMP_NE", lessThan = "SCMP_CMP_LT", lessOrEqual = "SCMP_CMP_LE", equal = "SCMP_CMP_EQ"
    case greaterOrEqual = "SCMP_CMP_GE", greaterThan = "SCMP_CMP_GT", maskedEqual = "SCMP_CMP_MASKED_EQ"
    static let noun = "seccomp operator"
}

/// `linux.personality.domain`.
public enum PersonalityDomain: String, JSONEnum, Sendable {
    case linux = "LINUX", linux32 = "LINUX32"
    static let noun = "personality domain"
}

/// The rules fields share.
enum Rules {
    static func absolutePath(_ text: String, _ cursor: Cursor) {
        if !text.hasPrefix("/") { cursor.report("must be an absolute path, got \(quoted(text))") }
    }

    static func nonEmpty<T>(_ elements: [T], _ cursor: Cursor) {
        if elements.isEmpty { cursor.report("must not be empty") }
    }

    /// Each element must be one of `names`: else `unknown NOUN "text"`.
    static func each(_ names: Set<String>, _ noun: String) -> ([String], Cursor) -> Void {
        { elements, cursor in
            for (index, name) in elements.enumerated() where !names.contains(name) {
                cursor[index].report("unknown \(noun) \(quoted(name))")
            }
        }
    }
}
