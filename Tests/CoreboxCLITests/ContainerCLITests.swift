import CoreboxSystem
import Foundation
import Glibc
import Testing
import TestSupport

/// The shipped binary as `container`, beside runc: its command line, the
/// config `runc spec` writes run as it is (with its cgroup mount), and
/// 1,000 create/delete cycles, failures included, that leave nothing behind.
@Suite(.serialized, .enabled(if: getuid() == 0 && FileManager.default.fileExists(atPath: "/usr/sbin/runc")))
final class ContainerCLITests {
    let scratch: Scratch
    let container: String
    let root: String
    let bundle: String

    init() throws {
        scratch = try Scratch()
        container = try scratch.link("container")
        root = scratch.path + "/state"
        bundle = scratch.path + "/bundle"
        try BusyboxRoot.make(at: bundle + "/rootfs")
        try FileManager.default.createDirectory(atPath: bundle + "/rootfs/sys", withIntermediateDirectories: true)
    }

    deinit {
        // A failed test may leave containers: end them through the runtime.
        for id in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            _ = try? Self.run(container, ["--root", root, "delete", "--force", id])
        }
    }

    struct Result {
        let status: Int32
        let out: String
        let error: String
    }

    /// Runs `executable` to its exit with stdio on files, in `directory`
    /// (through env -C): a container's init inherits what `create` has and
    /// holds it until it execs, so a pipe would never see its end, and
    /// Foundation's Process, which hands its child a socket to watch for the
    /// exit, would wait for the container.
    static func run(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String] = [:]
    ) throws -> Result {
        let files = (out: NSTemporaryDirectory() + "out-\(UUID().uuidString)", error: NSTemporaryDirectory() + "err-\(UUID().uuidString)")
        defer { for file in [files.out, files.error] { try? FileManager.default.removeItem(atPath: file) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, files.out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, files.error, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // The test runner blocks signals its children would inherit.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let command = directory.map { ["/usr/bin/env", "-C", $0, executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let variables = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in variables { free(pointer) } }
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, argv, variables)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Result(
            status: status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F),
            out: try String(contentsOfFile: files.out, encoding: .utf8), error: try String(contentsOfFile: files.error, encoding: .utf8))
    }

    /// A live (not zombie) process's start time, from /proc/PID/stat.
    static func startTime(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.range(of: ") ", options: .backwards) else { return nil }
        let fields = stat[end.upperBound...].split(separator: " ")
        return fields.count > 19 && fields[0] != "Z" ? String(fields[19]) : nil
    }

    func container(_ arguments: String..., environment: [String: String] = [:]) throws -> Result {
        try Self.run(container, ["--root", root] + arguments, directory: bundle, environment: environment)
    }

    /// `runc spec` in `directory` (the bundle by default), with `edit`
    /// applied to its JSON; the root is always the bundle's rootfs.
    func writeSpec(in directory: String? = nil, _ edit: (inout [String: Any]) -> Void) throws {
        let directory = directory ?? bundle
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: directory + "/config.json")
        let spec = try Self.run("/usr/sbin/runc", ["spec"], directory: directory)
        #expect(spec.status == 0, "\(spec.error)")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))) as! [String: Any]
        json["root"] = ["path": bundle + "/rootfs", "readonly": true]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: directory + "/config.json"))
    }

    static func process(_ json: inout [String: Any], _ args: [String]) {
        var process = json["process"] as! [String: Any]
        process["terminal"] = false
        process["args"] = args
        json["process"] = process
    }

    // MARK: Command line

    @Test func versionHelpAndErrors() throws {
        let version = try container("--version")
        #expect(version.status == 0)
        #expect(version.out.hasPrefix("container version "))
        #expect(version.out.contains("\nspec: 1.0.2-dev\n"))
        #expect(try container("--help").status == 0)
        let unknown = try container("frobnicate")
        #expect(unknown.status == 1)
        #expect(unknown.error.contains("unknown command \"frobnicate\""))
        let missing = try container("state", "nosuch")
        #expect(missing.status == 1)
        #expect(missing.error == "container: container does not exist: nosuch\n")
    }

    @Test func specIsRuncs() throws {
        let runcDirectory = scratch.path + "/runc-spec"
        try FileManager.default.createDirectory(atPath: runcDirectory, withIntermediateDirectories: true)
        #expect(try Self.run("/usr/sbin/runc", ["spec"], directory: runcDirectory).status == 0)
        #expect(try container("spec", "--bundle", scratch.path).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/config.json"))
            == Data(contentsOf: URL(fileURLWithPath: runcDirectory + "/config.json")))
        let again = try container("spec", "--bundle", scratch.path)
        #expect(again.status == 1)
        #expect(again.error.contains("File \(scratch.path)/config.json exists. Remove it first"))
    }

    // MARK: runc's default config

    /// The config as `runc spec` writes it, cgroup mount and all: both
    /// runtimes show the container its own cgroups under /sys/fs/cgroup, read-only.
    @Test func runcsDefaultConfigRunsLikeRunc() throws {
        // (runc 1.1.5 leaves the tmpfs under the cgroups writable despite
        // `ro`; `container` makes it read-only too: not compared.)
        let script = "cat /proc/self/cgroup | grep -c . ; ls /sys/fs/cgroup | grep -c memory; touch /sys/fs/cgroup/memory/x 2>&1 | grep -c Read-only; hostname"
        try writeSpec { Self.process(&$0, ["sh", "-c", script]) }
        let ours = try container("run", "default-config")
        let runc = try Self.run("/usr/sbin/runc", ["--root", root + "-runc", "run", "default-config"], directory: bundle)
        #expect(ours.status == 0, "\(ours.error)")
        #expect(runc.status == 0, "\(runc.error)")
        #expect(ours.out == runc.out)
        #expect(ours.out.hasSuffix("1\n1\nrunc\n"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
    }

    // MARK: --systemd-cgroup

    /// The scope is asked of a fake systemd on a private bus (no systemd
    /// runs here; the VM test asks the real one): its name, slice, the
    /// init's pid, delegation and the limits; the init is in the scope's
    /// cgroup, `update` gives systemd the new limits, and delete stops the
    /// scope and leaves no cgroup.
    @Test func systemdCgroupPutsTheInitInAScope() throws {
        let unit = "ctr-sd1.scope"
        let fake = FakeSystemd(endings: [unit: .beforeReply(result: "done")])
        try withPrivateBus { address in
            let server = try ServerThread(address: address, setup: fake.serve, idle: fake.sendLateSignals)
            defer { server.stop() }
            try writeSpec { json in
                Self.process(&json, ["sleep", "30"])
                var linux = json["linux"] as! [String: Any]
                linux["cgroupsPath"] = "coreboxtest.slice:ctr:sd1"
                var resources = linux["resources"] as? [String: Any] ?? [:]
                resources["memory"] = ["limit": 64 << 20]
                resources["pids"] = ["limit": 50]
                linux["resources"] = resources
                json["linux"] = linux
            }
            defer {
                for hierarchy in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
                    _ = rmdir("/sys/fs/cgroup/\(hierarchy)/coreboxtest.slice")
                }
            }
            let bus = ["DBUS_SYSTEM_BUS_ADDRESS": address]
            let create = try container("--systemd-cgroup", "create", "--pid-file", scratch.path + "/sd1.pid", "sd1", environment: bus)
            #expect(create.status == 0, "\(create.error)")
            let pid = UInt32(try String(contentsOfFile: scratch.path + "/sd1.pid", encoding: .utf8))!
            let cgroups = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
            #expect(cgroups.contains(":memory:/coreboxtest.slice/\(unit)\n"), "\(cgroups)")
            let start = fake.calls.first { $0.member == "StartTransientUnit" }
            #expect(start?.arguments.first == .string(unit))
            let properties = Dictionary(uniqueKeysWithValues: (start?.arguments.dropFirst(2).first).flatMap { argument -> [(String, BusValue)]? in
                guard case .array(_, let entries) = argument else { return nil }
                return entries.compactMap { entry in
                    guard case .structure(let fields) = entry, case .string(let name)? = fields.first, case .variant(let value)? = fields.last else { return nil }
                    return (name, value)
                }
            } ?? [])
            #expect(properties["Slice"] == .string("coreboxtest.slice"))
            #expect(properties["PIDs"] == .array(elementSignature: "u", [.uint32(pid)]))
            #expect(properties["Delegate"] == .bool(true))
            // The limits go to systemd too, which would write its own over them at the next daemon-reload (this host: v1 names).
            #expect(properties["MemoryLimit"] == .uint64(64 << 20))
            #expect(properties["TasksMax"] == .uint64(50))

            // update: systemd's properties first, then the files.
            let update = try container("--systemd-cgroup", "update", "--memory", "128m", "sd1", environment: bus)
            #expect(update.status == 0, "\(update.error)")
            let set = fake.calls.first { $0.member == "SetUnitProperties" }
            #expect(set?.arguments.prefix(2) == [.string(unit), .bool(true)])
            #expect(set?.arguments.last == .array(elementSignature: "(sv)", [.structure([.string("MemoryLimit"), .variant(.uint64(128 << 20))])]))
            #expect(try String(contentsOfFile: "/sys/fs/cgroup/memory/coreboxtest.slice/\(unit)/memory.limit_in_bytes", encoding: .utf8) == "\(128 << 20)\n")

            let delete = try container("--systemd-cgroup", "delete", "--force", "sd1", environment: bus)
            #expect(delete.status == 0, "\(delete.error)")
            #expect(fake.calls.contains { $0.member == "StopUnit" && $0.arguments.first == .string(unit) })
            #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/coreboxtest.slice/\(unit)"))
        }
    }

    // MARK: Leaks

    /// 1,000 cycles through the shipped binary, a third of them failing at
    /// a different step each; afterwards no state directory, cgroup,
    /// process or mount of theirs is left.
    @Test func thousandCreateDeleteCyclesLeaveNothing() throws {
        enum Kind: CaseIterable { case runToExit, createDelete, missingProgram, failingHook, unknownNamespace, badMountOption }
        // One bundle per kind, all on the same rootfs.
        func bundle(_ kind: Kind) -> String { scratch.path + "/kinds/\(kind)" }
        for kind in Kind.allCases {
            try writeSpec(in: bundle(kind)) { json in
                Self.process(&json, kind == .missingProgram ? ["/bin/no-such-program"] : ["true"])
                var linux = json["linux"] as! [String: Any]
                switch kind {
                case .failingHook:
                    json["hooks"] = ["prestart": [["path": "/bin/false"]]]
                case .unknownNamespace:
                    linux["namespaces"] = [["type": "nosuch"]]
                case .badMountOption:
                    json["mounts"] = [["destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuchoption=1,2"]]]
                case .runToExit, .createDelete, .missingProgram:
                    break
                }
                linux["cgroupsPath"] = "/corebox-leak-test/\(kind)"
                json["linux"] = linux
            }
        }
        let kinds = Kind.allCases
        var inits: [(pid: Int32, startTime: String?)] = []
        for cycle in 0..<1000 {
            let kind = kinds[cycle % kinds.count]
            let id = "leak\(cycle)"
            switch kind {
            case .runToExit:
                let run = try container("run", "-b", bundle(kind), id)
                #expect(run.status == 0, "cycle \(cycle): \(run.error)")
            case .createDelete:
                let create = try container("create", "-b", bundle(kind), "--pid-file", scratch.path + "/pid", id)
                #expect(create.status == 0, "cycle \(cycle): \(create.error)")
                let pid = Int32(try String(contentsOfFile: scratch.path + "/pid", encoding: .utf8))!
                inits.append((pid, Self.startTime(pid)))
                #expect(try container("delete", id).status == 0)
            case .missingProgram, .failingHook, .unknownNamespace, .badMountOption:
                let create = try container("create", "-b", bundle(kind), id)
                #expect(create.status == 1, "cycle \(cycle) (\(kind)) should fail")
                #expect(!create.error.isEmpty)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
        let cgroups = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        for hierarchy in cgroups {
            let directory = "/sys/fs/cgroup/\(hierarchy)/corebox-leak-test"
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue {
                let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { name in
                    var isCgroup: ObjCBool = false
                    return FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isCgroup) && isCgroup.boolValue
                }
                #expect(left.isEmpty, "cgroups left in \(directory): \(left)")
                _ = rmdir(directory)
            }
        }
        for (pid, startTime) in inits where startTime != nil {
            // Gone, or a zombie not reaped yet, or the pid taken by another process.
            #expect(Self.startTime(pid) != startTime, "init \(pid) is still there")
        }
        let rootfs = self.bundle + "/rootfs"
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") where Int32(entry) != nil {
            let processRoot = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/root")
            #expect(processRoot != rootfs, "process \(entry) still runs in the bundle")
        }
        // Other suites mount things meanwhile: only the bundle's mounts count.
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n")
        #expect(!mounts.contains { $0.contains(scratch.path) }, "a mount under the bundle is left")
    }
}
