import CContainer
import CoreboxCore
import Foundation
import Glibc
import OCISpec
import Testing
import TestSupport

@testable import ContainerRuntime

/// runc's default spec, adjusted for a busybox root, turned into the C
/// child's configuration and run: what the shell inside sees is written to
/// a bind-mounted host directory. Needs root (the machine's tests run as root).
@Suite(.serialized)
struct ChildConfigurationTests {
    let bundle: TemporaryDirectory
    let output: TemporaryDirectory

    init() throws {
        bundle = try TemporaryDirectory()
        output = try TemporaryDirectory()
        try BusyboxRoot.make(at: bundle.path + "/rootfs")
        // A user namespace's root cannot make mount points in a root the host's root owns.
        try FileManager.default.createDirectory(atPath: bundle.path + "/rootfs/sys", withIntermediateDirectories: true)
        // A user namespace's root is an unprivileged uid on the host.
        #expect(chmod(bundle.path, 0o755) == 0 && chmod(output.path, 0o777) == 0)
    }

    static func mount(_ destination: String, type: String, source: String, options: [String]) -> Mount {
        var mount = Mount()
        (mount.destination, mount.type, mount.source, mount.options) = (destination, type, source, options)
        return mount
    }

    /// `runc spec` running `sh -c script`, with /out bound to `output`.
    func config(_ script: String) -> ContainerConfig {
        var config = ContainerConfig.runcDefault()
        config.process!.terminal = false
        config.process!.args = ["sh", "-c", script]
        config.process!.env = ["PATH=/bin"]
        // A "cgroup" mount needs runc's per-hierarchy handling on a cgroup v1 host; not this piece's.
        config.mounts.removeAll { $0.destination == "/sys/fs/cgroup" }
        config.mounts.append(Self.mount("/out", type: "bind", source: output.path, options: ["rbind"]))
        return config
    }

    struct Outcome {
        let messages: [corebox_child_message]
        let status: Int32
        var steps: [String] { messages.map { "\($0.stepText) (errno \($0.error))" } }
    }

