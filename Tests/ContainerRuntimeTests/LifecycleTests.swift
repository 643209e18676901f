import CoreboxCore
import Foundation
import Glibc
import OCISpec
import Testing
import TestSupport

@testable import ContainerRuntime

/// The `container` applet's lifecycle, run in-process with a temporary
/// --root on busybox bundles made as `runc spec` makes them. Needs root
/// and cgroups (the machine's tests run as root).
@Suite(.serialized)
final class LifecycleTests {
    static let canRun = getuid() == 0 && (try? Cgroups.detectLayout()) != nil
    /// The issue asks for 1,000 create/delete cycles in the full suite; 100 here keep `make check` short.
    static let cycles = 100

    let root: TemporaryDirectory
    let bundle: TemporaryDirectory
    let output: TemporaryDirectory
    /// Every init a test saw (pid and start time), killed at the end if a failed test left one.
    var inits: [(pid: Int32, startTime: UInt64)] = []

    init() throws {
        root = try TemporaryDirectory()
        bundle = try TemporaryDirectory()
        output = try TemporaryDirectory()
        try BusyboxRoot.make(at: bundle.path + "/rootfs")
    }

    deinit {
        for (pid, startTime) in inits where Liveness.startTime(pid: pid) == startTime {
            _ = kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
        }
    }

    /// Records the container's init for the cleanup; its pid.
    func track(_ state: ContainerState) -> Int32 {
        let pid = Int32(state.pid)
        if let startTime = Liveness.startTime(pid: pid) { inits.append((pid, startTime)) }
        return pid
    }

    // MARK: Helpers

