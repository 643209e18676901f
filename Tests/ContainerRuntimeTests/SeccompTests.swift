import CContainer
import ContainerRuntime
import CoreboxCore
import Foundation
import Glibc
import OCISpec
import Testing
import TestSupport

/// Profiles compiled by libseccomp and loaded by the C child into a busybox
/// container: what the shell inside sees. Needs root, as the child does.
@Suite(.serialized)
struct SeccompTests {
    let bundle: TemporaryDirectory
    let output: TemporaryDirectory
    var rootfs: String { bundle.path + "/rootfs" }

    init() throws {
        bundle = try TemporaryDirectory()
        output = try TemporaryDirectory()
        try BusyboxRoot.make(at: rootfs)
    }

    /// What busybox's shell and its applets call, plus the child's last steps.
    static let busyboxCalls = [
        "access", "arch_prctl", "brk", "chdir", "clone", "clone3", "close", "dup", "dup2", "dup3", "execve", "exit",
        "exit_group", "faccessat", "faccessat2", "fadvise64", "fcntl", "fork", "fstat", "fstatfs", "futex", "getcwd",
        "getdents64", "getegid", "geteuid", "getgid", "getpgrp", "getpid", "getppid", "getrandom", "getuid", "ioctl",
        "lseek", "lstat", "mmap", "mprotect", "munmap", "newfstatat", "open", "openat", "personality", "pipe", "pipe2",
        "prlimit64", "pread64", "read", "readlink", "rseq", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sendmsg",
        "sendto", "set_robust_list", "set_tid_address", "setpgid", "stat", "statfs", "statx", "umask", "uname",
        "unlink", "unlinkat", "utimensat", "vfork", "wait4", "write", "writev",
    ]

    static func rule(_ names: [String], _ action: SeccompAction, errno: UInt? = nil, args: [SeccompArgument] = []) -> Syscall {
        var rule = Syscall()
        rule.names = names
        rule.action = action
        rule.errnoRet = errno
        rule.args = args
        return rule
    }

    static func argument(_ index: UInt, _ op: SeccompOperator, _ value: UInt64, _ valueTwo: UInt64 = 0) -> SeccompArgument {
        var argument = SeccompArgument()
        argument.index = index
        argument.op = op
        argument.value = value
        argument.valueTwo = valueTwo
        return argument
    }

    static func profile(_ defaultAction: SeccompAction, errno: UInt? = nil, _ syscalls: [Syscall]) -> Seccomp {
        var seccomp = Seccomp()
        seccomp.defaultAction = defaultAction
        seccomp.defaultErrnoRet = errno
        seccomp.syscalls = syscalls
        return seccomp
    }

