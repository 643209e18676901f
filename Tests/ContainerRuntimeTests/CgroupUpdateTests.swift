import CoreboxCore
@testable import ContainerRuntime
import OCISpec
import Testing

/// `update`: runc 1.1's flags and document, and the writes into a cgroup that exists.
@Suite struct CgroupUpdateTests {
    static let hybrid = CgroupLayout.hybrid([
        CgroupHierarchy(controllers: ["cpuset"], mountPoint: "/sys/fs/cgroup/cpuset"),
        CgroupHierarchy(controllers: ["cpu"], mountPoint: "/sys/fs/cgroup/cpu"),
        CgroupHierarchy(controllers: ["memory"], mountPoint: "/sys/fs/cgroup/memory"),
        CgroupHierarchy(controllers: ["pids"], mountPoint: "/sys/fs/cgroup/pids"),
        CgroupHierarchy(controllers: ["blkio"], mountPoint: "/sys/fs/cgroup/blkio"),
    ], unified: CgroupHierarchy(controllers: [], mountPoint: "/sys/fs/cgroup/unified"))
    static let v2 = CgroupLayout.unified(CgroupHierarchy(controllers: ["cpuset", "cpu", "io", "memory", "pids"], mountPoint: "/sys/fs/cgroup"))

    func request(_ arguments: [String], document: String = "") throws -> Resources {
        let flags = try GoFlags(arguments, values: UpdateRequest.values, flags: [], aliases: UpdateRequest.aliases)
        return try UpdateRequest.resources(flags) { _ in Array(document.utf8) }
    }

