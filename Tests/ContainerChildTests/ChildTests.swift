import CContainer
import ContainerRuntime
import Foundation
import Glibc
import Testing
import TestSupport

/// The C child path on its own: a busybox root, new namespaces, mounts,
/// the FIFO that holds exec until `start`, and failures reported with
/// their step and errno. Needs root (the machine's tests run as root).
@Suite(.serialized)
struct ChildTests {
    let bundle: TemporaryDirectory
    var rootfs: String { bundle.path + "/rootfs" }
    let output: TemporaryDirectory

    init() throws {
        bundle = try TemporaryDirectory()
        output = try TemporaryDirectory()
        try BusyboxRoot.make(at: bundle.path + "/rootfs")
    }

    struct Outcome {
        let messages: [corebox_child_message]
        let status: Int32
    }

    /// Spawns, reads the messages until the socket closes (`atHooks`
    /// answers the hooks sync), reaps the child.
    func run(_ container: inout corebox_container, afterReady: () -> Void = {},
             atHooks: (_ pid: pid_t, _ syncFD: Int32) -> Void = { _, _ in }) throws -> Outcome {
        var syncFD: Int32 = -1
        let pid = corebox_container_spawn(&container, &syncFD)
        #expect(pid > 0, "spawn: \(String(cString: strerror(errno)))")
        defer { close(syncFD) }
        var messages: [corebox_child_message] = []
        while true {
            var message = corebox_child_message()
            let count = read(syncFD, &message, MemoryLayout<corebox_child_message>.size)
            if count <= 0 { break }
            messages.append(message)
            if message.kind == Int32(COREBOX_CHILD_READY.rawValue) { afterReady() }
            if message.kind == Int32(COREBOX_CHILD_HOOKS.rawValue) { atHooks(pid, syncFD) }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Outcome(messages: messages, status: (status >> 8) & 0xFF)
    }

    func baseContainer(_ strings: ChildMemory, script: String) -> corebox_container {
        var container = corebox_container()
        container.clone_flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWIPC
        container.rootfs = strings.string(rootfs)
        let mounts = [
            corebox_mount(source: strings.string("proc"), destination: strings.string("/proc"), type: strings.string("proc"), data: nil,
                          flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), propagation: 0),
            corebox_mount(source: strings.string(output.path), destination: strings.string("/out"), type: nil, data: nil,
                          flags: UInt(MS_BIND | MS_REC), propagation: 0),
            corebox_mount(source: strings.string("tmpfs"), destination: strings.string("/tmp"), type: strings.string("tmpfs"),
                          data: strings.string("size=1m,mode=1777"), flags: UInt(MS_NOSUID), propagation: 0),
        ]
        container.mounts = strings.buffer(mounts)
        container.mount_count = mounts.count
        container.hostname = strings.string("inside")
        container.umask = -1
        container.exec_fifo_fd = -1
        container.cwd = strings.string("/")
        container.argv = strings.mutableStrings(["sh", "-c", script])
        container.envp = strings.mutableStrings(["PATH=/bin"])
        return container
    }

    func outputFile(_ name: String) throws -> String {
        try String(contentsOfFile: output.path + "/" + name, encoding: .utf8)
    }

