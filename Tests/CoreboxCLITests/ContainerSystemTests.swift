import Foundation
import Glibc
import Testing
import TestSupport

/// The shipped `container` with the parts of the system it drives beyond
/// the lifecycle: the journal (its own messages under systemd) and the
/// cgroup v2 device program (through a private view of this host's cgroups
/// where only the v2 hierarchy is mounted).
@Suite(.serialized, .enabled(if: getuid() == 0)) struct ContainerSystemTests {
    /// As under systemd: the error is a journal entry with the container's id, not
    /// a stderr line; `--log` still gets runc's JSON line.
    @Test func errorsAreJournalEntries() async throws {
        let scratch = try Scratch()
        let log = scratch.path + "/log.json"
        let run = try await Clients.run("/usr/bin/unshare", [
            "--mount", "sh", "-c", "mount -t tmpfs tmpfs /run && exec python3 -c \"$0\" \"$@\"",
            JournalTests.receiver, CoreboxBinary.path, "container", "--root", scratch.path + "/state",
            "--log", log, "--log-format", "json", "start", "nosuch",
        ], timeout: .seconds(30))
        let fields = Set(run.stdout.split(separator: "\n").map(String.init))
        for expected in ["EXIT=1", "STDERR=''", "MESSAGE=container does not exist: nosuch", "PRIORITY=3",
                         "SYSLOG_IDENTIFIER=container", "CONTAINER_ID=nosuch", "LOGGER=container"] {
            #expect(fields.contains(expected), "\(expected) not in:\n\(run.stdout)\n\(run.stderr)")
        }
        #expect(fields.contains { $0.hasPrefix("CODE_FILE=") && $0.hasSuffix("ContainerApplet.swift") })
        let line = try String(contentsOfFile: log, encoding: .utf8)
        #expect(line.hasPrefix(#"{"level":"error","msg":"container does not exist: nosuch","time":""#), "\(line)")
    }

    /// This host's cgroup mounts: the v1 hierarchies and the v2 one; nil without a v2 one.
    static let cgroupMounts: (v1: [String], unified: String)? = {
        guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        var v1: [String] = []
        var unified: String?
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            if fields[dash + 1] == "cgroup" { v1.append(String(fields[4])) }
            if fields[dash + 1] == "cgroup2" { unified = unified ?? String(fields[4]) }
        }
        return unified.map { (v1, $0) }
    }()

    /// `container ARGUMENTS` in a private mount namespace without the v1
    /// hierarchies, after `prepare` (shell commands) ran there.
    static func runOnUnified(_ mounts: (v1: [String], unified: String), _ arguments: [String], prepare: String = "true") async throws -> Clients.Run {
        let unmount = mounts.v1.map { "umount '\($0)' && " }.joined()
        return try await Clients.run("/usr/bin/unshare", [
            "--mount", "sh", "-c", unmount + prepare + " && exec \"$0\" container \"$@\"", CoreboxBinary.path,
        ] + arguments, timeout: .seconds(30))
    }

    /// A busybox bundle writing to the host's /dev/kmsg (bound in) and
    /// /dev/null, run with the v1 hierarchies unmounted in a private mount
    /// namespace: the runtime sees a pure v2 layout and attaches its device program.
    @Test(.enabled(if: cgroupMounts != nil)) func deviceRulesOnAUnifiedLayout() async throws {
        let mounts = try #require(Self.cgroupMounts)
        let scratch = try Scratch()
        let bundle = scratch.path + "/bundle"
        try BusyboxRoot.make(at: bundle + "/rootfs")
        let cgroup = "/corebox-cli-devices-\(getpid())"
        // The runtime removes the container's cgroup, not the parent it made.
        defer { rmdir(mounts.unified + cgroup) }

        func run(_ rules: String) async throws -> Clients.Run {
            let config = """
                {"ociVersion": "1.0.2-dev",
                 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/", "env": ["PATH=/bin"],
                   "args": ["sh", "-c", "echo corebox-test > /dev/kmsg && echo kmsg-written; echo x > /dev/null && echo null-written"]},
                 "root": {"path": "rootfs"},
                 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
                   {"destination": "/dev/kmsg", "type": "bind", "source": "/dev/kmsg", "options": ["bind"]}],
                 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}],
                   "cgroupsPath": "\(cgroup)/c", "resources": {"devices": \(rules)}}}
                """
            try config.write(toFile: bundle + "/config.json", atomically: true, encoding: .utf8)
            return try await Self.runOnUnified(mounts, ["--root", scratch.path + "/state", "run", "--bundle", bundle, "devices"])
        }

        let denied = try await run(#"[{"allow": false, "access": "rwm"}]"#)
        #expect(denied.status == 0, "\(denied.stderr)")
        #expect(denied.stderr.contains("/dev/kmsg: Operation not permitted"), "\(denied.stderr)")
        #expect(denied.stdout == "null-written\n", "\(denied.stdout)")

        let allowed = try await run(#"[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]"#)
        #expect(allowed.stdout == "kmsg-written\nnull-written\n", "\(allowed.stdout) \(allowed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: mounts.unified + cgroup + "/c"), "the container's cgroup is left")
    }

    /// As in container@.service (Delegate=yes): started in a cgroup systemd
    /// marked delegated, the runtime moves itself into a leaf and puts the
    /// container's cgroup inside, where journald and systemd count it as the
    /// unit's; in an unmarked one it stays put and the container goes beside.
    @Test(.enabled(if: cgroupMounts != nil)) func delegatedCgroupHoldsTheContainer() async throws {
        let mounts = try #require(Self.cgroupMounts)
        let scratch = try Scratch()
        let bundle = scratch.path + "/bundle"
        try BusyboxRoot.make(at: bundle + "/rootfs")
        try #"""
            {"ociVersion": "1.0.2-dev",
             "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/", "env": ["PATH=/bin"],
               "args": ["grep", "^0::", "/proc/self/cgroup"]},
             "root": {"path": "rootfs"},
             "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
             "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}
            """#.write(toFile: bundle + "/config.json", atomically: true, encoding: .utf8)
        let unit = "/corebox-cli-unit-\(getpid()).service"
        let unitPath = mounts.unified + unit
        try FileManager.default.createDirectory(atPath: unitPath, withIntermediateDirectories: false)
        defer {
            rmdir(unitPath + "/runtime")
            rmdir(unitPath)
        }
        let enter = "echo $$ > '\(unitPath)/cgroup.procs'"

        let beside = try await Self.runOnUnified(mounts, ["--root", scratch.path + "/state", "run", "--bundle", bundle, "beside"], prepare: enter)
        #expect(beside.stdout == "0::/beside\n", "\(beside.stdout) \(beside.stderr)")

        let marked = try await Clients.run("/usr/bin/python3", ["-c", "import os, sys; os.setxattr(sys.argv[1], 'trusted.delegate', b'1')", unitPath])
        #expect(marked.status == 0, "\(marked.stderr)")
        let inside = try await Self.runOnUnified(mounts, ["--root", scratch.path + "/state", "run", "--bundle", bundle, "inside"], prepare: enter)
        #expect(inside.stdout == "0::\(unit)/inside\n", "\(inside.stdout) \(inside.stderr)")
        #expect(FileManager.default.fileExists(atPath: unitPath + "/runtime"), "the runtime's leaf")
        #expect(!FileManager.default.fileExists(atPath: unitPath + "/inside"), "the container's cgroup is left")
    }
}
