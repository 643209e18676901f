import Foundation
import Glibc
import Testing
import TestSupport

/// A real client: podman (with conmon) driving `container` as its OCI
/// runtime, side by side with runc. Podman's storage and run directories
/// are private to the test; the image is the busybox root imported as a
/// tarball; no network.
///
/// Podman raises RLIMIT_NOFILE and RLIMIT_NPROC in the config by default,
/// which this sandbox refuses to any runtime (runc fails the same way), so
/// every run passes explicit `--ulimit`s at the host's values.
@Suite(.serialized, .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/podman")))
final class PodmanTests {
    let scratch: Scratch
    let container: String
    /// Podman wants its run directory's path under 50 characters.
    let runRoot: String
    static let image = "localhost/corebox-busybox:test"

    init() throws {
        scratch = try Scratch()
        container = try scratch.link("container")
        var template = Array("/tmp/podman-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw POSIXError(.EIO) }
        runRoot = String(cString: template)
        let rootfs = scratch.path + "/rootfs"
        try BusyboxRoot.make(at: rootfs)
        let tar = try ContainerCLITests.run("/usr/bin/tar", ["-C", rootfs, "-cf", scratch.path + "/rootfs.tar", "."])
        #expect(tar.status == 0, "\(tar.error)")
        let imported = try podman(runtime: "/usr/sbin/runc", ["import", scratch.path + "/rootfs.tar", Self.image])
        #expect(imported.status == 0, "\(imported.error)")
    }

    deinit {
        for runtime in ["/usr/sbin/runc", container] {
            _ = try? podman(runtime: runtime, ["rm", "--all", "--force", "--time", "0"])
        }
        try? FileManager.default.removeItem(atPath: runRoot)
    }

    func podman(runtime: String, _ arguments: [String]) throws -> ContainerCLITests.Result {
        try ContainerCLITests.run("/usr/bin/podman", [
            "--runtime", runtime, "--cgroup-manager", "cgroupfs", "--storage-driver", "vfs", "--events-backend", "file",
            "--root", scratch.path + "/storage", "--runroot", runRoot,
        ] + arguments)
    }

    static let limits = ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]

    /// The same `podman run` through both runtimes: the same output (user,
    /// capabilities, seccomp, no_new_privs, the cgroup view) and exit status.
    @Test func runIsTheSameAsWithRunc() throws {
        let script = "id; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; ls /sys/fs/cgroup; cat /proc/1/cmdline; echo; exit 7"
        var outputs: [String] = []
        for runtime in ["/usr/sbin/runc", container] {
            let run = try podman(runtime: runtime, ["run", "--rm"] + Self.limits + [Self.image, "sh", "-c", script])
            #expect(run.status == 7, "\(runtime): \(run.error)")
            outputs.append(run.out)
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[1].hasPrefix("uid=0 gid=0"))
        #expect(outputs[1].contains("Seccomp:\t2"))
    }

    /// A detached container: exec into it (podman passes a process JSON),
    /// stop it (SIGTERM, then the runtime's kill), remove it.
    @Test func detachedExecStopAndRemove() throws {
        let started = try podman(runtime: container, ["run", "--detach", "--name", "detached"] + Self.limits + [Self.image, "sleep", "1000"])
        #expect(started.status == 0, "\(started.error)")
        let exec = try podman(runtime: container, ["exec", "detached", "sh", "-c", "cat /proc/1/cmdline; echo; echo exec-ok"])
        #expect(exec.status == 0, "\(exec.error)")
        #expect(exec.out == "sleep\u{0}1000\u{0}\nexec-ok\n")
        let failing = try podman(runtime: container, ["exec", "detached", "sh", "-c", "exit 5"])
        #expect(failing.status == 5)
        let stop = try podman(runtime: container, ["stop", "--time", "1", "detached"])
        #expect(stop.status == 0, "\(stop.error)")
        let state = try podman(runtime: container, ["inspect", "--format", "{{.State.Status}}", "detached"])
        #expect(state.out == "exited\n")
        #expect(try podman(runtime: container, ["rm", "detached"]).status == 0)
        #expect(try podman(runtime: container, ["ps", "--all", "--quiet"]).out.isEmpty)
    }

    /// `podman update` hands the runtime `update --resources FILE`; the
    /// container sees its new limits in its own cgroup view, through both runtimes.
    @Test func updateChangesTheLimitsTheContainerSees() throws {
        var seen: [String] = []
        for runtime in ["/usr/sbin/runc", container] {
            let name = "updated-\(URL(fileURLWithPath: runtime).lastPathComponent)"
            let started = try podman(runtime: runtime, ["run", "--detach", "--name", name, "--memory", "64m", "--pids-limit", "50"]
                + Self.limits + [Self.image, "sleep", "1000"])
            #expect(started.status == 0, "\(runtime): \(started.error)")
            let update = try podman(runtime: runtime, ["update", "--memory", "128m", "--cpus", "0.5", "--cpu-shares", "512", name])
            #expect(update.status == 0, "\(runtime): \(update.error)")
            let script = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares"
            let read = try podman(runtime: runtime, ["exec", name, "sh", "-c", script])
            #expect(read.status == 0, "\(runtime): \(read.error)")
            seen.append(read.out)
            #expect(try podman(runtime: runtime, ["rm", "--force", "--time", "0", name]).status == 0)
        }
        #expect(seen[0] == seen[1])
        #expect(seen[1] == "\(128 << 20)\n50000\n512\n")
    }

    /// `-t`: conmon hands the runtime a console socket and gets the pty's master.
    @Test func terminalThroughTheConsoleSocket() throws {
        let run = try podman(runtime: container, ["run", "--rm", "--tty"] + Self.limits + [Self.image, "sh", "-c", "tty; stty size"])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.out.hasPrefix("/dev/pts/0\r\n"))
    }
}
