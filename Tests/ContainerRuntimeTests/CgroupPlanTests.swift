import OCISpec
import Testing

/// The planner against runc 1.1's files and formats (libcontainer/cgroups/fs and fs2).
@Suite struct CgroupPlanTests {
    static let v1 = CgroupLayout.v1([
        CgroupHierarchy(controllers: ["cpuset"], mountPoint: "/sys/fs/cgroup/cpuset"),
        CgroupHierarchy(controllers: ["cpu", "cpuacct"], mountPoint: "/sys/fs/cgroup/cpu,cpuacct", ownPath: "/user.slice"),
        CgroupHierarchy(controllers: ["memory"], mountPoint: "/sys/fs/cgroup/memory", mountRoot: "/outer", ownPath: "/outer/inner"),
        CgroupHierarchy(controllers: ["devices"], mountPoint: "/sys/fs/cgroup/devices"),
        CgroupHierarchy(controllers: ["pids"], mountPoint: "/sys/fs/cgroup/pids"),
        CgroupHierarchy(controllers: ["blkio"], mountPoint: "/sys/fs/cgroup/blkio"),
        CgroupHierarchy(controllers: ["hugetlb"], mountPoint: "/sys/fs/cgroup/hugetlb"),
        CgroupHierarchy(controllers: ["net_cls", "net_prio"], mountPoint: "/sys/fs/cgroup/net_cls,net_prio"),
        CgroupHierarchy(controllers: ["freezer"], mountPoint: "/sys/fs/cgroup/freezer"),
        CgroupHierarchy(controllers: ["name=systemd"], mountPoint: "/sys/fs/cgroup/systemd"),
    ])
    static let v2 = CgroupLayout.unified(
        CgroupHierarchy(controllers: ["cpuset", "cpu", "io", "memory", "pids"], mountPoint: "/sys/fs/cgroup", ownPath: "/user.slice/session-1.scope"))

    func writes(_ resources: Resources, _ layout: CgroupLayout = v1, path: String = "/c1") throws -> [String] {
        try CgroupPlanner.plan(resources: resources, cgroupsPath: path, id: "c1", layout: layout).writes
            .filter { $0.file != "cgroup.subtree_control" }
            .compactMap { write in
                guard case .text(let value) = write.content else { return nil }
                return "\(write.path)=\(value)"
            }
    }

    @Test func pathsV1() throws {
        // Absolute: below each hierarchy's root. Relative or the default id: below this process's cgroup.
        let absolute = try CgroupPlanner.plan(resources: nil, cgroupsPath: "/a/../b/c", id: "x", layout: Self.v1)
        #expect(absolute.directories.map(\.path).contains("/sys/fs/cgroup/memory/b/c"))
        #expect(absolute.directories.first { $0.controllers == ["memory"] }?.create == ["/sys/fs/cgroup/memory/b", "/sys/fs/cgroup/memory/b/c"])
        let byID = try CgroupPlanner.plan(resources: nil, cgroupsPath: "", id: "ctr", layout: Self.v1)
        #expect(byID.directories.first { $0.controllers == ["cpu", "cpuacct"] }?.path == "/sys/fs/cgroup/cpu,cpuacct/user.slice/ctr")
        // The memory mount shows /outer as its root, so /outer/inner is /inner below the mount point.
        #expect(byID.directories.first { $0.controllers == ["memory"] }?.path == "/sys/fs/cgroup/memory/inner/ctr")
        let relative = try CgroupPlanner.plan(resources: nil, cgroupsPath: "../../up/x", id: "ctr", layout: Self.v1)
        #expect(relative.directories.first { $0.controllers == ["cpuset"] }?.path == "/sys/fs/cgroup/cpuset/up/x")
        #expect(byID.directories.count == 10)
        #expect(byID.freezer?.path == "/sys/fs/cgroup/freezer/ctr")
    }

