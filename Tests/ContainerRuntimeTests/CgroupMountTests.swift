import OCISpec
import Testing

/// A config's `cgroup` mount turned into what mount(2) can do, per layout.
@Suite struct CgroupMountTests {
    static let cgroupMount: Mount = {
        var mount = Mount()
        (mount.destination, mount.type, mount.source) = ("/sys/fs/cgroup", "cgroup", "cgroup")
        mount.options = ["nosuid", "noexec", "nodev", "relatime", "ro"]
        return mount
    }()

    func lines(_ mounts: [Mount]) -> [String] {
        mounts.map { "\($0.type) \($0.source) \($0.destination) \($0.options.joined(separator: ","))" }
    }

    @Test func v1BecomesATmpfsWithTheContainersCgroupsBound() throws {
        let plan = try CgroupPlanner.plan(resources: nil, cgroupsPath: "/c1", id: "c1", layout: CgroupPlanTests.v1)
        var proc = Mount()
        (proc.destination, proc.type, proc.source) = ("/proc", "proc", "proc")
        let expanded = CgroupMounts.expand([proc, Self.cgroupMount], plan: plan, layout: CgroupPlanTests.v1)
        let options = "nosuid,noexec,nodev,relatime,ro"
        #expect(lines(expanded) == [
            "proc proc /proc ",
            "tmpfs tmpfs /sys/fs/cgroup nosuid,noexec,nodev,relatime,mode=755",
            "bind /sys/fs/cgroup/cpuset/c1 /sys/fs/cgroup/cpuset rbind,\(options)",
            "bind /sys/fs/cgroup/cpu,cpuacct/c1 /sys/fs/cgroup/cpu,cpuacct rbind,\(options)",
            "bind /sys/fs/cgroup/cpu,cpuacct/c1 /sys/fs/cgroup/cpu rbind,\(options)",
            "bind /sys/fs/cgroup/cpu,cpuacct/c1 /sys/fs/cgroup/cpuacct rbind,\(options)",
            "bind /sys/fs/cgroup/memory/c1 /sys/fs/cgroup/memory rbind,\(options)",
            "bind /sys/fs/cgroup/devices/c1 /sys/fs/cgroup/devices rbind,\(options)",
            "bind /sys/fs/cgroup/pids/c1 /sys/fs/cgroup/pids rbind,\(options)",
            "bind /sys/fs/cgroup/blkio/c1 /sys/fs/cgroup/blkio rbind,\(options)",
            "bind /sys/fs/cgroup/hugetlb/c1 /sys/fs/cgroup/hugetlb rbind,\(options)",
            "bind /sys/fs/cgroup/net_cls,net_prio/c1 /sys/fs/cgroup/net_cls,net_prio rbind,\(options)",
            "bind /sys/fs/cgroup/net_cls,net_prio/c1 /sys/fs/cgroup/net_cls rbind,\(options)",
            "bind /sys/fs/cgroup/net_cls,net_prio/c1 /sys/fs/cgroup/net_prio rbind,\(options)",
            "bind /sys/fs/cgroup/freezer/c1 /sys/fs/cgroup/freezer rbind,\(options)",
            "bind /sys/fs/cgroup/systemd/c1 /sys/fs/cgroup/systemd rbind,\(options)",
            "tmpfs tmpfs /sys/fs/cgroup remount,\(options)",
        ])
    }

    @Test func writableV1NeedsNoRemount() throws {
        var mount = Self.cgroupMount
        mount.options = ["nosuid"]
        let plan = try CgroupPlanner.plan(resources: nil, cgroupsPath: "/c1", id: "c1", layout: CgroupPlanTests.v1)
        let expanded = CgroupMounts.expand([mount], plan: plan, layout: CgroupPlanTests.v1)
        #expect(expanded.first?.type == "tmpfs")
        #expect(!expanded.contains { $0.options.contains("remount") })
    }

    @Test func v2BecomesCgroup2() throws {
        let plan = try CgroupPlanner.plan(resources: nil, cgroupsPath: "/c1", id: "c1", layout: CgroupPlanTests.v2)
        #expect(lines(CgroupMounts.expand([Self.cgroupMount], plan: plan, layout: CgroupPlanTests.v2)) == [
            "cgroup2 cgroup /sys/fs/cgroup nosuid,noexec,nodev,relatime,ro",
        ])
    }
}
