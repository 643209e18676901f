import CoreboxCore
import CSeccomp
import Glibc
import OCISpec

/// `linux.seccomp` compiled into a classic BPF program by libseccomp, in
/// the runtime (the parent), so the C child only hands `fprog` to
/// seccomp(2) with `flags`, right before exec.
///
/// How the spec maps onto libseccomp, as runc does it:
/// - `architectures` are libseccomp's `SCMP_ARCH_*` names; the native
///   architecture is always in the filter.
/// - `SCMP_ACT_KILL` is `SCMP_ACT_KILL_THREAD`. `SCMP_ACT_ERRNO` returns
///   `errnoRet` (`defaultErrnoRet` for the default action), EPERM when it is
///   absent; `SCMP_ACT_TRACE` passes the same number to the tracer. An
///   errno given to any other action is an error (the runtime-spec says so).
/// - `SCMP_ACT_NOTIFY` is refused: corebox has no seccomp listener.
/// - A rule whose action is the default action is left out (libseccomp
///   refuses it, and it would change nothing).
/// - A rule comparing one argument twice becomes one rule per comparison,
///   which libseccomp ORs (runc's fallback: libseccomp ANDs the comparisons
///   of one rule and takes one per argument).
/// - Syscall names: libseccomp's table covers every architecture it knows,
///   so a name resolves (to a pseudo number where this architecture lacks
///   the call, which libseccomp then leaves out of that architecture's
///   part of the filter, as runc does). A name unknown to libseccomp
///   everywhere is an error naming its field, where runc skips it
///   silently: a typo would otherwise quietly open or close nothing.
/// - `flags` become seccomp(2)'s `SECCOMP_FILTER_FLAG_*`;
///   `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` only means something with a
///   listener, so it is refused with SCMP_ACT_NOTIFY.
///
/// Every problem of the profile is reported at once, with its path, as an
/// `OCISpec.ConfigError`; a libseccomp failure past the checks is a `SystemError`.
public final class SeccompProgram {
    /// seccomp(2)'s flags for the child (`corebox_container.seccomp_flags`).
    public let flags: UInt32
    private let instructions: UnsafeMutableBufferPointer<sock_filter>
    private let header: UnsafeMutablePointer<sock_fprog>

    /// The program for seccomp(2) (`corebox_container.seccomp_filter`),
    /// valid as long as this object lives.
    public var fprog: UnsafePointer<sock_fprog> { UnsafePointer(header) }

    /// The program's instructions as bytes, valid as long as this object lives.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(instructions) }

    /// The linked libseccomp's `major.minor.micro`, for `features`.
    public static var libseccompVersion: String {
        let version = seccomp_version().pointee
        return "\(version.major).\(version.minor).\(version.micro)"
    }

    /// - Parameters:
    ///   - seccomp: the profile, `linux.seccomp` of `file`.
    ///   - file: where the profile came from, for the error.
    public init(_ seccomp: Seccomp, file: String = "config.json") throws {
        var problems: [Problem] = []
        func report(_ path: String, _ message: String) {
            problems.append(Problem(path: "linux.seccomp" + path, message: message))
        }

        let defaultAction = Self.action(seccomp.defaultAction, errno: seccomp.defaultErrnoRet,
                                        path: "", actionField: "defaultAction", errnoField: "defaultErrnoRet", report: report)
        var flags: UInt32 = 0
        for (index, flag) in seccomp.flags.enumerated() {
            switch flag {
            case "SECCOMP_FILTER_FLAG_TSYNC": flags |= UInt32(SECCOMP_FILTER_FLAG_TSYNC)
            case "SECCOMP_FILTER_FLAG_LOG": flags |= UInt32(SECCOMP_FILTER_FLAG_LOG)
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": flags |= UInt32(SECCOMP_FILTER_FLAG_SPEC_ALLOW)
            case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
                report(".flags[\(index)]", "\(flag) applies to SCMP_ACT_NOTIFY, which corebox does not support (no seccomp listener)")
            default: report(".flags[\(index)]", "unknown seccomp flag \(GoSyntax.quote(flag))")
            }
        }
        self.flags = flags

        guard let context = seccomp_init(defaultAction ?? SCMP_ACT_ALLOW) else {
            throw SystemError(errno: EINVAL, operation: "seccomp_init")
        }
        defer { seccomp_release(context) }

        for (index, name) in seccomp.architectures.enumerated() {
            let token = name.hasPrefix("SCMP_ARCH_") ? seccomp_arch_resolve_name(String(name.dropFirst(10)).lowercased()) : 0
            if token == 0 {
                report(".architectures[\(index)]", "unknown seccomp architecture \(GoSyntax.quote(name))")
                continue
            }
            let result = seccomp_arch_add(context, token)
            if result < 0 && result != -EEXIST {
                report(".architectures[\(index)]", "libseccomp cannot add \(name) to a filter for this machine: \(String(cString: strerror(-result)))")
            }
        }

        for (ruleIndex, rule) in seccomp.syscalls.enumerated() {
            let path = ".syscalls[\(ruleIndex)]"
            let action = Self.action(rule.action, errno: rule.errnoRet, path: path, actionField: "action", errnoField: "errnoRet", report: report)
            var comparisons: [scmp_arg_cmp] = []
            for (argIndex, argument) in rule.args.enumerated() {
                guard argument.index < 6 else {
                    report("\(path).args[\(argIndex)].index", "must be from 0 to 5, got \(argument.index)")
                    continue
                }
                comparisons.append(scmp_arg_cmp(arg: UInt32(argument.index), op: Self.compare(argument.op),
                                                datum_a: argument.value, datum_b: argument.valueTwo))
            }
            let numbers = rule.names.enumerated().compactMap { nameIndex, name -> (String, Int32)? in
                let number = seccomp_syscall_resolve_name(name)
                if number == __NR_SCMP_ERROR {
                    report("\(path).names[\(nameIndex)]", "unknown syscall \(GoSyntax.quote(name))")
                    return nil
                }
                return (name, number)
            }
            guard let action, let defaultAction, action != defaultAction else { continue }
            let comparedTwice = Set(comparisons.map(\.arg)).count < comparisons.count
            let groups = comparedTwice ? comparisons.map { [$0] } : [comparisons]
            for (name, number) in numbers {
                for group in groups {
                    let result = seccomp_rule_add_array(context, action, number, UInt32(group.count), group)
                    if result < 0 {
                        throw SystemError(errno: -result, operation: "seccomp_rule_add_array(\(name)) for linux.seccomp\(path)")
                    }
                }
            }
        }
        guard problems.isEmpty else { throw OCISpec.ConfigError(file: file, problems: problems) }

        (instructions, header) = try Self.export(context)
    }