    @Test func pathsV2AndHybrid() throws {
        let plan = try CgroupPlanner.plan(resources: nil, cgroupsPath: "", id: "ctr", layout: Self.v2)
        // Below the parent of this process's cgroup, which has processes of its own.
        #expect(plan.directories.map(\.path) == ["/sys/fs/cgroup/user.slice/ctr"])
        #expect(plan.freezer?.path == "/sys/fs/cgroup/user.slice/ctr")
        let enabling = plan.writes.filter { $0.file == "cgroup.subtree_control" }
        #expect(enabling.count == 10)
        #expect(Set(enabling.map(\.directory)) == ["/sys/fs/cgroup", "/sys/fs/cgroup/user.slice"])
        #expect(enabling.first == CgroupWrite("/sys/fs/cgroup", "cgroup.subtree_control", "+cpuset", onError: .ignore))

        let hybrid = CgroupLayout.hybrid(
            [CgroupHierarchy(controllers: ["memory"], mountPoint: "/sys/fs/cgroup/memory", ownPath: "/m")],
            unified: CgroupHierarchy(controllers: [], mountPoint: "/sys/fs/cgroup/unified", ownPath: "/u"))
        let joined = try CgroupPlanner.plan(resources: nil, cgroupsPath: "", id: "ctr", layout: hybrid)
        #expect(joined.directories.map(\.path) == ["/sys/fs/cgroup/memory/m/ctr", "/sys/fs/cgroup/unified/ctr"])
        #expect(joined.freezer == nil)
        #expect(throws: CgroupPlanError.self) { try CgroupPlanner.plan(resources: nil, cgroupsPath: "/", id: "", layout: hybrid) }
    }