    final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var outText = ""
        private var errorText = ""
        func append(out text: String) { lock.withLock { outText += text } }
        func append(error text: String) { lock.withLock { errorText += text } }
        var out: String { lock.withLock { outText } }
        var error: String { lock.withLock { errorText } }
    }

    struct Result {
        let status: Int32
        let out: String
        let error: String
    }

    func container(_ arguments: String...) -> Result {
        container(arguments)
    }

    func container(_ arguments: [String]) -> Result {
        let captured = Captured()
        let status = ContainerApplet.run(
            ["--root", root.path] + arguments, layout: Layout(root: root.path),
            output: Output(out: { captured.append(out: $0) }, error: { captured.append(error: $0) }))
        return Result(status: status, out: captured.out, error: captured.error)
    }

    /// `runc spec` running `sh -c script`, with /out bound to `output`.
    func config(_ script: String, args: [String]? = nil) -> ContainerConfig {
        var config = ContainerConfig.runcDefault()
        config.process!.terminal = false
        config.process!.args = args ?? ["sh", "-c", script]
        config.process!.env = ["PATH=/bin"]
        // A "cgroup" mount needs per-hierarchy handling on a cgroup v1 host, which the child does not do.
        config.mounts.removeAll { $0.destination == "/sys/fs/cgroup" }
        var out = Mount()
        (out.destination, out.type, out.source, out.options) = ("/out", "bind", output.path, ["rbind"])
        config.mounts.append(out)
        return config
    }

    func write(_ config: ContainerConfig) throws {
        try config.json().write(toFile: bundle.path + "/config.json", atomically: false, encoding: .utf8)
    }

    func state(_ id: String) throws -> ContainerState {
        let result = container("state", id)
        try #require(result.status == 0, "state: \(result.error)")
        return try ContainerState.decode(Array(result.out.utf8))
    }

    /// Polls `state` until it reports `status`.
    func wait(_ id: String, for status: ContainerStatus) async throws -> ContainerState {
        for _ in 0..<500 {
            let current = try state(id)
            if current.status == status { return current }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try state(id)
    }

    /// The cgroup directories a container with this config and id has.
    func cgroupDirectories(_ config: ContainerConfig, id: String) throws -> [String] {
        let layout = try #require(try Cgroups.detectLayout())
        let plan = try CgroupPlanner.plan(resources: ContainerCreation.resources(config), cgroupsPath: "", id: id, layout: layout)
        return plan.directories.map(\.path)
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Nothing of `id` left: no state directory, no cgroup, no process.
    func expectGone(_ id: String, _ config: ContainerConfig, pid: Int32? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(!exists(root.path + "/" + id), "state directory left", sourceLocation: sourceLocation)
        for directory in try cgroupDirectories(config, id: id) {
            #expect(!exists(directory), "cgroup left: \(directory)", sourceLocation: sourceLocation)
        }
        if let pid { #expect(Liveness.stat(pid: pid) == nil, "process \(pid) left", sourceLocation: sourceLocation) }
    }

    func outputFile(_ name: String) -> String? { try? String(contentsOfFile: output.path + "/" + name, encoding: .utf8) }

    // MARK: Lifecycle

    @Test(.enabled(if: canRun)) func createStartStopDelete() async throws {
        let config = config("echo ran > /out/ran")
        try write(config)
        let created = container("create", "--bundle", bundle.path, "--pid-file", output.path + "/pid", "one")
        try #require(created.status == 0, "\(created.error)")
        let createdState = try state("one")
        let pid = track(createdState)
        #expect(createdState.status == .created && createdState.pid > 0)
        #expect(createdState.bundle == bundle.path && createdState.rootfs.hasSuffix("/rootfs") && createdState.id == "one")
        #expect(outputFile("pid") == String(createdState.pid))
        #expect(outputFile("ran") == nil, "ran before start")
        for directory in try cgroupDirectories(config, id: "one") {
            let procs = try String(contentsOfFile: directory + "/cgroup.procs", encoding: .utf8)
            #expect(procs.split(separator: "\n").contains(Substring(String(createdState.pid))), "\(directory)")
        }
        let list = container("list")
        #expect(list.out.hasPrefix("ID          PID         STATUS      BUNDLE") && list.out.contains("one         \(createdState.pid)"))
        #expect(container("list", "-f", "json").out.contains("\"status\":\"created\""))
        // Created, not running: delete without --force must not refuse it, but start first.
        #expect(container("start", "one").status == 0)
        #expect(container("start", "one").status != 0, "started twice")
        let stopped = try await wait("one", for: .stopped)
        #expect(stopped.status == .stopped && stopped.pid == 0)
        #expect(outputFile("ran") == "ran\n")
        let deleted = container("delete", "one")
        #expect(deleted.status == 0, "\(deleted.error)")
        try expectGone("one", config, pid: pid)
        #expect(container("state", "one").status != 0)
        #expect(container("delete", "--force", "one").status == 0, "deleting a missing container with --force")
        #expect(container("delete", "one").status != 0)
    }

    @Test(.enabled(if: canRun)) func aReusedPidIsStopped() throws {
        let config = config("true")
        try write(config)
        #expect(container("create", "-b", bundle.path, "reused").status == 0)
        let pid = track(try state("reused"))
        let directory = try ContainerDirectory(root: root.path, id: "reused")
        let record = try #require(directory.runtimeRecord())
        // The same pid with another start time is another process.
        try directory.saveRuntime(RuntimeRecord(startTime: record.startTime + 1, layout: record.layout, cgroupsPath: record.cgroupsPath))
        #expect(try state("reused").status == .stopped)
        #expect(container("kill", "reused", "KILL").status != 0)
        #expect(Liveness.isAlive(pid: pid, startTime: record.startTime), "the other process was left alone")
        try directory.saveRuntime(record)
        #expect(try state("reused").status == .created)
        #expect(container("delete", "reused").status == 0)
        try expectGone("reused", config, pid: pid)
    }

    /// The init waiting at the FIFO keeps none of the runtime's descriptors:
    /// here the write end of a pipe the test process had open at `create`
    /// (another thread's file or socket, in a real multi-threaded caller).
    /// The program it execs has only stdio.
    @Test(.enabled(if: canRun)) func theWaitingInitHoldsNoDescriptorOfTheRuntime() throws {
        let config = config("", args: ["sleep", "1000"])
        try write(config)
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        ends.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
        defer { close(ends[0]) }
        let created = container("create", "-b", bundle.path, "holds")
        try #require(created.status == 0, "\(created.error)")
        let pid = track(try state("holds"))
        close(ends[1])
        var byte: UInt8 = 0
        // 0 is end of file: no writer is left. The init holding a copy would make it EAGAIN.
        #expect(read(ends[0], &byte, 1) == 0, "the init holds the pipe's write end (errno \(errno))")
        #expect(container("start", "holds").status == 0)
        // `start` returns once the init is released; its exec comes just after.
        for _ in 0..<1000 where (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) != "sleep\n" { usleep(10_000) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").sorted() == ["0", "1", "2"])
        #expect(container("delete", "-f", "holds").status == 0)
        try expectGone("holds", config, pid: pid)
    }

    @Test(.enabled(if: canRun)) func runPropagatesTheExitStatus() throws {
        let config = config("echo out > /out/run; exit 7")
        try write(config)
        let result = container("run", "-b", bundle.path, "exits")
        #expect(result.status == 7, "\(result.error)")
        #expect(outputFile("run") == "out\n")
        try expectGone("exits", config)
    }

    @Test(.enabled(if: canRun)) func killASleepingContainer() async throws {
        let config = config("", args: ["sleep", "100"])
        try write(config)
        #expect(container("run", "-d", "-b", bundle.path, "sleeper").status == 0)
        let running = try state("sleeper")
        let pid = track(running)
        #expect(running.status == .running)
        #expect(container("kill", "sleeper", "NOSUCHSIGNAL").status != 0)
        let killed = container("kill", "sleeper", "KILL")
        #expect(killed.status == 0, "\(killed.error)")
        #expect(try await wait("sleeper", for: .stopped).status == .stopped)
        #expect(container("kill", "sleeper", "9").status != 0, "killing a stopped container")
        #expect(container("delete", "sleeper").status == 0)
        try expectGone("sleeper", config, pid: pid)
    }

    @Test(.enabled(if: canRun)) func deleteForceOfARunningContainer() throws {
        let config = config("", args: ["sleep", "100"])
        try write(config)
        #expect(container("run", "--detach", "--bundle", bundle.path, "busy").status == 0)
        let running = try state("busy")
        let pid = track(running)
        let refused = container("delete", "busy")
        #expect(refused.status != 0 && refused.error.contains("not stopped: running"), "\(refused.error)")
        #expect(try state("busy").status == .running)
        let forced = container("delete", "-f", "busy")
        #expect(forced.status == 0, "\(forced.error)")
        try expectGone("busy", config, pid: pid)
    }

    // MARK: Errors leave nothing behind

    @Test(.enabled(if: canRun)) func aBadConfigFieldIsNamed() throws {
        var config = config("true")
        config.process!.rlimits[0].type = "RLIMIT_NOPE"
        try write(config)
        let result = container("create", "-b", bundle.path, "bad")
        #expect(result.status == 1)
        #expect(result.error.contains("config.json: process.rlimits[0].type"), "\(result.error)")
        try expectGone("bad", config)

        try "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": 3}}".write(toFile: bundle.path + "/config.json", atomically: false, encoding: .utf8)
        let decoding = container("create", "-b", bundle.path, "bad")
        #expect(decoding.status == 1 && decoding.error.contains("root.path"), "\(decoding.error)")
        #expect(!exists(root.path + "/bad"))

        // The cgroups path is a line of the state directory's record: a newline would break it.
        var newline = self.config("true")
        newline.linux!.cgroupsPath = "/a\nb"
        try write(newline)
        let path = container("create", "-b", bundle.path, "bad")
        #expect(path.status == 1 && path.error.contains("linux.cgroupsPath: holds a newline"), "\(path.error)")
        #expect(!exists(root.path + "/bad"))
    }

    @Test(.enabled(if: canRun)) func aMissingRootfs() throws {
        var config = config("true")
        config.root.path = "nowhere"
        try write(config)
        let result = container("create", "-b", bundle.path, "norootfs")
        #expect(result.status == 1 && result.error.contains("root.path") && result.error.contains("nowhere"), "\(result.error)")
        try expectGone("norootfs", config)
    }

    @Test(.enabled(if: canRun)) func aMissingProgramFailsCreate() throws {
        let config = config("", args: ["/bin/no-such-program"])
        try write(config)
        let result = container("create", "-b", bundle.path, "noprogram")
        #expect(result.status == 1)
        #expect(result.error == "container: exec /bin/no-such-program: No such file or directory\n", "\(result.error)")
        try expectGone("noprogram", config)
        let run = container("run", "-b", bundle.path, "noprogram")
        #expect(run.status == 1)
        try expectGone("noprogram", config)
    }

    /// A program some process holds open for writing cannot be executed:
    /// the init tries again for a while (a fork of a multi-threaded writer
    /// holds it only until its own exec), then fails as exec fails.
    @Test(.enabled(if: canRun)) func aProgramOpenForWritingFailsAfterRetries() async throws {
        let program = bundle.path + "/rootfs/bin/busy"
        try Tools.run(["cp", bundle.path + "/rootfs/bin/busybox", program])
        let writer = open(program, O_WRONLY | O_CLOEXEC)
        try #require(writer >= 0)
        defer { close(writer) }
        try write(config("", args: ["/bin/busy", "true"]))
        #expect(container("create", "-b", bundle.path, "busy").status == 0)
        let pid = track(try state("busy"))
        #expect(container("start", "busy").status == 0)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        #expect(status >> 8 & 0xFF == 126)
        #expect(container("delete", "busy").status == 0)
    }

    @Test(.enabled(if: canRun)) func usageErrors() throws {
        try write(config("true"))
        #expect(container("create").status != 0)
        #expect(container("create", "-b", bundle.path, "../escape").error.contains("invalid container id"))
        #expect(container("--systemd-cgroup", "create", "-b", bundle.path, "x").error.contains("systemd"))
        #expect(container("create", "--console-socket", "/x", "-b", bundle.path, "x").error.contains("console-socket"))
        #expect(container("frobnicate").status != 0)
        #expect(!exists(root.path + "/x"))
        #expect(container("start", "missing").error == "container: container does not exist: missing\n")
    }

    // MARK: Hooks

    func hook(_ script: String) -> Hook {
        var hook = Hook()
        (hook.path, hook.args, hook.env) = ("/bin/sh", ["sh", "-c", script], ["PATH=/bin:/usr/bin"])
        return hook
    }

    @Test(.enabled(if: canRun)) func hooksGetTheStateOnStdin() async throws {
        var config = config("true")
        var hooks = Hooks()
        hooks.createRuntime = [hook("cat > \(output.path)/createRuntime")]
        hooks.poststart = [hook("cat > \(output.path)/poststart")]
        hooks.poststop = [hook("cat > \(output.path)/poststop")]
        config.hooks = hooks
        try write(config)
        #expect(container("run", "-b", bundle.path, "hooked").status == 0)
        for (name, status) in [("createRuntime", "creating"), ("poststart", "running"), ("poststop", "stopped")] {
            let state = try ContainerState.decode(Array((outputFile(name) ?? "").utf8))
            #expect(state.id == "hooked" && state.status.rawValue == status && state.bundle == bundle.path, "\(name)")
        }
        try expectGone("hooked", config)

        config.hooks!.createRuntime = [hook("echo refused; exit 3")]
        try write(config)
        let failed = container("create", "-b", bundle.path, "hooked")
        #expect(failed.status == 1 && failed.error.contains("hooks.createRuntime[0]") && failed.error.contains("exit status 3: refused"), "\(failed.error)")
        try expectGone("hooked", config)
    }

    // MARK: Against runc

    /// Runs runc with its own --root; its stdout.
    func runc(_ runcRoot: String, _ arguments: String...) async throws -> String {
        try await runc(runcRoot, arguments)
    }

    func runc(_ runcRoot: String, _ arguments: [String]) async throws -> String {
        let process = try ChildProcess("/usr/sbin/runc", ["--root", runcRoot] + arguments)
        let status = try await process.exitStatus(within: .seconds(30))
        try #require(status == 0, "runc \(arguments): \(process.stderr)")
        return process.stdout
    }

    static func keys(_ json: String) throws -> [String] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return object.keys.sorted()
    }

    @Test(.enabled(if: canRun && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc")))
    func theSameStateAsRunc() async throws {
        let runcRoot = try TemporaryDirectory()
        try write(config("sleep 0.3; echo done > /out/done"))
        var ours: [String] = []
        var theirs: [String] = []

        #expect(container("create", "-b", bundle.path, "same").status == 0)
        ours.append(container("state", "same").out)
        _ = track(try state("same"))
        #expect(container("start", "same").status == 0)
        ours.append(container("state", "same").out)
        _ = try await wait("same", for: .stopped)
        ours.append(container("state", "same").out)
        #expect(container("delete", "same").status == 0)

        _ = try await runc(runcRoot.path, "create", "-b", bundle.path, "same")
        theirs.append(try await runc(runcRoot.path, "state", "same"))
        _ = try await runc(runcRoot.path, "start", "same")
        theirs.append(try await runc(runcRoot.path, "state", "same"))
        for _ in 0..<500 where !(try await runc(runcRoot.path, "state", "same")).contains("\"stopped\"") {
            try await Task.sleep(for: .milliseconds(10))
        }
        theirs.append(try await runc(runcRoot.path, "state", "same"))
        _ = try await runc(runcRoot.path, "delete", "same")

        for (our, their) in zip(ours, theirs) {
            #expect(try Self.keys(our) == Self.keys(their))
            let ourState = try ContainerState.decode(Array(our.utf8))
            let theirState = try ContainerState.decode(Array(their.utf8))
            #expect(ourState.status == theirState.status && ourState.bundle == theirState.bundle && ourState.rootfs == theirState.rootfs)
            #expect((ourState.pid == 0) == (theirState.pid == 0))
            // Both print the JSON the same way: two-space indent, no final newline.
            #expect(our.hasSuffix("}") && their.hasSuffix("}") && our.contains("\n  \"id\": \"same\","))
        }
        #expect(ours.count == 3 && theirs.count == 3)
        #expect(try ContainerState.decode(Array(ours[0].utf8)).status == .created)
        #expect(try ContainerState.decode(Array(ours[2].utf8)).status == .stopped)
    }

    /// `update` through the applet and through runc on the same config
    /// and flags, each container in its own cgroup: the files read the
    /// same afterwards, runc's and ours.
    @Test(.enabled(if: canRun && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc")))
    func updateChangesTheLimitsAsRuncDoes() async throws {
        let runcRoot = try TemporaryDirectory()
        let layout = try #require(try Cgroups.detectLayout())
        let unique = "corebox-update-\(getpid())"
        var base = config("sleep 30")
        base.linux!.resources = Resources()
        base.linux!.resources!.memory = Memory()
        base.linux!.resources!.memory!.limit = 64 << 20
        base.linux!.resources!.pids = Pids()
        base.linux!.resources!.pids!.limit = 20
        let document = output.path + "/resources.json"
        try #"{"memory": {"limit": 209715200, "swap": 314572800}, "cpu": {"shares": 256}, "devices": [{"allow": false, "access": "rwm"}]}"#
            .write(toFile: document, atomically: false, encoding: .utf8)
        let flags = ["--pids-limit", "40", "--cpu-share", "1024", "--cpu-quota", "30000", "--cpu-period", "60000", "--blkio-weight", "300"]

        var files: [[String: String]] = []
        for runtime in ["container", "runc"] {
            var config = base
            config.linux!.cgroupsPath = "/\(unique)-\(runtime)"
            try write(config)
            let plan = try CgroupPlanner.plan(resources: nil, cgroupsPath: config.linux!.cgroupsPath, id: runtime, layout: layout)
            if runtime == "container" {
                #expect(container("create", "-b", bundle.path, "upd").status == 0)
                _ = track(try state("upd"))
                for arguments in [flags, ["-r", document], ["--memory", "100m"]] {
                    let result = container(["update"] + arguments + ["upd"])
                    #expect(result.status == 0, "update \(arguments): \(result.error)")
                }
            } else {
                _ = try await runc(runcRoot.path, "create", "-b", bundle.path, "upd")
                for arguments in [flags, ["-r", document], ["--memory", "100m"]] {
                    _ = try await runc(runcRoot.path, ["update"] + arguments + ["upd"])
                }
            }
            var read: [String: String] = [:]
            for directory in plan.directories {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
                where ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.max", "memory.swap.max", "pids.max",
                       "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.weight", "cpu.max",
                       "blkio.weight", "blkio.bfq.weight", "io.bfq.weight", "io.weight", "devices.list"].contains(name) {
                    let text = try Cgroups.readText(directory.path + "/" + name)
                    // The kernel lists device rules in the order written; runc sorts its own.
                    read[name] = name == "devices.list" ? text.split(separator: "\n").sorted().joined(separator: "\n") : text
                }
            }
            files.append(read)
            if runtime == "container" {
                #expect(container("delete", "--force", "upd").status == 0)
            } else {
                _ = try await runc(runcRoot.path, "delete", "--force", "upd")
            }
        }
        #expect(files[0] == files[1])
        // The last update lowered memory below what memsw had been raised to, so it went first.
        #expect(files[0]["memory.limit_in_bytes"].map { $0 == String(100 << 20) } ?? (files[0]["memory.max"] == String(100 << 20)))
        #expect(files[0]["pids.max"] == "40")
        // The device rules are create's, untouched by the document's deny-all.
        if let devices = files[0]["devices.list"] { #expect(devices.contains("c 1:3 rwm")) }

        // A stopped container has no limits to change; a missing one is named.
        try write(config("true"))
        #expect(container("create", "-b", bundle.path, "done").status == 0)
        _ = track(try state("done"))
        #expect(container("start", "done").status == 0)
        _ = try await wait("done", for: .stopped)
        let stopped = container("update", "--memory", "1g", "done")
        #expect(stopped.status == 1 && stopped.error == "container: container not running\n")
        #expect(container("delete", "done").status == 0)
        #expect(container("update", "--memory", "1g", "nosuch").error == "container: container does not exist: nosuch\n")
        #expect(container("update", "--memory", "lots", "nosuch").error.contains("invalid value for memory: invalid size: 'lots'"))
    }

    // MARK: Many cycles

    @Test(.enabled(if: canRun)) func createDeleteCyclesLeaveNothing() throws {
        let good = config("true")
        let bad = config("", args: ["/bin/no-such-program"])
        for cycle in 0..<Self.cycles {
            let failing = cycle % 4 == 3
            try write(failing ? bad : good)
            let id = "cycle\(cycle)"
            let created = container("create", "-b", bundle.path, id)
            var pid: Int32?
            if failing {
                #expect(created.status == 1)
            } else {
                #expect(created.status == 0, "\(created.error)")
                pid = track(try state(id))
                #expect(container("delete", id).status == 0)
            }
            try expectGone(id, good, pid: pid)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).isEmpty)
    }

    // MARK: The other commands

    @Test func signalNames() throws {
        #expect(try Signals.number("TERM") == SIGTERM)
        #expect(try Signals.number("SIGKILL") == SIGKILL)
        #expect(try Signals.number("sigusr1") == SIGUSR1)
        #expect(try Signals.number("15") == 15)
        #expect(try Signals.number("RTMIN+2") == 36)
        #expect(throws: CommandError.self) { try Signals.number("0") }
        #expect(throws: CommandError.self) { try Signals.number("SIGNOPE") }
    }

    @Test func versionFeaturesAndSpec() throws {
        let version = container("--version")
        #expect(version.out == "container version \(Corebox.version)\nspec: 1.0.2-dev\nlibseccomp: \(SeccompProgram.libseccompVersion)\n")
        let features = try RuntimeFeatures.decode(Array(container("features").out.utf8))
        #expect(features.ociVersionMax == "1.0.2-dev" && features.annotations["io.github.seccomp.libseccomp.version"] == SeccompProgram.libseccompVersion)
        let directory = try TemporaryDirectory()
        #expect(container("spec", "-b", directory.path).status == 0)
        let written = try ContainerConfig.decode(Array(try Data(contentsOf: URL(fileURLWithPath: directory.path + "/config.json"))))
        #expect(written.process?.args == ["sh"] && written.root.path == "rootfs")
        let again = container("spec", "--bundle", directory.path)
        #expect(again.status == 1 && again.error.contains("exists"))
        let rootless = try TemporaryDirectory()
        #expect(container("spec", "--rootless", "-b", rootless.path).status == 0)
        let rootlessConfig = try ContainerConfig.decode(Array(try Data(contentsOf: URL(fileURLWithPath: rootless.path + "/config.json"))))
        #expect(rootlessConfig.linux?.uidMappings.first?.hostID == geteuid())
    }

    @Test func listTable() {
        let text = ContainerCommands.table([["ID", "PID", "OWNER"], ["a-much-longer-id", "1", "root"]])
        // Each column as wide as its widest cell plus 3, at least 12.
        #expect(text == "ID                 PID         OWNER\na-much-longer-id   1           root\n")
    }

    @Test func logFileFormats() throws {
        let directory = try TemporaryDirectory()
        _ = container("--log", directory.path + "/log.json", "--log-format", "json", "state", "missing")
        let line = try String(contentsOfFile: directory.path + "/log.json", encoding: .utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["level"] == "error" && object["msg"] == "container does not exist: missing" && object["time"] != nil)
        _ = container("--log", directory.path + "/log.text", "state", "missing")
        let text = try String(contentsOfFile: directory.path + "/log.text", encoding: .utf8)
        #expect(text.hasPrefix("time=\"") && text.hasSuffix(" level=error msg=\"container does not exist: missing\"\n"))
    }
}