    /// Spawns, does the parent's part (oom_score_adj, ID maps and the
    /// go-ahead), reads the messages until the socket closes, reaps.
    func run(_ config: ContainerConfig) throws -> Outcome {
        let child = try ChildConfiguration(config: config, bundle: bundle.path)
        var syncFD: Int32 = -1
        var pid = child.withContainer { corebox_container_spawn(&$0, &syncFD) }
        try #require(pid > 0, "spawn: \(String(cString: strerror(errno)))")
        defer { close(syncFD) }
        try child.writeOOMScoreAdj(pid: pid)
        try child.writeIDMaps(pid: pid, syncFD: syncFD)
        var messages: [corebox_child_message] = []
        while true {
            var message = corebox_child_message()
            if read(syncFD, &message, MemoryLayout<corebox_child_message>.size) <= 0 { break }
            messages.append(message)
            // Forked into a new pid or time namespace: the new process goes on.
            if message.kind == COREBOX_CHILD_FORKED.rawValue {
                while waitpid(pid, nil, 0) < 0 && errno == EINTR {}
                pid = message.pid
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Outcome(messages: messages, status: (status >> 8) & 0xFF)
    }

    func outputFile(_ name: String) throws -> String {
        try String(contentsOfFile: output.path + "/" + name, encoding: .utf8)
    }

    func lines(_ name: String) throws -> [Substring] {
        try outputFile(name).split(separator: "\n")
    }

    @Test func homeComesFromTheContainersPasswd() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n"
        #expect(ChildConfiguration.withHome(["PATH=/bin"], uid: 33) { passwd } == ["PATH=/bin", "HOME=/var/www"])
        #expect(ChildConfiguration.withHome(["PATH=/bin"], uid: 1000) { passwd } == ["PATH=/bin", "HOME=/"])
        #expect(ChildConfiguration.withHome(["PATH=/bin"], uid: 0) { nil } == ["PATH=/bin", "HOME=/"])
        var read = false
        #expect(ChildConfiguration.withHome(["HOME=/x", "PATH=/bin"], uid: 0) { read = true; return passwd } == ["HOME=/x", "PATH=/bin"])
        #expect(!read, "passwd is read only when HOME is missing")
    }

    @Test func mountsInOrderWithTheirFlags() throws {
        try FileManager.default.createDirectory(atPath: bundle.path + "/data", withIntermediateDirectories: true)
        try "from the bundle".write(toFile: bundle.path + "/data/file", atomically: false, encoding: .utf8)
        var config = config("cat /proc/mounts > /out/mounts; cat /data/file > /out/data; touch /data/x 2> /out/touch; echo done > /out/done")
        // A relative bind source is the bundle's; ro and nosuid come by remount.
        config.mounts.append(Self.mount("/data", type: "none", source: "data", options: ["rbind", "ro", "nosuid", "rprivate"]))
        let outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        let mounts = try lines("mounts").map { $0.split(separator: " ").prefix(4).joined(separator: " ") }
        let byPoint = Dictionary(mounts.map { ($0.split(separator: " ")[1], $0) }, uniquingKeysWith: { $1 })
        #expect(byPoint["/"]?.contains(" ro,") == true, "root.readonly: \(byPoint["/"] ?? "none")")
        #expect(byPoint["/proc"]?.hasPrefix("proc /proc proc rw") == true)
        let dev = try #require(byPoint["/dev"])
        #expect(dev.hasPrefix("tmpfs /dev tmpfs rw,nosuid") && dev.contains("size=65536k") && dev.contains("mode=755"))
        let pts = try #require(byPoint["/dev/pts"])
        #expect(pts.hasPrefix("devpts /dev/pts devpts rw,nosuid,noexec") && pts.contains("gid=5") && pts.contains("mode=620") && pts.contains("ptmxmode=666"))
        #expect(byPoint["/dev/shm"]?.hasPrefix("shm /dev/shm tmpfs rw,nosuid,nodev,noexec") == true)
        #expect(byPoint["/dev/mqueue"]?.hasPrefix("mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec") == true)
        #expect(byPoint["/sys"]?.hasPrefix("sysfs /sys sysfs ro,nosuid,nodev,noexec") == true)
        #expect(byPoint["/data"]?.contains(" ro,nosuid") == true, "\(byPoint["/data"] ?? "none")")
        #expect(try outputFile("data") == "from the bundle")
        #expect(try outputFile("touch").contains("Read-only file system"))
        #expect(try outputFile("done") == "done\n")
        // In the config's order: /dev before what is mounted inside it.
        let points = mounts.map { String($0.split(separator: " ")[1]) }
        let order = ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/out", "/data"].compactMap { points.firstIndex(of: $0) }
        #expect(order.count == 8 && order == order.sorted())
    }

    @Test func defaultDevicesExtraDevicesAndDevSymlinks() throws {
        let nodes = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/extra"]
        var config = config("stat -c '%n %t %T %a %u %g %F' \(nodes.joined(separator: " ")) > /out/stat; "
            + "for l in fd stdin stdout stderr ptmx; do echo \"$l $(readlink /dev/$l)\"; done > /out/links; "
            + "if [ -e /dev/core ]; then echo present; else echo absent; fi > /out/core; "
            + "echo through > /dev/stdout > /out/stdout")
        var extra = Device()
        (extra.path, extra.type, extra.major, extra.minor, extra.fileMode, extra.uid, extra.gid) = ("/dev/extra", .char, 1, 7, 0o640, 7, 8)
        config.linux!.devices = [extra]
        let outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        #expect(try lines("stat") == [
            "/dev/null 1 3 666 0 0 character special file",
            "/dev/zero 1 5 666 0 0 character special file",
            "/dev/full 1 7 666 0 0 character special file",
            "/dev/random 1 8 666 0 0 character special file",
            "/dev/urandom 1 9 666 0 0 character special file",
            "/dev/tty 5 0 666 0 0 character special file",
            "/dev/extra 1 7 640 7 8 character special file",
        ])
        #expect(try lines("links") == ["fd /proc/self/fd", "stdin /proc/self/fd/0", "stdout /proc/self/fd/1", "stderr /proc/self/fd/2", "ptmx pts/ptmx"])
        #expect(try outputFile("core") == (access("/proc/kcore", F_OK) == 0 ? "present\n" : "absent\n"))
        #expect(try outputFile("stdout") == "through\n")
    }

    @Test func maskedAndReadOnlyPathsOfTheDefaultSpec() throws {
        let linux = ContainerConfig.runcDefault().linux!
        var isDirectory: ObjCBool = false
        let files = linux.maskedPaths.filter { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue }
        let directories = linux.maskedPaths.filter { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue }
        let readonly = linux.readonlyPaths.filter { FileManager.default.fileExists(atPath: $0) }
        try #require(!files.isEmpty && !directories.isEmpty && readonly.contains("/proc/sys"), "runc's paths that exist here")
        let config = config("for f in \(files.joined(separator: " ")) /proc/version; do echo \"$f $(cat $f | wc -c)\"; done > /out/files; "
            + "for d in \(directories.joined(separator: " ")) /proc/self; do echo \"$d $(ls $d | wc -l)\"; done > /out/directories; "
            + "{ echo 1 > /proc/sys/kernel/domainname; } 2> /out/sys; cat /proc/mounts > /out/mounts")
        let outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        let fileSizes = try lines("files")
        #expect(fileSizes.dropLast() == files.map { "\($0) 0"[...] }, "a masked file reads as /dev/null")
        #expect(fileSizes.last != "/proc/version 0", "an unmasked file still reads")
        let entries = try lines("directories")
        #expect(entries.dropLast() == directories.map { "\($0) 0"[...] }, "a masked directory is an empty tmpfs")
        #expect(entries.last != "/proc/self 0")
        let mounts = Dictionary(try lines("mounts").map { line in
            let fields = line.split(separator: " ")
            return (String(fields[1]), fields[2] + " " + fields[3].prefix(3))
        }, uniquingKeysWith: { $1 })
        for directory in directories { #expect(mounts[directory] == "tmpfs ro,", "\(directory)") }
        for path in readonly { #expect(mounts[path] == "proc ro,", "\(path)") }
        #expect(try outputFile("sys").contains("Read-only file system"))
    }

    @Test func capabilitiesRlimitsHostnameNoNewPrivsAndUmask() throws {
        var config = config("grep -E '^(Cap|NoNewPrivs)' /proc/self/status > /out/status; ulimit -n > /out/limits; ulimit -Hn >> /out/limits; "
            + "hostname > /out/names; cat /proc/sys/kernel/domainname >> /out/names; umask > /out/umask")
        config.hostname = "box"
        config.domainname = "example.org"
        config.process!.rlimits[0].soft = 500
        config.process!.rlimits[0].hard = 600
        let outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29).
        let spec = String(format: "%016lx", (1 << 5) | (1 << 10) | (1 << 29))
        #expect(try lines("status") == [
            "CapInh:\t0000000000000000", "CapPrm:\t\(spec)", "CapEff:\t\(spec)", "CapBnd:\t\(spec)",
            // The spec's ambient set without inheritable: the kernel raises none (runc warns).
            "CapAmb:\t0000000000000000", "NoNewPrivs:\t1",
        ])
        #expect(try lines("limits") == ["500", "600"])
        #expect(try lines("names") == ["box", "example.org"])
        #expect(try outputFile("umask") == "0022\n", "runc's umask when the config has none")
    }

    @Test func ambientCapabilitiesCarryANonRootUserThroughExec() throws {
        var config = config("grep -E '^Cap(Prm|Eff|Amb)' /proc/self/status > /out/status; id > /out/id; umask > /out/umask")
        let names = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
        var sets = Capabilities()
        (sets.bounding, sets.effective, sets.inheritable, sets.permitted, sets.ambient) = (names, names, names, names, names)
        config.process!.capabilities = sets
        config.process!.user.uid = 1000
        config.process!.user.gid = 1000
        config.process!.user.additionalGids = [10]
        config.process!.user.umask = 0o027
        config.process!.noNewPrivileges = false
        let outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        let mask = String(format: "%016lx", (1 << 5) | (1 << 10))
        #expect(try lines("status") == ["CapPrm:\t\(mask)", "CapEff:\t\(mask)", "CapAmb:\t\(mask)"])
        #expect(try outputFile("id") == "uid=1000 gid=1000 groups=10\n")
        #expect(try outputFile("umask") == "0027\n")
    }

    @Test func userNamespaceMapsRootToAHostRange() throws {
        var config = config("id > /out/id; cat /proc/self/uid_map > /out/uid_map; cat /proc/self/gid_map > /out/gid_map; "
            + "grep NoNewPrivs /proc/self/status > /out/status; cat /proc/self/oom_score_adj > /out/oom; touch /out/created")
        var mapping = IDMapping()
        (mapping.containerID, mapping.hostID, mapping.size) = (0, 100_000, 65536)
        config.linux!.namespaces.append(Namespace(type: .user))
        config.linux!.uidMappings = [mapping]
        config.linux!.gidMappings = [mapping]
        config.process!.noNewPrivileges = false
        config.process!.oomScoreAdj = 500
        let outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        #expect(try outputFile("id").hasPrefix("uid=0 gid=0"))
        #expect(try lines("uid_map").map { $0.split(separator: " ") } == [["0", "100000", "65536"]])
        #expect(try lines("gid_map").map { $0.split(separator: " ") } == [["0", "100000", "65536"]])
        #expect(try outputFile("status") == "NoNewPrivs:\t0\n")
        #expect(try outputFile("oom") == "500\n")
        var status = stat()
        #expect(stat(output.path + "/created", &status) == 0)
        #expect(status.st_uid == 100_000 && status.st_gid == 100_000, "the container's root is the host's 100000")
    }

    @Test func errorsNameTheField() throws {
        func error(_ change: (inout ContainerConfig) -> Void) -> ChildConfigurationError? {
            var config = config("true")
            change(&config)
            do {
                _ = try ChildConfiguration(config: config, bundle: bundle.path)
                return nil
            } catch {
                return error
            }
        }
        let missing = error { $0.linux!.namespaces.append(Namespace(type: .cgroup, path: "/proc/self/ns/nonexistent")) }
        #expect(missing?.field == "linux.namespaces[5].path")
        #expect(missing?.message.contains("No such file or directory") == true, "\(String(describing: missing))")

        #expect(error { $0.linux!.namespaces[0] = Namespace(type: .pid, path: "/proc/self/ns/pid") } == nil, "a pid namespace can be joined")

        #expect(error { $0.root.path = "no-such-root" }?.field == "root.path")
        #expect(error { $0.process!.capabilities!.bounding.append("CAP_NOPE") }?.field == "process.capabilities.bounding[3]")
        #expect(error { $0.process!.rlimits[0].type = "RLIMIT_NOPE" }?.field == "process.rlimits[0].type")
        #expect(error { $0.mounts[1].options.append("rro") }?.description == "mounts[1].options[4]: mount option \"rro\" is not supported yet")
        #expect(error { $0.linux!.namespaces.append(Namespace(type: .user)) }?.field == "linux.uidMappings")
        #expect(error { $0.process = nil }?.field == "process")
        #expect(error { _ in } == nil)
    }

    /// Waits until `pid` is in another user namespace than this process
    /// (`unshare` made it); the namespace's path.
    func userNamespace(of pid: Int32) async throws -> String {
        let path = "/proc/\(pid)/ns/user"
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")
        for _ in 0..<500 where (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == own {
            try await Task.sleep(for: .milliseconds(10))
        }
        return path
    }

    @Test func aJoinedUserNamespaceOwnsTheNamespacesMadeAfter() async throws {
        let holder = try ChildProcess("/usr/bin/unshare", ["--user", "sleep", "100"])
        defer { holder.stop() }
        let namespace = try await userNamespace(of: holder.pid)
        for map in ["uid_map", "gid_map"] { try "0 100000 65536".write(toFile: "/proc/\(holder.pid)/\(map)", atomically: false, encoding: .utf8) }
        // Its own mount, pid, network... namespaces: the mounts (proc,
        // sysfs) work only when they belong to the joined user namespace.
        var config = config("readlink /proc/self/ns/user > /out/user; cat /proc/self/uid_map > /out/uid_map; touch /out/created")
        config.linux!.namespaces.append(Namespace(type: .user, path: namespace))
        let child = try ChildConfiguration(config: config, bundle: bundle.path)
        #expect(child.withContainer { $0.joins[0].type == CLONE_NEWUSER } && !child.usesUserNamespace)
        let outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        #expect(try outputFile("user") == (try FileManager.default.destinationOfSymbolicLink(atPath: namespace)) + "\n")
        #expect(try lines("uid_map").map { $0.split(separator: " ") } == [["0", "100000", "65536"]])
        var status = stat()
        #expect(stat(output.path + "/created", &status) == 0)
        #expect(status.st_uid == 100_000, "the joined namespace's root is the host's 100000")
    }

    @Test(.enabled(if: access("/proc/self/ns/time", F_OK) == 0)) func timeNamespacesMadeAndJoined() throws {
        let host = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/time") + "\n"
        var config = config("readlink /proc/self/ns/time > /out/time; echo $$ > /out/pid")
        config.linux!.namespaces.append(Namespace(type: .time))
        var outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        let made = try outputFile("time")
        #expect(made.hasPrefix("time:[") && made != host)
        #expect(try outputFile("pid") == "1\n", "the fork into the time namespace is the pid namespace's init")

        config.linux!.namespaces.removeLast()
        config.linux!.namespaces.append(Namespace(type: .time, path: "/proc/self/ns/time"))
        outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        #expect(try outputFile("time") == host)
    }

    /// `linux.timeOffsets` move the new time namespace's clocks: the
    /// container reads them back and sees the boot time moved on. In a new
    /// user namespace too, whose root cannot open the child's own /proc files
    /// once it is not dumpable.
    @Test(.enabled(if: access("/proc/self/ns/time", F_OK) == 0), arguments: [false, true])
    func timeOffsetsMoveTheClocks(inAUserNamespace: Bool) throws {
        var config = config("cat /proc/self/timens_offsets > /out/offsets; read up idle < /proc/uptime; echo ${up%.*} > /out/uptime")
        config.linux!.namespaces.append(Namespace(type: .time))
        config.linux!.timeOffsets = ["monotonic": TimeOffset(secs: 500_000, nanosecs: 7), "boottime": TimeOffset(secs: 1_000_000)]
        if inAUserNamespace {
            var mapping = IDMapping()
            (mapping.containerID, mapping.hostID, mapping.size) = (0, 100_000, 65536)
            config.linux!.namespaces.append(Namespace(type: .user))
            (config.linux!.uidMappings, config.linux!.gidMappings) = ([mapping], [mapping])
        }
        let outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        #expect(try lines("offsets").map { $0.split(separator: " ") } == [["monotonic", "500000", "7"], ["boottime", "1000000", "0"]])
        let host = try #require(Double(try String(contentsOfFile: "/proc/uptime", encoding: .utf8).split(separator: " ")[0]))
        let inside = try #require(Double(try outputFile("uptime").dropLast()))
        #expect(inside >= 1_000_000 && inside <= host + 1_000_000, "uptime \(inside) inside, \(host) here")
    }

    @Test func aJoinedNamespaceIsEntered() throws {
        // The test's own UTS namespace, joined: the container sees the host's name.
        var config = config("hostname > /out/hostname")
        config.hostname = ""
        config.linux!.namespaces.removeAll { $0.type == .uts }
        config.linux!.namespaces.append(Namespace(type: .uts, path: "/proc/self/ns/uts"))
        let child = try ChildConfiguration(config: config, bundle: bundle.path)
        #expect(child.withContainer { $0.join_count == 1 && $0.clone_flags & CLONE_NEWUTS == 0 })
        let outcome = try run(config)
        #expect(outcome.status == 0, "\(outcome.steps)")
        #expect(try outputFile("hostname") == String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8))
    }

    @Test func optionsSplitIntoFlagsPropagationAndData() throws {
        let parsed = try ChildConfiguration.parse(
            options: ["nosuid", "noexec", "rw", "ro", "mode=755", "strictatime", "nostrictatime", "newinstance", "rslave", "dev", "nodev", "size=1k"],
            field: "mounts[0].options")
        #expect(parsed.flags == UInt(MS_NOSUID | MS_NOEXEC | MS_RDONLY | MS_NODEV))
        #expect(parsed.propagation == UInt(MS_SLAVE | MS_REC))
        #expect(parsed.data == ["mode=755", "newinstance", "size=1k"])
        #expect(try ChildConfiguration.parse(options: ["rbind", "rw"], field: "x").flags == UInt(MS_BIND | MS_REC))
        #expect(try ChildConfiguration.mask(["CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"], field: "x") == 1 | 1 << 40)
    }
}

extension Namespace {
    init(type: NamespaceType, path: String = "") {
        self.init()
        self.type = type
        self.path = path
    }
}

extension corebox_child_message {
    /// The failed step as text.
    var stepText: String {
        Swift.withUnsafeBytes(of: step) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
