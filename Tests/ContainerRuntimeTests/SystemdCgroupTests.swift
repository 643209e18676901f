import OCISpec
import Testing

/// `--systemd-cgroup`'s reading of linux.cgroupsPath, as runc's.
@Suite struct SystemdCgroupTests {
    @Test func slicePrefixAndName() throws {
        let scope = try SystemdCgroup(cgroupsPath: "machine.slice:podman:abc", id: "x")
        #expect(scope.slice == "machine.slice")
        #expect(scope.unit == "podman-abc.scope")
        #expect(scope.path == "/machine.slice/podman-abc.scope")
    }

    @Test func nestedSlicesAreLevels() throws {
        let scope = try SystemdCgroup(cgroupsPath: "a-b-c.slice::web", id: "x")
        #expect(scope.unit == "web.scope")
        #expect(scope.path == "/a.slice/a-b.slice/a-b-c.slice/web.scope")
        #expect(try SystemdCgroup(cgroupsPath: "-.slice:p:n", id: "x").path == "/p-n.scope")
    }

    @Test func defaults() throws {
        let scope = try SystemdCgroup(cgroupsPath: "", id: "c1")
        #expect(scope == SystemdCgroup(slice: "system.slice", unit: "container-c1.scope"))
        #expect(try SystemdCgroup(cgroupsPath: ":p:n", id: "x").slice == "system.slice")
    }

    @Test func refused() {
        for path in ["/a/b", "a:b", "system.slice:p:", "notaslice:p:n", "system.slice:p:n.slice", "system.slice:p:a/b"] {
            #expect(throws: CgroupPlanError.self, "\(path)") { try SystemdCgroup(cgroupsPath: path, id: "x") }
        }
    }

    // MARK: The limits given to systemd

    static func resources() -> Resources {
        var resources = Resources()
        resources.memory = Memory()
        resources.memory?.limit = 64 << 20
        resources.memory?.swap = 96 << 20
        resources.memory?.reservation = 32 << 20
        resources.cpu = CPU()
        resources.cpu?.shares = 1024
        resources.cpu?.quota = 25_001
        resources.cpu?.period = 100_000
        resources.cpu?.cpus = "0-2,9"
        resources.pids = Pids()
        resources.pids?.limit = 50
        resources.blockIO = BlockIO()
        resources.blockIO?.weight = 300
        return resources
    }

    func names(_ properties: [(name: String, value: SystemdProperty)]) -> [String: SystemdProperty] {
        Dictionary(uniqueKeysWithValues: properties.map { ($0.name, $0.value) })
    }

    @Test func unifiedProperties() throws {
        let properties = names(try SystemdCgroup.properties(Self.resources(), unified: true))
        #expect(properties == [
            "MemoryMax": .uint64(64 << 20), "MemoryLow": .uint64(32 << 20), "MemorySwapMax": .uint64(32 << 20),
            // shares 1024 as runc converts them: 1 + (1024 - 2) * 9999 / 262142
            "CPUWeight": .uint64(39), "CPUQuotaPeriodUSec": .uint64(100_000),
            // 25001 us in 100 ms is 250010 us a second, up to whole percents
            "CPUQuotaPerSecUSec": .uint64(260_000),
            "TasksMax": .uint64(50), "AllowedCPUs": .mask([0b0000_0111, 0b0000_0010]),
        ])
    }

    @Test func v1Properties() throws {
        let properties = names(try SystemdCgroup.properties(Self.resources(), unified: false))
        #expect(properties["MemoryLimit"] == .uint64(64 << 20) && properties["MemoryMax"] == nil)
        #expect(properties["CPUShares"] == .uint64(1024) && properties["BlockIOWeight"] == .uint64(300))
        #expect(properties["MemorySwapMax"] == nil && properties["MemoryLow"] == nil)
    }

    @Test func unlimitedAndNothing() throws {
        var resources = Resources()
        resources.memory = Memory()
        resources.memory?.limit = -1
        resources.pids = Pids()
        resources.pids?.limit = -1
        resources.cpu = CPU()
        resources.cpu?.period = 50_000
        let properties = names(try SystemdCgroup.properties(resources, unified: true))
        #expect(properties["MemoryMax"] == .uint64(.max) && properties["TasksMax"] == .uint64(.max))
        // A period alone: systemd's quota stays infinite.
        #expect(properties["CPUQuotaPerSecUSec"] == .uint64(.max) && properties["CPUQuotaPeriodUSec"] == .uint64(50_000))
        #expect(try SystemdCgroup.properties(Resources(), unified: true).isEmpty)
    }

    @Test func cpusetMasks() throws {
        #expect(try SystemdCgroup.mask("0") == [1])
        #expect(try SystemdCgroup.mask("7,8") == [0x80, 0x01])
        #expect(try SystemdCgroup.mask("1-3") == [0x0e])
        #expect(try SystemdCgroup.mask(" 0 ,,2") == [0x05])
        for bad in ["a", "3-1", "1-2-3", "-1", "1-", ","] {
            #expect(throws: CgroupPlanError.self, "\(bad)") { try SystemdCgroup.mask(bad) }
        }
    }
}
