import Foundation
import Glibc
import Testing
import TestSupport

/// A second real client: Debian's containerd 1.6 and its runc shim
/// (containerd-shim-runc-v2) driving `container` through `ctr
/// --runc-binary`, side by side with runc. The daemon is the test's own:
/// its root, state and socket in a temporary directory, the CRI plugin off.
/// The image is the busybox root as a docker archive, imported with ctr.
@Suite(.serialized, .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd")))
final class ContainerdTests {
    let scratch: Scratch
    let container: String
    /// Short, for the socket's path.
    let directory: String
    let daemon: ChildProcess
    static let image = "localhost/corebox-busybox:test"
    static let runtimes = ["/usr/sbin/runc", "container"]

    init() async throws {
        scratch = try Scratch()
        container = try scratch.link("container")
        var template = Array("/tmp/ctd-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw POSIXError(.EIO) }
        directory = String(cString: template)
        try """
            version = 2
            root = "\(directory)/root"
            state = "\(directory)/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "\(directory)/sock"
            [ttrpc]
              address = "\(directory)/sock.ttrpc"
            """.write(toFile: directory + "/config.toml", atomically: false, encoding: .utf8)
        daemon = try ChildProcess("/usr/bin/containerd", ["--config", directory + "/config.toml"])
        let deadline = ContinuousClock.now + .seconds(30)
        while try ctr(["version"]).status != 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }

        let rootfs = scratch.path + "/rootfs"
        try BusyboxRoot.make(at: rootfs)
        let archive = scratch.path + "/image.tar"
        let made = try ContainerCLITests.run("/usr/bin/python3", ["-c", Self.dockerArchive, rootfs, archive, Self.image])
        #expect(made.status == 0, "\(made.error)")
        let imported = try ctr(["image", "import", archive])
        #expect(imported.status == 0, "\(imported.error)")
    }

    deinit {
        // A test that failed half-way leaves its container: its task and
        // shim go before the daemon, its mounts before the directory.
        for id in ((try? ctr(["containers", "list", "--quiet"]))?.out ?? "").split(separator: "\n").map(String.init) {
            _ = try? ctr(["task", "kill", "--signal", "SIGKILL", id])
            _ = try? ctr(["task", "delete", "--force", id])
            _ = try? ctr(["containers", "delete", id])
        }
        daemon.stop()
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n").reversed() {
            let fields = line.split(separator: " ")
            if fields.count > 4, fields[4].hasPrefix(directory + "/") { _ = umount2(String(fields[4]), Int32(MNT_DETACH)) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A docker archive of ROOTFS tagged TAG at OUT: one layer, a config
    /// with PATH, the manifest.
    static let dockerArchive = #"""
        import hashlib, io, json, sys, tarfile
        rootfs, out, tag = sys.argv[1:]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as layer:
            layer.add(rootfs, arcname=".")
        layer = buffer.getvalue()
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"]},
                             "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
        manifest = json.dumps([{"Config": "config.json", "RepoTags": [tag], "Layers": ["layer.tar"]}]).encode()
        with tarfile.open(out, "w") as archive:
            for name, data in [("layer.tar", layer), ("config.json", config), ("manifest.json", manifest)]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        """#

    func ctr(_ arguments: [String]) throws -> ContainerCLITests.Result {
        try ContainerCLITests.run("/usr/bin/ctr", ["--address", directory + "/sock"] + arguments)
    }

    func binary(_ runtime: String) -> String { runtime == "container" ? container : runtime }

    /// The task's status as `ctr task list` shows it (RUNNING, PAUSED, STOPPED).
    func status(_ id: String) throws -> String? {
        for line in try ctr(["task", "list"]).out.split(separator: "\n") {
            let columns = line.split(separator: " ")
            if columns.first == Substring(id) { return columns.last.map(String.init) }
        }
        return nil
    }

    /// The same `ctr run` through both runtimes: the same output (user,
    /// capabilities, seccomp, no_new_privs, devices) and exit status.
    @Test func runIsTheSameAsWithRunc() throws {
        let script = "id; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; cat /proc/1/cmdline; echo; ls /dev; exit 3"
        var outputs: [String] = []
        for runtime in Self.runtimes {
            let id = "run-\(URL(fileURLWithPath: runtime).lastPathComponent)"
            let run = try ctr(["run", "--rm", "--runc-binary", binary(runtime), Self.image, id, "sh", "-c", script])
            #expect(run.status == 3, "\(runtime): \(run.error)")
            outputs.append(run.out)
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[1].hasPrefix("uid=0(root) gid=0(root)") || outputs[1].hasPrefix("uid=0 gid=0"))
        #expect(try ctr(["containers", "list", "--quiet"]).out.isEmpty)
    }

    /// A detached task through the shim: exec (the shim's process JSON),
    /// ps, pause and resume, kill, delete; what ctr reports at each step is
    /// the same through both runtimes.
    @Test func detachedTaskLifecycle() async throws {
        var reports: [[String]] = []
        for runtime in Self.runtimes {
            let id = "task-\(URL(fileURLWithPath: runtime).lastPathComponent)"
            var report: [String] = []
            let started = try ctr(["run", "--detach", "--runc-binary", binary(runtime), Self.image, id, "sleep", "1000"])
            #expect(started.status == 0, "\(runtime): \(started.error)")
            report.append("started: \(try status(id) ?? "none")")
            let exec = try ctr(["task", "exec", "--exec-id", "probe", id, "sh", "-c", "cat /proc/1/cmdline; echo; exit 4"])
            report.append("exec: \(exec.status) \(exec.out)")
            let ps = try ctr(["task", "ps", id]).out.split(separator: "\n")
            report.append("ps: \(ps.count) lines")
            #expect(try ctr(["task", "pause", id]).status == 0)
            report.append("paused: \(try status(id) ?? "none")")
            #expect(try ctr(["task", "resume", id]).status == 0)
            report.append("resumed: \(try status(id) ?? "none")")
            #expect(try ctr(["task", "kill", "--signal", "SIGKILL", id]).status == 0)
            let deadline = ContinuousClock.now + .seconds(20)
            while try status(id) != "STOPPED" && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            report.append("killed: \(try status(id) ?? "none")")
            #expect(try ctr(["task", "delete", id]).status == 0)
            #expect(try ctr(["containers", "delete", id]).status == 0)
            reports.append(report)
        }
        #expect(reports[0] == reports[1])
        #expect(reports[1] == [
            "started: RUNNING", "exec: 4 sleep\u{0}1000\u{0}\n", "ps: 2 lines", "paused: PAUSED", "resumed: RUNNING", "killed: STOPPED",
        ])
        #expect(try ctr(["containers", "list", "--quiet"]).out.isEmpty)
    }
}