    /// Runs `script` under the compiled `seccomp` in a busybox container;
    /// the shell's exit status.
    func run(_ seccomp: Seccomp, script: String) throws -> Int32 {
        let program = try SeccompProgram(seccomp)
        let memory = ChildMemory()
        let mounts = [
            corebox_mount(source: memory.string(output.path), destination: memory.string("/out"), type: nil, data: nil,
                          flags: UInt(MS_BIND | MS_REC), propagation: 0),
            corebox_mount(source: memory.string("tmpfs"), destination: memory.string("/tmp"), type: memory.string("tmpfs"),
                          data: memory.string("size=1m,mode=1777"), flags: UInt(MS_NOSUID), propagation: 0),
        ]
        var container = corebox_container()
        container.clone_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
        container.rootfs = memory.string(rootfs)
        container.mounts = memory.buffer(mounts)
        container.mount_count = mounts.count
        container.umask = -1
        container.exec_fifo_fd = -1
        container.cwd = memory.string("/")
        container.argv = memory.mutableStrings(["/bin/sh", "-c", script])
        container.envp = memory.mutableStrings(["PATH=/bin"])
        container.seccomp_filter = UnsafeRawPointer(program.fprog)
        container.seccomp_flags = program.flags
        var syncFD: Int32 = -1
        let pid = withExtendedLifetime(program) { corebox_container_spawn(&container, &syncFD) }
        try #require(pid > 0, "spawn: \(String(cString: strerror(errno)))")
        defer { close(syncFD) }
        var failures: [String] = []
        while true {
            var message = corebox_child_message()
            if read(syncFD, &message, MemoryLayout<corebox_child_message>.size) <= 0 { break }
            if message.kind == Int32(COREBOX_CHILD_FAILED.rawValue) {
                let step = Swift.withUnsafeBytes(of: message.step) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                failures.append("\(step): \(String(cString: strerror(message.error)))")
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(failures.isEmpty)
        return (status >> 8) & 0xFF
    }

    func outputFile(_ name: String) -> String {
        (try? String(contentsOfFile: output.path + "/" + name, encoding: .utf8)) ?? "<missing \(name)>"
    }

    @Test func aDeniedMkdirFailsWithEPERMAndTheRestWorks() throws {
        let seccomp = Self.profile(.allow, [
            Self.rule(["mkdir", "mkdirat"], .errno),
            Self.rule(["chmod", "fchmodat"], .errno, errno: UInt(EROFS)),
        ])
        let status = try run(seccomp, script: """
            mkdir /tmp/x 2> /out/mkdir; echo $? > /out/status
            touch /tmp/y && chmod 600 /tmp/y 2> /out/chmod
            ls /tmp > /out/ls; echo works > /out/works
            """)
        #expect(status == 0)
        #expect(outputFile("mkdir").contains("Operation not permitted"), "no errnoRet: EPERM")
        #expect(outputFile("status") == "1\n")
        #expect(outputFile("chmod").contains("Read-only file system"), "errnoRet EROFS")
        #expect(outputFile("ls") == "y\n", "the directory was not made, the file was")
        #expect(outputFile("works") == "works\n")
    }

    @Test func defaultErrnoWithAnAllowList() throws {
        var allowed = Self.busyboxCalls
        allowed.append("mkdir")
        let seccomp = Self.profile(.errno, errno: UInt(EACCES), [Self.rule(allowed, .allow)])
        let status = try run(seccomp, script: """
            mkdir /tmp/made && echo made > /out/made
            ln -s /tmp/made /tmp/link 2> /out/symlink
            echo $? > /out/status
            """)
        #expect(status == 0)
        #expect(outputFile("made") == "made\n", "an allowed call works")
        #expect(outputFile("symlink").contains("Permission denied"), "symlink is not allowed: defaultErrnoRet EACCES")
        #expect(outputFile("status") == "1\n")
    }

    @Test func anArgumentRuleMatchesOnlyItsValue() throws {
        // busybox's linux32 calls personality(PER_LINUX32 = 8), linux64 personality(PER_LINUX = 0).
        let seccomp = Self.profile(.allow, [
            Self.rule(["personality"], .errno, errno: UInt(ENOTSUP), args: [Self.argument(0, .equal, 8)]),
        ])
        let status = try run(seccomp, script: """
            linux32 true 2> /out/linux32; echo $? > /out/linux32-status
            linux64 true; echo $? > /out/linux64-status
            """)
        #expect(status == 0)
        #expect(outputFile("linux32") == "linux32: personality(0x8): Operation not supported\n")
        #expect(outputFile("linux32-status") != "0\n")
        #expect(outputFile("linux64-status") == "0\n")
    }

    @Test func maskedEqualAndTwoComparisonsOfOneArgument() throws {
        // MASKED_EQ: (arg & value) == valueTwo.
        let masked = Self.profile(.allow, [
            Self.rule(["personality"], .errno, args: [Self.argument(0, .maskedEqual, 0xff, 8)]),
        ])
        // Two comparisons of argument 0 become two rules, either of which
        // matches (both at once never could).
        let either = Self.profile(.allow, [
            Self.rule(["personality"], .errno, args: [Self.argument(0, .equal, 0x1234), Self.argument(0, .equal, 8)]),
        ])
        for seccomp in [masked, either] {
            let status = try run(seccomp, script: """
                linux32 true 2> /out/linux32; echo $? > /out/linux32-status
                linux64 true; echo $? > /out/linux64-status
                """)
            #expect(status == 0)
            #expect(outputFile("linux32").contains("Operation not permitted"), "\(outputFile("linux32"))")
            #expect(outputFile("linux32-status") != "0\n")
            #expect(outputFile("linux64-status") == "0\n")
        }
    }

    @Test func killEndsTheProcessWithSIGSYS() throws {
        for action in [SeccompAction.kill, .killProcess, .killThread] {
            let seccomp = Self.profile(.allow, [Self.rule(["mkdir", "mkdirat"], action)])
            let status = try run(seccomp, script: "{ (mkdir /tmp/x); echo $? > /out/status; } 2> /out/stderr; echo after > /out/after")
            #expect(status == 0, "\(action)")
            #expect(outputFile("status") == "159\n", "128 + SIGSYS, \(action)")
            #expect(outputFile("after") == "after\n", "only the subshell died, \(action)")
            #expect(outputFile("stderr").contains("Bad system call"), "\(action)")
            for name in ["status", "after", "stderr"] { try? FileManager.default.removeItem(atPath: output.path + "/" + name) }
        }
    }

    @Test func problemsAreReportedWithTheirPaths() throws {
        var seccomp = Self.profile(.allow, [
            Self.rule(["mkdir"], .errno),
            Self.rule(["read"], .log),
            Self.rule(["write"], .trace, errno: 5000),
            Self.rule(["getpid", "fooo"], .errno, errno: 70000),
            Self.rule(["close"], .allow, errno: 1),
            Self.rule(["open"], .notify),
        ])
        seccomp.architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_NOPE", "x86"]
        seccomp.flags = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
        seccomp.listenerPath = "/run/listener"
        let error = try #require(throws: OCISpec.ConfigError.self) { try SeccompProgram(seccomp) }
        #expect(error.description == """
            config.json: linux.seccomp.flags[1]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV applies to SCMP_ACT_NOTIFY, which corebox does not support (no seccomp listener)
            config.json: linux.seccomp.architectures[1]: unknown seccomp architecture "SCMP_ARCH_NOPE"
            config.json: linux.seccomp.architectures[2]: unknown seccomp architecture "x86"
            config.json: linux.seccomp.syscalls[3].errnoRet: must be from 0 to 4095 for SCMP_ACT_ERRNO, got 70000
            config.json: linux.seccomp.syscalls[3].names[1]: unknown syscall "fooo"
            config.json: linux.seccomp.syscalls[4].errnoRet: SCMP_ACT_ALLOW takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do), got 1
            config.json: linux.seccomp.syscalls[5].action: SCMP_ACT_NOTIFY is not supported: corebox has no seccomp listener
            """)

        var badDefault = Self.profile(.kill, errno: 1, [])
        badDefault.architectures = ["SCMP_ARCH_PPC64"] // big-endian: libseccomp will not mix it with x86_64
        let defaultError = try #require(throws: OCISpec.ConfigError.self) { try SeccompProgram(badDefault, file: "bundle/config.json") }
        #expect(defaultError.problems.map(\.path) == ["linux.seccomp.defaultErrnoRet", "linux.seccomp.architectures[0]"])
        #expect(defaultError.description.hasPrefix("bundle/config.json: linux.seccomp.defaultErrnoRet: SCMP_ACT_KILL takes no errno"))
    }

    @Test func theProgramIsNonEmptyAndDeterministic() throws {
        var seccomp = Self.profile(.errno, [
            Self.rule(Self.busyboxCalls, .allow),
            Self.rule(["personality"], .allow, args: [Self.argument(0, .lessOrEqual, 8)]),
            Self.rule(["socketcall"], .allow), // i386 only: a pseudo number on x86_64, left out there
        ])
        seccomp.flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
        let first = try SeccompProgram(seccomp)
        let second = try SeccompProgram(seccomp)
        #expect(first.bytes.count > 0 && first.bytes.count % 8 == 0)
        #expect(Int(first.fprog.pointee.len) * 8 == first.bytes.count)
        #expect(UnsafeRawPointer(first.fprog.pointee.filter) == first.bytes.baseAddress)
        #expect(Array(first.bytes) == Array(second.bytes))
        #expect(first.flags == 1 | 2 | 4)

        // More architectures, more program; a rule with the default action changes nothing.
        var multi = seccomp
        multi.architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        #expect(try SeccompProgram(multi).bytes.count > first.bytes.count)
        let plain = try SeccompProgram(Self.profile(.allow, [Self.rule(["mkdir"], .errno)]))
        let redundant = try SeccompProgram(Self.profile(.allow, [Self.rule(["mkdir"], .errno), Self.rule(["rmdir"], .allow)]))
        #expect(Array(plain.bytes) == Array(redundant.bytes))
        #expect(Array(plain.bytes) != Array(first.bytes))
    }

    @Test func libseccompVersion() {
        let parts = SeccompProgram.libseccompVersion.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil })
        #expect(parts.first.flatMap { Int($0) } == 2)
    }
}