    /// The message a refused request prints; nil when it is taken.
    func refusal(_ arguments: [String], document: String = "") -> String? {
        do {
            _ = try request(arguments, document: document)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func writes(_ resources: Resources, _ layout: CgroupLayout = hybrid, current: CurrentLimits = CurrentLimits()) throws -> [String] {
        try CgroupPlanner.update(resources: resources, cgroupsPath: "/u1", id: "u1", layout: layout, current: current).writes.map { write in
            guard case .text(let value) = write.content else { return "\(write.path) from the parent" }
            return "\(write.path)=\(value)"
        }
    }

    @Test func sizesAsDockerReadsThem() {
        #expect(UpdateRequest.ramInBytes("100") == 100)
        #expect(UpdateRequest.ramInBytes("512m") == 512 << 20)
        #expect(UpdateRequest.ramInBytes("1.5GiB") == 3 << 29)
        #expect(UpdateRequest.ramInBytes("2 kb") == 2048)
        #expect(UpdateRequest.ramInBytes("1T") == 1 << 40)
        for bad in ["", "m", "12x", "1.2.3", "-5", "1 2", ".5m", "1e3"] {
            #expect(UpdateRequest.ramInBytes(bad) == nil, "\(bad)")
        }
    }

    @Test func flagsBecomeResources() throws {
        let resources = try request([
            "--memory", "200m", "--memory-swap=-1", "--cpu-share", "1024", "--cpu-quota", "50000",
            "--cpuset-cpus", "0-1", "--blkio-weight", "300", "--pids-limit", "80",
        ])
        #expect(resources.memory?.limit == 200 << 20 && resources.memory?.swap == -1 && resources.memory?.reservation == nil)
        #expect(resources.cpu?.shares == 1024 && resources.cpu?.quota == 50000 && resources.cpu?.period == nil && resources.cpu?.cpus == "0-1")
        #expect(resources.blockIO?.weight == 300)
        #expect(resources.pids?.limit == 80)
        // Nothing asked, nothing changed.
        #expect(try request([]) == Resources())
    }

    @Test func badFlagsNameTheFlag() {
        #expect(refusal(["--memory", "lots"]) == "update: invalid value for memory: invalid size: 'lots'")
        #expect(refusal(["--cpu-share", "-3"]) == "update: invalid value for cpu-share: \"-3\" is not a number")
        #expect(refusal(["--l3-cache-schema", "L3:0=ff"]) == "update: Intel RDT is not supported")
    }

    @Test func aDocumentReplacesTheFlagsAndKeepsWhatRuncApplies() throws {
        let document = #"{"memory": {"limit": 52428800, "swappiness": 10}, "pids": {"limit": -1}, "devices": [{"allow": false, "access": "rwm"}], "hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}"#
        let resources = try request(["--resources", "-", "--memory", "1g"], document: document)
        var expected = Resources()
        expected.memory = Memory()
        expected.memory?.limit = 52_428_800
        expected.pids = Pids()
        expected.pids?.limit = -1
        #expect(resources == expected)
        #expect(refusal(["-r", "-"], document: #"{"memory": {"limit": "big"}}"#)
            == "update: standard input: memory.limit: expected an integer from -9223372036854775808 to 9223372036854775807, got \"big\"")
    }

    @Test func writesIntoTheExistingCgroups() throws {
        let resources = try request(["--memory", "200m", "--cpu-share", "1024", "--cpuset-cpus", "1", "--pids-limit", "80"])
        // No cpuset inheritance, no directory made: only the limits asked for.
        #expect(try writes(resources) == [
            "/sys/fs/cgroup/cpuset/u1/cpuset.cpus=1", "/sys/fs/cgroup/memory/u1/memory.limit_in_bytes=209715200",
            "/sys/fs/cgroup/cpu/u1/cpu.shares=1024", "/sys/fs/cgroup/pids/u1/pids.max=80",
        ])
        let plan = try CgroupPlanner.update(resources: resources, cgroupsPath: "/u1", id: "u1", layout: Self.hybrid, current: CurrentLimits())
        // The container's own cgroups, as create made them.
        #expect(plan.directories.map(\.path) == [
            "/sys/fs/cgroup/cpuset/u1", "/sys/fs/cgroup/cpu/u1", "/sys/fs/cgroup/memory/u1", "/sys/fs/cgroup/pids/u1",
            "/sys/fs/cgroup/blkio/u1", "/sys/fs/cgroup/unified/u1",
        ])
        // v2: no controller is enabled on the way down.
        #expect(try writes(resources, Self.v2).allSatisfy { !$0.contains("subtree_control") })
    }

    @Test func memoryAndSwapOrderFollowsTheLimitInPlace() throws {
        let resources = try request(["--memory", "200m", "--memory-swap", "300m"])
        let limit = "/sys/fs/cgroup/memory/u1/memory.limit_in_bytes=209715200"
        let swap = "/sys/fs/cgroup/memory/u1/memory.memsw.limit_in_bytes=314572800"
        // Raising above the limit in place: memsw first, or the kernel refuses memory above memsw.
        #expect(try writes(resources, current: CurrentLimits(memoryLimit: 100 << 20)) == [swap, limit])
        // Lowering: memory first, or memsw would go below it.
        #expect(try writes(resources, current: CurrentLimits(memoryLimit: 400 << 20)) == [limit, swap])
    }

    @Test func oneHalfOfCPUMaxKeepsTheOther() throws {
        let quota = try request(["--cpu-quota", "20000"])
        #expect(try writes(quota, Self.v2, current: CurrentLimits(cpuMax: CPUMax("max 250000"))) == ["/sys/fs/cgroup/u1/cpu.max=20000 250000"])
        let period = try request(["--cpu-period", "50000"])
        #expect(try writes(period, Self.v2, current: CurrentLimits(cpuMax: CPUMax("30000 100000"))) == ["/sys/fs/cgroup/u1/cpu.max=30000 50000"])
        #expect(try writes(period, Self.v2, current: CurrentLimits(cpuMax: CPUMax("max 100000"))) == ["/sys/fs/cgroup/u1/cpu.max=max 50000"])
        #expect(CPUMax("max") == nil && CPUMax("1 2 3") == nil && CPUMax("x 100000") == nil)
    }
}