    @Test func memoryV1() throws {
        var resources = Resources()
        var memory = Memory()
        memory.limit = 1 << 20
        memory.swap = 2 << 20
        memory.reservation = 1 << 19
        memory.swappiness = 10
        memory.disableOOMKiller = true
        memory.kernel = 1 << 20
        resources.memory = memory
        let plan = try CgroupPlanner.plan(resources: resources, cgroupsPath: "/c1", id: "c1", layout: Self.v1)
        #expect(plan.warnings == ["kernel memory settings are ignored (as by runc)"])
        #expect(try writes(resources) == [
            "/sys/fs/cgroup/memory/c1/memory.limit_in_bytes=1048576",
            "/sys/fs/cgroup/memory/c1/memory.memsw.limit_in_bytes=2097152",
            "/sys/fs/cgroup/memory/c1/memory.soft_limit_in_bytes=524288",
            "/sys/fs/cgroup/memory/c1/memory.oom_control=1",
            "/sys/fs/cgroup/memory/c1/memory.swappiness=10",
        ])
        // Unlimited swap goes first: memsw may never be below the memory limit.
        memory = Memory()
        memory.limit = 1 << 20
        memory.swap = -1
        resources.memory = memory
        #expect(try writes(resources) == [
            "/sys/fs/cgroup/memory/c1/memory.memsw.limit_in_bytes=-1", "/sys/fs/cgroup/memory/c1/memory.limit_in_bytes=1048576",
        ])
        memory.limit = -1
        memory.swap = nil
        resources.memory = memory
        let unlimited = try CgroupPlanner.plan(resources: resources, cgroupsPath: "/c1", id: "c1", layout: Self.v1).writes
            .filter { $0.file.hasPrefix("memory.") }
        #expect(unlimited.map(\.file) == ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"])
        #expect(unlimited.first?.onError == .ignoreIfMissing)
    }

    @Test func memoryV2() throws {
        var resources = Resources()
        var memory = Memory()
        memory.limit = 100
        memory.swap = 300
        memory.reservation = 50
        resources.memory = memory
        let base = "/sys/fs/cgroup/c1/"
        #expect(try writes(resources, Self.v2) == [base + "memory.swap.max=200", base + "memory.max=100", base + "memory.low=50"])
        memory.swap = 100
        resources.memory = memory
        #expect(try writes(resources, Self.v2).first == base + "memory.swap.max=0")
        memory.limit = -1
        memory.swap = nil
        memory.reservation = nil
        resources.memory = memory
        #expect(try writes(resources, Self.v2) == [base + "memory.swap.max=max", base + "memory.max=max"])
        // No swap file without swap accounting: fine for `max` and 0, not for a limit.
        func swapOnError(_ limit: Int64, _ swap: Int64) throws -> CgroupWrite.OnError? {
            resources.memory?.limit = limit
            resources.memory?.swap = swap
            return try CgroupPlanner.plan(resources: resources, cgroupsPath: "/c1", id: "c1", layout: Self.v2)
                .writes.first { $0.file == "memory.swap.max" }?.onError
        }
        #expect(try swapOnError(-1, 0) == .ignoreIfMissing)
        #expect(try swapOnError(100, 100) == .ignoreIfMissing)
        #expect(try swapOnError(100, 300) == .fail)
        #expect(try CgroupPlanner.convertSwapToV2(swap: 0, memory: 5) == 0)
        #expect(try CgroupPlanner.convertSwapToV2(swap: -1, memory: 5) == -1)
        #expect(throws: CgroupPlanError.self) { try CgroupPlanner.convertSwapToV2(swap: 5, memory: 10) }
        #expect(throws: CgroupPlanError.self) { try CgroupPlanner.convertSwapToV2(swap: 5, memory: 0) }
    }

    @Test func cpu() throws {
        var resources = Resources()
        var cpu = CPU()
        cpu.shares = 1024
        cpu.quota = 50000
        cpu.period = 100_000
        cpu.realtimeRuntime = 950
        cpu.realtimePeriod = 1000
        cpu.cpus = "0-1"
        cpu.mems = "0"
        resources.cpu = cpu
        let v1cpu = "/sys/fs/cgroup/cpu,cpuacct/c1/"
        #expect(try writes(resources) == [
            "/sys/fs/cgroup/cpuset/c1/cpuset.cpus=0-1", "/sys/fs/cgroup/cpuset/c1/cpuset.mems=0",
            v1cpu + "cpu.shares=1024", v1cpu + "cpu.cfs_period_us=100000", v1cpu + "cpu.cfs_quota_us=50000",
            v1cpu + "cpu.rt_period_us=1000", v1cpu + "cpu.rt_runtime_us=950",
        ])
        let base = "/sys/fs/cgroup/c1/"
        #expect(try writes(resources, Self.v2) == [
            base + "cpu.weight=39", base + "cpu.max=50000 100000", base + "cpuset.cpus=0-1", base + "cpuset.mems=0",
        ])
        // Shares to weight: 2 -> 1, 1024 -> 39, 262144 -> 10000.
        #expect([2, 1024, 262_144].map(CgroupPlanner.convertSharesToWeight) == [1, 39, 10000])
        cpu = CPU()
        cpu.period = 20000
        resources.cpu = cpu
        #expect(try writes(resources, Self.v2) == [base + "cpu.max=max 20000"])
        // A new v1 cpuset cgroup takes its parent's cpus and mems before anything joins it.
        let inherit = try CgroupPlanner.plan(resources: nil, cgroupsPath: "/a/b", id: "x", layout: Self.v1).writes
        #expect(inherit == [
            CgroupWrite("/sys/fs/cgroup/cpuset/a", "cpuset.cpus", .parentsValue), CgroupWrite("/sys/fs/cgroup/cpuset/a", "cpuset.mems", .parentsValue),
            CgroupWrite("/sys/fs/cgroup/cpuset/a/b", "cpuset.cpus", .parentsValue), CgroupWrite("/sys/fs/cgroup/cpuset/a/b", "cpuset.mems", .parentsValue),
        ])
    }

    @Test func pids() throws {
        var resources = Resources()
        var pids = Pids()
        pids.limit = 42
        resources.pids = pids
        #expect(try writes(resources) == ["/sys/fs/cgroup/pids/c1/pids.max=42"])
        #expect(try writes(resources, Self.v2) == ["/sys/fs/cgroup/c1/pids.max=42"])
        pids.limit = -1
        resources.pids = pids
        #expect(try writes(resources) == ["/sys/fs/cgroup/pids/c1/pids.max=max"])
        #expect(try writes(resources, Self.v2) == ["/sys/fs/cgroup/c1/pids.max=max"])
        // runc 1.1 treats 0 as unset: nothing written, the kernel's default "max" stays.
        pids.limit = 0
        resources.pids = pids
        #expect(try writes(resources).isEmpty)
    }

    @Test func blockIO() throws {
        var resources = Resources()
        var blockIO = BlockIO()
        blockIO.weight = 500
        blockIO.leafWeight = 300
        var device = WeightDevice()
        device.major = 8
        device.minor = 0
        device.weight = 600
        device.leafWeight = 100
        blockIO.weightDevice = [device]
        var throttle = ThrottleDevice()
        throttle.major = 8
        throttle.minor = 16
        throttle.rate = 1_048_576
        blockIO.throttleReadBpsDevice = [throttle]
        blockIO.throttleWriteIOPSDevice = [throttle]
        resources.blockIO = blockIO
        let base = "/sys/fs/cgroup/blkio/c1/"
        #expect(try writes(resources) == [
            base + "blkio.weight=500", base + "blkio.leaf_weight=300", base + "blkio.weight_device=8:0 600",
            base + "blkio.leaf_weight_device=8:0 100", base + "blkio.throttle.read_bps_device=8:16 1048576",
            base + "blkio.throttle.write_iops_device=8:16 1048576",
        ])
        let v2 = "/sys/fs/cgroup/c1/"
        // As runc 1.1.5: BFQ's weight as given, else io.weight converted:
        // 500 -> 1 + (500 - 10) * 9999 / 990 = 4950. Device weights only with BFQ.
        #expect(try writes(resources, Self.v2) == [
            v2 + "io.bfq.weight=500", v2 + "io.bfq.weight=8:0 600", v2 + "io.max=8:16 rbps=1048576", v2 + "io.max=8:16 wiops=1048576",
        ])
        // v1: CFQ's weight files, else BFQ's (this kernel's v1 blkio has only BFQ's).
        let v1 = try CgroupPlanner.plan(resources: resources, cgroupsPath: "/c1", id: "c1", layout: Self.v1)
        let directory = "/sys/fs/cgroup/blkio/c1"
        #expect(v1.writes.first { $0.file == "blkio.weight" }?.onError == .otherwiseIfMissing(CgroupWrite(directory, "blkio.bfq.weight", "500")))
        #expect(v1.writes.first { $0.file == "blkio.weight_device" }?.onError
            == .otherwiseIfMissing(CgroupWrite(directory, "blkio.bfq.weight_device", "8:0 600")))
        #expect(v1.writes.first { $0.file == "blkio.leaf_weight" }?.onError == .fail)
        let plan = try CgroupPlanner.plan(resources: resources, cgroupsPath: "/c1", id: "c1", layout: Self.v2)
        #expect(plan.writes.first { $0.file == "io.bfq.weight" }?.onError == .otherwiseIfMissing(CgroupWrite("/sys/fs/cgroup/c1", "io.weight", "4950")))
        #expect(plan.writes.last { $0.file == "io.bfq.weight" }?.onError == .ignoreIfMissing)
        #expect(plan.warnings == ["blockIO.leafWeight has no cgroup v2 file and is ignored"])
    }

    @Test func devices() throws {
        var resources = Resources()
        var denyAll = DeviceRule()
        denyAll.access = "rwm"
        var null = DeviceRule()
        null.allow = true
        null.type = "c"
        null.major = 1
        null.minor = 3
        null.access = "rwm"
        var anyBlock = DeviceRule()
        anyBlock.allow = true
        anyBlock.type = "b"
        anyBlock.major = 8
        anyBlock.access = "r"
        resources.devices = [denyAll, null, anyBlock]
        let base = "/sys/fs/cgroup/devices/c1/"
        #expect(try writes(resources) == [base + "devices.deny=a *:* rwm", base + "devices.allow=c 1:3 rwm", base + "devices.allow=b 8:* r"])
        let v2 = try CgroupPlanner.plan(resources: resources, cgroupsPath: "/c1", id: "c1", layout: Self.v2)
        #expect(v2.writes.allSatisfy { !$0.file.hasPrefix("devices") })
        // v2: an eBPF program from the same rules (DeviceFilterTests runs it).
        #expect(v2.warnings.isEmpty)
        #expect(v2.deviceFilter == (try DeviceFilter(rules: resources.devices)))
        #expect(v2.deviceFilter?.defaultAllow == false)
        #expect(try CgroupPlanner.plan(resources: resources, cgroupsPath: "/c1", id: "c1", layout: Self.v1).deviceFilter == nil)
    }

    @Test func hugetlbNetworkUnified() throws {
        var resources = Resources()
        var huge = HugepageLimit()
        huge.pageSize = "2MB"
        huge.limit = 4 << 20
        resources.hugepageLimits = [huge]
        var network = Network()
        network.classID = 0x100001
        var priority = InterfacePriority()
        priority.name = "eth0"
        priority.priority = 5
        network.priorities = [priority]
        resources.network = network
        #expect(try writes(resources) == [
            "/sys/fs/cgroup/hugetlb/c1/hugetlb.2MB.limit_in_bytes=4194304",
            "/sys/fs/cgroup/net_cls,net_prio/c1/net_cls.classid=1048577",
            "/sys/fs/cgroup/net_cls,net_prio/c1/net_prio.ifpriomap=eth0 5",
        ])
        resources.network = nil
        resources.unified = ["memory.high": "1000", "cpu.weight.nice": "5"]
        #expect(try writes(resources, Self.v2) == [
            "/sys/fs/cgroup/c1/hugetlb.2MB.max=4194304", "/sys/fs/cgroup/c1/cpu.weight.nice=5", "/sys/fs/cgroup/c1/memory.high=1000",
        ])
        #expect(throws: CgroupPlanError.self) { try writes(resources) }
        resources.unified = ["../escape": "1"]
        #expect(throws: CgroupPlanError.self) { try writes(resources, Self.v2) }
    }

    @Test func missingController() throws {
        var resources = Resources()
        var pids = Pids()
        pids.limit = 3
        resources.pids = pids
        let layout = CgroupLayout.v1([CgroupHierarchy(controllers: ["memory"], mountPoint: "/m")])
        #expect(throws: CgroupPlanError.self) { try CgroupPlanner.plan(resources: resources, cgroupsPath: "", id: "x", layout: layout) }
    }
}
