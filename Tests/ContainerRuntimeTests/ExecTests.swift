import CoreboxCore
import Foundation
import Glibc
import OCISpec
import Testing
import TestSupport

@testable import ContainerRuntime

/// `exec`, `ps`, `pause`/`resume` and pid namespace joins, in the
/// lifecycle suite (its temporary root, bundle and cleanup).
extension LifecycleTests {
    static let hasRunc = FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc")

    /// A detached `sleep` container; its init's pid.
    func sleeper(_ id: String, _ config: ContainerConfig? = nil) throws -> Int32 {
        try write(config ?? self.config("", args: ["sleep", "1000"]))
        let result = container("run", "-d", "-b", bundle.path, id)
        try #require(result.status == 0, "\(result.error)")
        return track(try state(id))
    }

    func namespace(_ pid: Int32, _ kind: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(kind)")
    }

    /// The pids in every cgroup of the container.
    func cgroupPids(_ config: ContainerConfig, id: String) throws -> [Set<Int32>] {
        try cgroupDirectories(config, id: id).map { directory in
            Set(try String(contentsOfFile: directory + "/cgroup.procs", encoding: .utf8).split(separator: "\n").compactMap { Int32($0) })
        }
    }

    /// The single-letter state of /proc/PID/status ("S", "D", ...).
    func processState(_ pid: Int32) -> String? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix("State:") }?.split(separator: "\t").last.map { String($0.prefix(1)) }
    }

    /// Kills and reaps a detached exec, this process's child: until it is
    /// reaped the container's init cannot finish dying (its pid namespace
    /// waits for every member), which a `runc exec` that exits avoids.
    func reap(_ pid: Int32) {
        _ = kill(pid, SIGKILL)
        _ = waitpid(pid, nil, 0)
    }

    // MARK: exec

    @Test(.enabled(if: canRun)) func execRunsInTheContainer() throws {
        let config = config("", args: ["sleep", "1000"])
        let initPID = try sleeper("target", config)

        let echoed = container("exec", "target", "sh", "-c", "echo $$ in $(hostname) > /out/exec")
        #expect(echoed.status == 0, "\(echoed.error)")
        // The container's pid namespace: its init is 1, so the exec'd shell is not.
        let line = try #require(outputFile("exec"))
        #expect(line.hasSuffix(" in runc\n") && !line.hasPrefix("1 "), "\(line)")
        #expect(container("exec", "target", "sh", "-c", "exit 7").status == 7)
        #expect(container("exec", "target", "sh", "-c", "kill -9 $$").status == 128 + 9)

        chmod(output.path, 0o777) // for uid 1000
        let overridden = container("exec", "-e", "FOO=bar", "--env", "PATH=/bin:/sbin", "--cwd", "/tmp", "-u", "1000:100", "-g", "10",
                                   "target", "sh", "-c", "echo $FOO $PATH $(pwd) $(id) > /out/override")
        #expect(overridden.status == 0, "\(overridden.error)")
        #expect(outputFile("override") == "bar /bin:/sbin /tmp uid=1000 gid=100 groups=10\n")

        let process = #"{"args": ["sh", "-c", "echo $FROM $(pwd) > /out/process"], "env": ["PATH=/bin", "FROM=file"], "cwd": "/proc", "user": {"uid": 0, "gid": 0}}"#
        try process.write(toFile: output.path + "/process.json", atomically: false, encoding: .utf8)
        #expect(container("exec", "--process", output.path + "/process.json", "target").status == 0)
        #expect(outputFile("process") == "file /proc\n")

        let detached = container("exec", "-d", "--pid-file", output.path + "/exec.pid", "target", "sleep", "1000")
        #expect(detached.status == 0, "\(detached.error)")
        let pid = try #require(outputFile("exec.pid").flatMap { Int32($0) })
        #expect(namespace(pid, "pid") == namespace(initPID, "pid") && namespace(pid, "mnt") == namespace(initPID, "mnt"))
        #expect(namespace(pid, "pid") != namespace(getpid(), "pid"))
        for pids in try cgroupPids(config, id: "target") { #expect(pids.contains(pid) && pids.contains(initPID)) }
        reap(pid)

        let missing = container("exec", "target", "no-such-program")
        #expect(missing.status == 255 && missing.error.contains("exec no-such-program: No such file or directory"), "\(missing.error)")
        #expect(container("exec", "target").error.contains("process args cannot be empty"))
        #expect(container("exec", "-u", "root", "target", "true").error.contains("--user"))
        #expect(container("exec", "nobody", "true").error.contains("container does not exist"))
        #expect(container("delete", "-f", "target").status == 0)
        try expectGone("target", config, pid: initPID)
    }

    @Test func execFlagsApplyToTheConfigsProcess() throws {
        var base = ContainerConfig.runcDefault().process!
        base.env = ["PATH=/bin", "TERM=xterm"]
        func process(_ arguments: [String]) throws(CommandError) -> ContainerProcess {
            let parsed = try! GoFlags(arguments, values: ContainerExec.values, flags: ContainerExec.flags, aliases: ContainerExec.aliases,
                                      stopAtPositional: true)
            return try ContainerExec.process(parsed, command: Array(parsed.positionals.dropFirst()), config: base)
        }
        let plain = try process(["id", "sh", "-c", "true"])
        #expect(plain.args == ["sh", "-c", "true"] && !plain.terminal && plain.env == base.env && plain.user == base.user)
        let flagged = try process(["-e", "A=1", "--env", "A=2", "-u", "7:8", "-g", "9", "-g", "10", "-c", "CAP_NET_RAW", "--cwd", "/tmp",
                                   "-t", "--no-new-privs", "id", "ls"])
        #expect(flagged.env == base.env + ["A=1", "A=2"] && flagged.cwd == "/tmp" && flagged.terminal && flagged.noNewPrivileges)
        #expect(flagged.user.uid == 7 && flagged.user.gid == 8 && flagged.user.additionalGids == [9, 10])
        let capabilities = try #require(flagged.capabilities)
        for set in [capabilities.bounding, capabilities.effective, capabilities.permitted, capabilities.ambient] {
            #expect(set.last == "CAP_NET_RAW")
        }
        #expect(!capabilities.inheritable.contains("CAP_NET_RAW"), "runc leaves the inheritable set alone")
        #expect(try process(["-u", "5", "id", "ls"]).user.gid == base.user.gid)
        #expect(throws: CommandError.self) { try process(["-u", "nobody", "id", "ls"]) }
        #expect(throws: CommandError.self) { try process(["--cwd", "tmp", "id", "ls"]) }
        // runc sets the variables one by one: one of each name, the last value, the first place.
        #expect(ChildConfiguration.environment(["A=1", "B=2", "A=3", "C", "B="]) == ["A=3", "B=", "C"])
    }

    @Test(.enabled(if: canRun)) func execPassesOnTheSignalsItGets() throws {
        _ = try sleeper("signalled")
        // Sent to the thread that runs exec, as a terminal's ^C reaches runc.
        let execThread = pthread_self()
        let started = output.path + "/started"
        let sender = Thread {
            for _ in 0..<3000 where !FileManager.default.fileExists(atPath: started) { usleep(10_000) }
            pthread_kill(execThread, SIGTERM)
        }
        sender.start()
        // Killed by the forwarded SIGTERM, not after its 30 s.
        let result = container("exec", "signalled", "sh", "-c", "touch /out/started; exec sleep 30")
        #expect(result.status == 128 + SIGTERM, "\(result.error)")
        #expect(container("delete", "-f", "signalled").status == 0)
    }

    @Test(.enabled(if: canRun)) func execIntoAStoppedContainerFails() async throws {
        let config = config("true")
        try write(config)
        #expect(container("run", "-d", "-b", bundle.path, "done").status == 0)
        _ = track(try state("done"))
        #expect(try await wait("done", for: .stopped).status == .stopped)
        let refused = container("exec", "done", "true")
        #expect(refused.status == 255 && refused.error == "container: exec: cannot exec in a stopped container\n", "\(refused.error)")
        #expect(container("delete", "done").status == 0)
    }

    /// The same exec with the same flags in a runc container and in ours:
    /// the same environment, directory, identity, capabilities and seccomp.
    @Test(.enabled(if: canRun && hasRunc)) func execLikeRunc() async throws {
        let runcRoot = try TemporaryDirectory()
        let config = config("", args: ["sleep", "1000"])
        try write(config)
        func script(_ name: String) -> String {
            "(env | sort; pwd; id; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; cat /proc/self/cgroup | wc -l) > /out/\(name)"
        }
        chmod(output.path, 0o777) // for uid 1000
        let flags = ["-e", "FOO=1", "-e", "FOO=2", "--cwd", "/tmp", "-u", "1000:1000", "--cap", "CAP_NET_RAW", "--no-new-privs"]

        _ = try await runc(runcRoot.path, "run", "-d", "-b", bundle.path, "theirs")
        let exec = try ChildProcess("/usr/sbin/runc", ["--root", runcRoot.path, "exec"] + flags + ["theirs", "sh", "-c", script("runc")])
        #expect(try await exec.exitStatus(within: .seconds(30)) == 0, "\(exec.stderr)")
        _ = try await runc(runcRoot.path, "delete", "-f", "theirs")

        _ = try sleeper("ours", config)
        let ours = container(["exec"] + flags + ["ours", "sh", "-c", script("ours")])
        #expect(ours.status == 0, "\(ours.error)")
        #expect(container("delete", "-f", "ours").status == 0)
        let theirs = try #require(outputFile("runc"))
        #expect(theirs.contains("FOO=2") && theirs.contains("uid=1000"))
        // HOME too: both set it from the container's passwd ("/" without one).
        #expect(theirs.contains("HOME=/\n"))
        #expect(outputFile("ours") == theirs)
    }

    /// `exec --cgroup`: the process in sub-cgroups that exist, for every
    /// hierarchy or by controller, as runc puts it (its /proc/self/cgroup).
    @Test(.enabled(if: canRun && hasRunc)) func execIntoSubCgroupsLikeRunc() async throws {
        let runcRoot = try TemporaryDirectory()
        let config = config("", args: ["sleep", "1000"])
        try write(config)
        _ = try await runc(runcRoot.path, "run", "-d", "-b", bundle.path, "subtheirs")
        _ = try sleeper("subours", config)
        for id in ["subtheirs", "subours"] {
            for directory in try cgroupDirectories(config, id: id) {
                var parent = directory
                for sub in ["a", "a/b"] {
                    let path = directory + "/" + sub
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                    // A new v1 cpuset has no CPUs or memory nodes: nothing could join it.
                    for file in ["cpuset.cpus", "cpuset.mems"] where exists(parent + "/" + file) {
                        try String(contentsOfFile: parent + "/" + file, encoding: .utf8).write(toFile: path + "/" + file, atomically: false, encoding: .utf8)
                    }
                    parent = path
                }
            }
        }
        // Per controller only where controllers have hierarchies of their own (v1, hybrid).
        var forms = [["--cgroup", "a/b"]]
        if case .unified? = try Cgroups.detectLayout() {} else { forms.append(["--cgroup", "memory,pids:a", "--cgroup", "cpu:/a/b"]) }
        for (index, flags) in forms.enumerated() {
            let command = ["sh", "-c", "cat /proc/self/cgroup > /out/cgroups"]
            let exec = try ChildProcess("/usr/sbin/runc", ["--root", runcRoot.path, "exec"] + flags + ["subtheirs"] + command)
            #expect(try await exec.exitStatus(within: .seconds(30)) == 0, "\(exec.stderr)")
            let theirs = try #require(outputFile("cgroups"))
            let ours = container(["exec"] + flags + ["subours"] + command)
            #expect(ours.status == 0, "\(ours.error)")
            let cgroups = try #require(outputFile("cgroups"))
            #expect(cgroups == theirs.replacingOccurrences(of: "/subtheirs", with: "/subours"), "form \(index)")
            #expect(cgroups.contains("/subours/a"), "form \(index): \(cgroups)")
        }
        for (flags, message) in [
            (["--cgroup", "nosuch"], "cgroup.procs"), (["--cgroup", "foo:a"], "the container has no foo cgroup"),
            (["--cgroup", "../a"], "bad sub cgroup path: ../a"), (["--cgroup", "a", "--cgroup", "b"], "(missing <controller>: prefix)"),
            (["--cgroup", ",cpu:a"], "(empty <controller> prefix)"), (["--cgroup", "cpu:a", "--cgroup", "cpu:a/b"], "controller cpu specified multiple times"),
        ] {
            let refused = container(["exec"] + flags + ["subours", "true"])
            #expect(refused.status != 0 && refused.error.contains(message), "\(flags): \(refused.error)")
        }
        _ = try await runc(runcRoot.path, "delete", "-f", "subtheirs")
        #expect(container("delete", "-f", "subours").status == 0)
        for id in ["subtheirs", "subours"] {
            for directory in try cgroupDirectories(config, id: id) { #expect(!exists(directory), "\(directory) left") }
        }
    }

    // MARK: pid namespace join

    @Test(.enabled(if: canRun)) func joinAPidNamespace() throws {
        let host = try sleeper("host")
        var joining = config("echo $$ > /out/joined; exec sleep 1000")
        joining.linux!.namespaces = joining.linux!.namespaces.map { namespace in
            var namespace = namespace
            if namespace.type == .pid { namespace.path = "/proc/\(host)/ns/pid" }
            return namespace
        }
        try write(joining)
        let result = container("run", "-d", "-b", bundle.path, "guest")
        #expect(result.status == 0, "\(result.error)")
        let guest = try state("guest")
        let pid = track(guest)
        #expect(guest.status == .running)
        // The pid in the state is the process that went on, in the host's namespace.
        #expect(namespace(pid, "pid") == namespace(host, "pid"))
        for _ in 0..<500 where (outputFile("joined") ?? "").isEmpty { usleep(10_000) }
        let inside = try #require(outputFile("joined").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(inside > 1, "the host container's init is 1")
        let nspid = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("NSpid:") }
        #expect(nspid?.split(separator: "\t").last.map(String.init) == String(inside))
        for pids in try cgroupPids(joining, id: "guest") { #expect(pids == [pid]) }
        #expect(container("exec", "guest", "sh", "-c", "kill -0 1").status == 0, "exec into the joined namespace")
        #expect(container("delete", "-f", "guest").status == 0)
        try expectGone("guest", joining, pid: pid)
        #expect(container("delete", "-f", "host").status == 0)
    }

    // MARK: ps, pause, resume

    @Test(.enabled(if: canRun)) func psListsTheContainersProcesses() throws {
        let initPID = try sleeper("listed")
        let detached = container("exec", "-d", "--pid-file", output.path + "/exec.pid", "listed", "sleep", "999")
        #expect(detached.status == 0, "\(detached.error)")
        let pid = try #require(outputFile("exec.pid").flatMap { Int32($0) })

        let json = container("ps", "-f", "json", "listed")
        #expect(json.status == 0 && json.out == "[\([initPID, pid].sorted().map(String.init).joined(separator: ","))]\n", "\(json.out)")
        let table = container("ps", "listed")
        let lines = table.out.split(separator: "\n")
        #expect(lines.first?.hasPrefix("UID") == true && lines.count == 3, "\(table.out)")
        #expect(lines.dropFirst().contains { $0.contains(" \(initPID) ") && $0.hasSuffix("sleep 1000") })
        #expect(lines.dropFirst().contains { $0.contains(" \(pid) ") && $0.hasSuffix("sleep 999") })
        let custom = container("ps", "listed", "-o", "pid,comm").out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(Set(custom) == [["PID", "COMMAND"], [String(initPID), "sleep"], [String(pid), "sleep"]] && custom.count == 3, "\(custom)")
        #expect(container("ps", "-f", "yaml", "listed").error.contains("invalid format"))
        reap(pid)
        #expect(container("delete", "-f", "listed").status == 0)
    }

    @Test func psTableKeepsTheHeaderAndTheContainersLines() throws {
        let text = "  PID TTY      CMD\n    1 ?        init\n   42 ?        sleep\n  420 ?        other\n"
        #expect(try ContainerCommands.psTable(text, pids: [42]) == "  PID TTY      CMD\n   42 ?        sleep\n")
        #expect(throws: CommandError.self) { try ContainerCommands.psTable("USER CMD\nroot init\n", pids: [1]) }
    }

    @Test(.enabled(if: canRun)) func pauseFreezesAndResumeThaws() async throws {
        let config = config("i=0; while true; do i=$((i+1)); echo $i > /out/count; done")
        try write(config)
        #expect(container("run", "-d", "-b", bundle.path, "frozen").status == 0)
        let pid = track(try state("frozen"))
        #expect(container("resume", "frozen").error.contains("container not paused"))

        let paused = container("pause", "frozen")
        #expect(paused.status == 0, "\(paused.error)")
        #expect(try state("frozen").status == .paused)
        #expect(container("list").out.contains("paused"))
        // A frozen task sleeps in the freezer (D on cgroup v1) and makes no progress.
        #expect(processState(pid) == "D", "\(processState(pid) ?? "gone")")
        let count = outputFile("count")
        usleep(50_000)
        #expect(outputFile("count") == count)
        #expect(container("pause", "frozen").error.contains("container not running"))
        #expect(container("exec", "frozen", "true").error.contains("paused"))
        #expect(container("delete", "frozen").error.contains("not stopped: paused"))

        let resumed = container("resume", "frozen")
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(try state("frozen").status == .running)
        // Thawed: the loop counts again.
        var counted = false
        for _ in 0..<500 where !counted {
            usleep(10_000)
            counted = outputFile("count") != count
        }
        #expect(counted)

        #expect(container("pause", "frozen").status == 0)
        let forced = container("delete", "--force", "frozen")
        #expect(forced.status == 0, "\(forced.error)")
        try expectGone("frozen", config, pid: pid)
    }

    @Test(.enabled(if: canRun && hasRunc)) func pausedStateLikeRunc() async throws {
        let runcRoot = try TemporaryDirectory()
        try write(config("", args: ["sleep", "1000"]))
        _ = try await runc(runcRoot.path, "run", "-d", "-b", bundle.path, "theirs")
        _ = try await runc(runcRoot.path, "pause", "theirs")
        let theirs = try ContainerState.decode(Array(try await runc(runcRoot.path, "state", "theirs").utf8))
        _ = try await runc(runcRoot.path, "delete", "-f", "theirs")
        _ = try sleeper("ours")
        #expect(container("pause", "ours").status == 0)
        let ours = try state("ours")
        #expect(container("delete", "-f", "ours").status == 0)
        #expect(theirs.status == .paused && ours.status == theirs.status)
    }
}