    deinit {
        instructions.deallocate()
        header.deallocate()
    }

    /// libseccomp's action for a spec's, or nil after reporting why not.
    /// `path` is the object holding `actionField` and `errnoField`.
    private static func action(_ action: SeccompAction, errno: UInt?, path: String, actionField: String, errnoField: String,
                               report: (String, String) -> Void) -> UInt32? {
        let takesErrno = action == .errno || action == .trace
        if let errno, !takesErrno {
            report("\(path).\(errnoField)", "\(action.rawValue) takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do), got \(errno)")
            return nil
        }
        // The kernel returns at most MAX_ERRNO; a tracer gets 16 bits.
        let data = errno ?? UInt(EPERM)
        let limit: UInt = action == .trace ? 0xffff : 4095
        if data > limit {
            report("\(path).\(errnoField)", "must be from 0 to \(limit) for \(action.rawValue), got \(data)")
            return nil
        }
        switch action {
        case .kill, .killThread: return SCMP_ACT_KILL_THREAD
        case .killProcess: return SCMP_ACT_KILL_PROCESS
        case .trap: return SCMP_ACT_TRAP
        case .errno: return 0x0005_0000 | UInt32(data) // SCMP_ACT_ERRNO(data)
        case .trace: return 0x7ff0_0000 | UInt32(data) // SCMP_ACT_TRACE(data)
        case .allow: return SCMP_ACT_ALLOW
        case .log: return SCMP_ACT_LOG
        case .notify:
            report("\(path).\(actionField)", "SCMP_ACT_NOTIFY is not supported: corebox has no seccomp listener")
            return nil
        }
    }

    private static func compare(_ op: SeccompOperator) -> scmp_compare {
        switch op {
        case .notEqual: SCMP_CMP_NE
        case .lessThan: SCMP_CMP_LT
        case .lessOrEqual: SCMP_CMP_LE
        case .equal: SCMP_CMP_EQ
        case .greaterOrEqual: SCMP_CMP_GE
        case .greaterThan: SCMP_CMP_GT
        case .maskedEqual: SCMP_CMP_MASKED_EQ
        }
    }

    /// The filter as BPF, through a memfd, into memory of our own.
    private static func export(_ context: scmp_filter_ctx) throws
        -> (UnsafeMutableBufferPointer<sock_filter>, UnsafeMutablePointer<sock_fprog>) {
        let fd = memfd_create("seccomp", UInt32(MFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError(errno: errno, operation: "memfd_create") }
        defer { close(fd) }
        let result = seccomp_export_bpf(context, fd)
        guard result >= 0 else { throw SystemError(errno: -result, operation: "seccomp_export_bpf") }
        let size = Int(lseek(fd, 0, SEEK_END))
        let width = MemoryLayout<sock_filter>.stride
        guard size > 0, size % width == 0 else {
            throw SystemError(errno: EINVAL, operation: "seccomp_export_bpf: \(size) bytes, not whole instructions")
        }
        let count = size / width
        guard count <= Int(BPF_MAXINSNS) else {
            throw SystemError(errno: E2BIG, operation: "seccomp filter of \(count) instructions (the kernel loads at most \(BPF_MAXINSNS))")
        }
        let instructions = UnsafeMutableBufferPointer<sock_filter>.allocate(capacity: count)
        var done = 0
        while done < size {
            let got = pread(fd, UnsafeMutableRawPointer(instructions.baseAddress!) + done, size - done, off_t(done))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                let failure = got < 0 ? errno : EIO
                instructions.deallocate()
                throw SystemError(errno: failure, operation: "read the exported seccomp filter")
            }
            done += got
        }
        let header = UnsafeMutablePointer<sock_fprog>.allocate(capacity: 1)
        header.initialize(to: sock_fprog(len: UInt16(count), filter: instructions.baseAddress))
        return (instructions, header)
    }
}
