import ContainerRuntime
import Foundation
import OCISpec
import Testing
import TestSupport

/// Cgroup effects on this machine, on a `sleep` the test starts: its own
/// cgroups only, all removed at the end.
@Suite(.serialized) struct CgroupTests {
    static let canRun = getuid() == 0 && FileManager.default.fileExists(atPath: "/proc/self/mountinfo")
        && (try? Cgroups.detectLayout()) != nil

    @Test func layoutParsing() {
        let mountinfo = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
            35 31 0:32 /outer /sys/fs/cgroup/memory rw,relatime shared:5 - cgroup cgroup rw,memory,clone_children
            40 31 0:37 / /sys/fs/cgroup/sys\\040temd rw,relatime - cgroup cgroup rw,xattr,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """
        let selfCgroup = "3:cpu,cpuacct:/a\n2:memory:/outer/b\n1:name=systemd:/c\n0::/d\n"
        let layout = Cgroups.layout(mountinfo: mountinfo, selfCgroup: selfCgroup) { mountPoint in
            mountPoint == "/sys/fs/cgroup/unified" ? "cpu io\n" : "wrong"
        }
        #expect(layout == .hybrid([
            CgroupHierarchy(controllers: ["cpu", "cpuacct"], mountPoint: "/sys/fs/cgroup/cpu,cpuacct", ownPath: "/a"),
            CgroupHierarchy(controllers: ["memory"], mountPoint: "/sys/fs/cgroup/memory", mountRoot: "/outer", ownPath: "/outer/b"),
            CgroupHierarchy(controllers: ["name=systemd"], mountPoint: "/sys/fs/cgroup/sys temd", ownPath: "/c"),
        ], unified: CgroupHierarchy(controllers: ["cpu", "io"], mountPoint: "/sys/fs/cgroup/unified", ownPath: "/d")))

        let pure = Cgroups.layout(
            mountinfo: "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate", selfCgroup: "0::/user.slice\n"
        ) { _ in "memory pids" }
        #expect(pure == .unified(CgroupHierarchy(controllers: ["memory", "pids"], mountPoint: "/sys/fs/cgroup", ownPath: "/user.slice")))
        #expect(Cgroups.layout(mountinfo: "1 0 0:1 / / rw - ext4 /dev/sda rw", selfCgroup: "") { _ in "" } == nil)
    }

    @Test(.enabled(if: canRun)) func limitsFreezeAndRemove() async throws {
        let layout = try #require(try Cgroups.detectLayout())
        var resources = Resources()
        var memory = Memory()
        memory.limit = 64 << 20
        resources.memory = memory
        var pids = Pids()
        pids.limit = 17
        resources.pids = pids
        let id = "corebox-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let plan = try CgroupPlanner.plan(resources: resources, cgroupsPath: "/" + id, id: id, layout: layout)
        let child = try ChildProcess("/bin/sleep", ["30"])
        defer {
            child.stop()
            try? Cgroups.remove(plan)
        }
        try Cgroups.apply(plan)
        for directory in plan.directories {
            try String(child.pid).write(toFile: directory.path + "/cgroup.procs", atomically: false, encoding: .utf8)
        }

        let directories = plan.directories
        let memoryDirectory = try #require(directories.first { $0.controllers.contains("memory") || $0.isUnified })
        if case .unified = layout {
            #expect(try Cgroups.readText(memoryDirectory.path + "/memory.max") == "67108864")
            #expect(try Cgroups.readText(memoryDirectory.path + "/pids.max") == "17")
        } else {
            #expect(try Cgroups.readText(memoryDirectory.path + "/memory.limit_in_bytes") == "67108864")
            let pidsDirectory = try #require(directories.first { $0.controllers.contains("pids") })
            #expect(try Cgroups.readText(pidsDirectory.path + "/pids.max") == "17")
        }
        for directory in directories {
            #expect(try Cgroups.processes(in: directory) == [child.pid], "\(directory.path)")
        }

        try Cgroups.freeze(plan)
        #expect(try Cgroups.isFrozen(plan))
        try Cgroups.thaw(plan)
        #expect(try !Cgroups.isFrozen(plan))
        if let freezer = plan.freezer, !freezer.isUnified {
            #expect(try Cgroups.readText(freezer.path + "/freezer.state") == "THAWED")
        }

        try Cgroups.remove(plan)
        for directory in directories {
            #expect(!FileManager.default.fileExists(atPath: directory.path), "\(directory.path) left behind")
        }
        // The child was in the cgroup, so removing it killed the child.
        #expect(try await child.exitStatus(within: .seconds(5)) == SIGKILL)
    }


    static let runc = "/usr/sbin/runc"

    /// runc 1.1 and the planner on the same config.json: runc's cgroups are
    /// the plan's directories, and every file the plan writes reads back there
    /// with the plan's value.
    @Test(.enabled(if: canRun && FileManager.default.isExecutableFile(atPath: runc)))
    func sameFilesAsRunc() throws {
        let work = NSTemporaryDirectory() + "corebox-cgroup-runc-\(getpid())"
        let bundle = work + "/bundle"
        try FileManager.default.createDirectory(atPath: bundle + "/rootfs/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try Tools.run(["cp", "/bin/busybox", bundle + "/rootfs/bin/busybox"])
        try runRunc(["spec", "--bundle", bundle])
        let id = "corebox-runc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json"))) as? [String: Any])
        var process = try #require(json["process"] as? [String: Any])
        process["args"] = ["/bin/busybox", "sleep", "30"]
        process["terminal"] = false
        json["process"] = process
        var linux = try #require(json["linux"] as? [String: Any])
        linux["cgroupsPath"] = "/" + id
        var resources = try #require(linux["resources"] as? [String: Any])
        resources["memory"] = ["limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20, "swappiness": 20, "disableOOMKiller": true]
        resources["cpu"] = ["shares": 512, "quota": 20000, "period": 50000, "cpus": "0", "mems": "0"]
        resources["pids"] = ["limit": 33]
        linux["resources"] = resources
        json["linux"] = linux
        let bytes = try JSONSerialization.data(withJSONObject: json)
        try bytes.write(to: URL(fileURLWithPath: bundle + "/config.json"))

        let config = try ContainerConfig.decode(Array(bytes))
        let plan = try CgroupPlanner.plan(
            resources: config.linux?.resources, cgroupsPath: config.linux?.cgroupsPath ?? "", id: id,
            layout: try #require(try Cgroups.detectLayout()))
        #expect(plan.writes.contains { $0.file == "memory.memsw.limit_in_bytes" })

        try runRunc(["--root", work + "/state", "create", "--bundle", bundle, id])
        defer {
            try? runRunc(["--root", work + "/state", "delete", "--force", id])
            try? Cgroups.remove(plan)
        }
        for directory in plan.directories {
            #expect(FileManager.default.fileExists(atPath: directory.path), "runc made no \(directory.path)")
        }
        var compared = 0
        for write in plan.writes where !write.file.hasPrefix("devices.") {
            guard case .text(let value) = write.content else { continue }
            let readBack = try Cgroups.readText(write.path)
            if write.file == "memory.oom_control" {
                #expect(readBack.split(separator: "\n").contains("oom_kill_disable \(value)"))
            } else {
                #expect(readBack == value, "\(write.path)")
            }
            compared += 1
        }
        #expect(compared == 11)
        try runRunc(["--root", work + "/state", "delete", "--force", id])
        for directory in plan.directories {
            #expect(!FileManager.default.fileExists(atPath: directory.path), "\(directory.path) left behind")
        }
    }

    func runRunc(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.runc)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "runc \(arguments.joined(separator: " "))")
    }
}
