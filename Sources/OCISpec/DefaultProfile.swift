/// The profile `container run IMAGE` gives a container: podman's defaults
/// (containers-common 0.50's containers.conf and seccomp.json, as Debian
/// ships them): its capability set, and a seccomp allowlist in which an
/// unlisted call fails with ENOSYS (a call newer than the profile then
/// looks absent, and programs fall back), the calls known to be dangerous
/// fail with EPERM, and the calls a capability governs are allowed only
/// with it. (seccomp.json also lists setns among the calls for everyone;
/// here CAP_SYS_ADMIN governs it alone, which is what the kernel asks of
/// joining a namespace anyway.)
public enum DefaultProfile {
    /// The bounding, effective and permitted sets of the container's process.
    public static let capabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
        "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
    ]

    /// Allowed whatever the capabilities (arch_prctl and modify_ldt are x86's own).
    static let allowed = words("""
        _llseek _newselect accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
        clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
        clock_nanosleep clock_nanosleep_time64 clone clone3 close close_range connect copy_file_range creat dup
        dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
        epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
        fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64
        fdatasync fgetxattr flistxattr flock fork fremovexattr fsconfig fsetxattr fsmount fsopen fspick fstat
        fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futimesat
        get_mempolicy get_robust_list get_thread_area getcpu getcwd getdents getdents64 getegid getegid32
        geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid
        getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit getrusage getsid
        getsockname getsockopt gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init
        inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents io_setup io_submit ioctl ioprio_get
        ioprio_set ipc keyctl kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
        lchown32 lgetxattr link linkat listen listxattr llistxattr lremovexattr lseek lsetxattr lstat lstat64
        madvise mbind membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
        mlockall mmap mmap2 mount mount_setattr move_mount mprotect mq_getsetattr mq_notify mq_open
        mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget
        msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat open open_tree
        openat openat2 pause pidfd_getfd pidfd_open pidfd_send_signal pipe pipe2 pivot_root pkey_alloc pkey_free
        pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease
        process_vm_readv process_vm_writev pselect6 pselect6_time64 ptrace pwrite64 pwritev pwritev2 read
        readahead readdir readlink readlinkat readv reboot recv recvfrom recvmmsg recvmmsg_time64 recvmsg
        remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction
        rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
        rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min sched_getaffinity
        sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
        sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl
        semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto set_mempolicy
        set_robust_list set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
        setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32
        setresuid setresuid32 setreuid setreuid32 setrlimit setsid setsockopt setuid setuid32 setxattr shmat
        shmctl shmdt shmget shutdown sigaction sigaltstack signal signalfd signalfd4 sigpending sigprocmask
        sigreturn sigsuspend socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat
        sync sync_file_range syncfs syscall sysinfo syslog tee tgkill time timer_create timer_delete
        timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd timerfd_create
        timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64
        ugetrlimit umask umount umount2 uname unlink unlinkat unshare utime utimensat utimensat_time64 utimes
        vfork wait4 waitid waitpid write writev
        arch_prctl modify_ldt
        """)

    /// Refused with EPERM whatever the capabilities.
    static let denied = words("""
        bdflush io_pgetevents kexec_file_load kexec_load migrate_pages move_pages nfsservctl nice oldfstat
        oldlstat oldolduname oldstat olduname pciconfig_iobase pciconfig_read pciconfig_write sgetmask ssetmask
        swapcontext swapoff swapon sysfs uselib userfaultfd ustat vm86 vm86old vmsplice
        """)

    /// Allowed only to a process that holds the capability, else EPERM.
    static let governed: [(capability: String, names: [String])] = [
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("CAP_SYS_ADMIN", ["bpf", "fanotify_init", "lookup_dcookie", "perf_event_open", "quotactl", "setdomainname", "sethostname", "setns"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["delete_module", "finit_module", "init_module", "query_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["kcmp", "process_madvise"]),
        ("CAP_SYS_RAWIO", ["ioperm", "iopl"]),
        ("CAP_SYS_TIME", ["clock_settime", "clock_settime64", "settimeofday", "stime"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
    ]

    /// The personality(2) domains a program may switch to: Linux, its
    /// 32-bit variant, UNAME26 on either, and the query (0xffffffff).
    static let personalities: [UInt64] = [0x0, 0x8, 0x20000, 0x20008, 0xFFFF_FFFF]

    static let addressFamilyNetlink: UInt64 = 16, netlinkAudit: UInt64 = 9
    static let enosys: UInt = 38, eperm: UInt = 1, einval: UInt = 22

    /// The seccomp section for a process holding `capabilities`.
    public static func seccomp(capabilities: [String] = capabilities) -> Seccomp {
        let held = Set(capabilities)
        var seccomp = Seccomp()
        seccomp.defaultAction = .errno
        seccomp.defaultErrnoRet = enosys
        seccomp.architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        var allow = allowed, refuse = denied
        for (capability, names) in governed {
            if held.contains(capability) { allow += names } else { refuse += names }
        }
        seccomp.syscalls = [rule(refuse, .errno, errno: eperm), rule(allow, .allow)]
        for domain in personalities { seccomp.syscalls.append(rule(["personality"], .allow, args: [argument(0, .equal, domain)])) }
        if held.contains("CAP_AUDIT_WRITE") {
            seccomp.syscalls.append(rule(["socket"], .allow))
        } else {
            // Audit netlink sockets need CAP_AUDIT_WRITE; EINVAL lets programs take audit as absent.
            seccomp.syscalls += [
                rule(["socket"], .errno, errno: einval, args: [argument(0, .equal, addressFamilyNetlink), argument(2, .equal, netlinkAudit)]),
                rule(["socket"], .allow, args: [argument(2, .notEqual, netlinkAudit)]),
                rule(["socket"], .allow, args: [argument(0, .notEqual, addressFamilyNetlink)]),
            ]
        }
        return seccomp
    }

    private static func rule(_ names: [String], _ action: SeccompAction, errno: UInt? = nil, args: [SeccompArgument] = []) -> Syscall {
        var rule = Syscall()
        (rule.names, rule.action, rule.errnoRet, rule.args) = (names, action, errno, args)
        return rule
    }

    private static func argument(_ index: UInt, _ op: SeccompOperator, _ value: UInt64) -> SeccompArgument {
        var argument = SeccompArgument()
        (argument.index, argument.op, argument.value) = (index, op, value)
        return argument
    }

    private static func words(_ text: String) -> [String] {
        text.split(whereSeparator: \.isWhitespace).map(String.init)
    }
}