    @Test func runsInItsOwnNamespacesAndRoot() throws {
        let strings = ChildMemory()
        var container = baseContainer(strings, script: "hostname > /out/hostname; echo $$ > /out/pid; ls / > /out/root; cat /proc/mounts > /out/mounts; grep ^SigBlk /proc/self/status > /out/blocked")
        let outcome = try run(&container)
        #expect(outcome.status == 0, "\(outcome.messages.map { ($0.stepText, $0.error) })")
        #expect(outcome.messages.map(\.kind) == [Int32(COREBOX_CHILD_READY.rawValue)])
        #expect(try outputFile("hostname") == "inside\n")
        #expect(try outputFile("pid") == "1\n", "the shell is PID 1 of its PID namespace")
        #expect(try outputFile("root").split(separator: "\n").sorted() == ["bin", "dev", "lib", "lib64", "out", "proc", "tmp"].filter {
            FileManager.default.fileExists(atPath: rootfs + "/" + $0)
        })
        // The test runner's threads block SIGTERM; the container starts with nothing blocked.
        #expect(try outputFile("blocked") == "SigBlk:\t0000000000000000\n")
        let mounts = try outputFile("mounts")
        #expect(mounts.contains("proc /proc proc rw,nosuid,nodev,noexec"))
        #expect(mounts.contains("tmpfs /tmp tmpfs rw,nosuid"))
        // The host keeps its own name.
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        #expect(String(cString: name) != "inside")
    }

    @Test func readOnlyRootMaskedPathsCredentialsAndUmask() throws {
        let strings = ChildMemory()
        var container = baseContainer(strings, script: "id > /out/id; umask > /out/umask; touch /x 2> /out/touch; cat /secret > /out/secret 2>&1; ls /hidden > /out/hidden; echo done > /out/done")
        container.readonly_rootfs = 1
        try "key material".write(toFile: rootfs + "/secret", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: rootfs + "/hidden/inside", withIntermediateDirectories: true)
        container.devices = strings.buffer([corebox_device(path: strings.string("/dev/null"), mode: S_IFCHR | 0o666, major: 1, minor: 3, uid: 0, gid: 0)])
        container.device_count = 1
        container.masked_paths = strings.buffer([strings.string("/secret"), strings.string("/hidden"), strings.string("/absent")])
        container.masked_count = 3
        container.uid = 1000
        container.gid = 1000
        container.additional_gids = strings.buffer([gid_t(10), gid_t(20)])
        container.additional_gid_count = 2
        container.umask = 0o027
        #expect(chmod(output.path, 0o777) == 0, "uid 1000 writes the results")
        let outcome = try run(&container)
        #expect(outcome.status == 0, "\(outcome.messages.map { $0.stepText })")
        #expect(try outputFile("id") == "uid=1000 gid=1000 groups=10,20\n")
        #expect(try outputFile("umask") == "0027\n")
        #expect(try outputFile("secret").isEmpty, "a file is masked by /dev/null")
        #expect(try outputFile("hidden").isEmpty, "a directory is masked by an empty tmpfs")
        #expect(try outputFile("touch").contains("Read-only file system"))
        #expect(try outputFile("done") == "done\n")
    }

    /// O_PATH, which Swift's Glibc leaves out (it is a _GNU_SOURCE name).
    static let openPath: Int32 = 0o10000000

    @Test func theFIFOHoldsExecUntilItIsOpened() throws {
        let strings = ChildMemory()
        let fifo = bundle.path + "/exec.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let pathFD = open(fifo, Self.openPath | O_CLOEXEC)
        defer { close(pathFD) }
        var container = baseContainer(strings, script: "echo started > /out/started")
        container.exec_fifo_fd = pathFD
        var startedBeforeOpen = true
        let outcome = try run(&container) {
            // Ready, and not yet started: exec waits for the reader.
            usleep(200_000)
            startedBeforeOpen = FileManager.default.fileExists(atPath: output.path + "/started")
            let reader = open(fifo, O_RDONLY | O_CLOEXEC)
            // READY once the (here no) startContainer hooks have run.
            var answer = corebox_child_message()
            #expect(read(reader, &answer, MemoryLayout<corebox_child_message>.size) == MemoryLayout<corebox_child_message>.size)
            #expect(answer.kind == Int32(COREBOX_CHILD_READY.rawValue))
            close(reader)
        }
        #expect(!startedBeforeOpen)
        #expect(outcome.status == 0)
        #expect(try outputFile("started") == "started\n")
    }

    /// A child with a createContainer hook (a host program) that runs `script`.
    func hookedContainer(_ strings: ChildMemory, script: String) -> corebox_container {
        var container = baseContainer(strings, script: "echo ran > /out/ran")
        container.hooks_sync = 1
        let hook = corebox_hook(path: strings.string("/bin/sh"), argv: strings.mutableStrings(["sh", "-c", script]),
                                envp: strings.mutableStrings(["PATH=/bin:/usr/bin"]), timeout: 0)
        container.create_container_hooks = strings.buffer([hook])
        container.create_container_count = 1
        container.state_buffer = UnsafeMutablePointer(mutating: strings.buffer([CChar](repeating: 0, count: 256)))
        container.state_capacity = 256
        return container
    }

    static let states = Array("{\"status\":\"creating\"}\0{\"status\":\"created\"}\0".utf8)

    @Test func theChildStopsForTheHooksBeforeItsRoot() throws {
        let strings = ChildMemory()
        var container = hookedContainer(strings, script: "cat > \(output.path)/state; readlink /proc/self/ns/mnt > \(output.path)/mnt")
        var rootAtHooks = ""
        var initMount = ""
        let outcome = try run(&container, atHooks: { pid, syncFD in
            // Its mounts are made, its root not yet entered.
            rootAtHooks = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root")) ?? ""
            initMount = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt")) ?? ""
            #expect(send(syncFD, Self.states, Self.states.count, 0) == Self.states.count)
        })
        #expect(outcome.status == 0)
        #expect(outcome.messages.map(\.kind) == [COREBOX_CHILD_HOOKS, COREBOX_CHILD_READY].map { Int32($0.rawValue) })
        #expect(rootAtHooks == "/")
        #expect(try outputFile("state") == "{\"status\":\"creating\"}", "the first state")
        #expect(try outputFile("mnt") == initMount + "\n", "in the init's mount namespace")
        #expect(try outputFile("ran") == "ran\n")
    }

    @Test func aFailingCreateContainerHookIsReported() throws {
        let strings = ChildMemory()
        var container = hookedContainer(strings, script: "echo refused; exit 3")
        let outcome = try run(&container, atHooks: { _, syncFD in _ = send(syncFD, Self.states, Self.states.count, 0) })
        #expect(outcome.status == 1)
        let last = try #require(outcome.messages.last)
        #expect(last.kind == Int32(COREBOX_CHILD_FAILED.rawValue) && last.error == 0)
        #expect(last.stepText == "hooks.createContainer[0] (/bin/sh): exit status 3: refused")
        #expect(!FileManager.default.fileExists(atPath: output.path + "/ran"))

        // No states: the parent went away.
        var unanswered = hookedContainer(strings, script: "true")
        let closed = try run(&unanswered, atHooks: { _, syncFD in shutdown(syncFD, Int32(SHUT_WR)) })
        #expect(closed.messages.last?.stepText == "receive the state for the hooks")
    }

    @Test func aFailedStepIsReportedWithItsErrno() throws {
        let strings = ChildMemory()
        var missing = baseContainer(strings, script: "")
        missing.argv = strings.mutableStrings(["no-such-program"])
        let notFound = try run(&missing)
        #expect(notFound.status == 127)
        let last = try #require(notFound.messages.last)
        #expect(last.kind == Int32(COREBOX_CHILD_FAILED.rawValue))
        #expect(last.error == ENOENT)
        #expect(last.stepText == "exec no-such-program")

        var badMount = baseContainer(strings, script: "true")
        let mount = corebox_mount(source: strings.string("none"), destination: strings.string("/proc"), type: strings.string("nosuchfs"),
                                  data: nil, flags: 0, propagation: 0)
        badMount.mounts = strings.buffer([mount])
        badMount.mount_count = 1
        let failed = try run(&badMount)
        #expect(failed.messages.count == 1)
        #expect(failed.messages.first?.error == ENODEV)
        #expect(failed.messages[0].stepText == "mount /proc")
    }
}

extension corebox_child_message {
    /// The failed step as text.
    var stepText: String {
        Swift.withUnsafeBytes(of: step) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
