import CoreboxCore

/// `--systemd-cgroup`: the container's cgroup is a transient scope unit of
/// systemd's, named by `linux.cgroupsPath` as runc reads it,
/// `SLICE:PREFIX:NAME` (unit `PREFIX-NAME.scope` in `SLICE`), or, when the
/// config has none, `container-ID.scope` in `system.slice`.
public struct SystemdCgroup: Equatable, Sendable {
    public var slice: String
    public var unit: String

    public init(slice: String, unit: String) {
        self.slice = slice
        self.unit = unit
    }

    public init(cgroupsPath: String, id: String) throws(CgroupPlanError) {
        guard !cgroupsPath.isEmpty else {
            (slice, unit) = ("system.slice", "container-\(id).scope")
            return
        }
        let parts = cgroupsPath.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw CgroupPlanError("with --systemd-cgroup the cgroup path is SLICE:PREFIX:NAME, not \"\(cgroupsPath)\"")
        }
        let (slice, prefix, name) = (parts[0].isEmpty ? "system.slice" : parts[0], parts[1], parts[2])
        guard slice.hasSuffix(".slice"), !slice.contains("/") else { throw CgroupPlanError("\"\(slice)\" is not a slice unit name") }
        guard !name.isEmpty, !name.contains("/"), !prefix.contains("/") else { throw CgroupPlanError("\"\(cgroupsPath)\": the scope needs a name") }
        guard !name.hasSuffix(".slice") else { throw CgroupPlanError("\"\(cgroupsPath)\": a container is a scope, not a slice") }
        self.slice = slice
        unit = (prefix.isEmpty ? name : prefix + "-" + name) + ".scope"
    }

    /// The scope's cgroup below the hierarchy's root: every dash of a slice
    /// name is a level (`a-b.slice` is `/a.slice/a-b.slice`).
    public var path: String {
        var path = ""
        if slice != "-.slice" {
            var prefix = ""
            for level in slice.dropLast(".slice".count).split(separator: "-") {
                prefix += (prefix.isEmpty ? "" : "-") + String(level)
                path += "/" + prefix + ".slice"
            }
        }
        return path + "/" + unit
    }
}

/// The value of a systemd unit property that sets a cgroup limit.
public enum SystemdProperty: Equatable, Sendable {
    case uint64(UInt64)
    /// A CPU or memory-node set: bit N%8 of byte N/8 for CPU N.
    case mask([UInt8])
}

extension SystemdCgroup {
    /// runc 1.1's unit properties for `resources` (v1 or unified names),
    /// given to systemd when the scope starts and at `update`. systemd
    /// writes a unit's limits back into its cgroup whenever it realizes it
    /// again, at every daemon-reload (measured in the VM: memory.max went
    /// back to `max`), so limits only in the files would not last. Device
    /// rules stay with the runtime's own program: systemd attaches none for
    /// a unit without a device policy.
    public static func properties(_ resources: Resources, unified: Bool) throws(CgroupPlanError) -> [(name: String, value: SystemdProperty)] {
        var properties: [(name: String, value: SystemdProperty)] = []
        func add(_ name: String, _ value: Int64) { properties.append((name, .uint64(UInt64(bitPattern: value)))) }
        let limit = resources.memory?.limit ?? 0
        if limit != 0 { add(unified ? "MemoryMax" : "MemoryLimit", limit) }
        if unified {
            if let reservation = resources.memory?.reservation, reservation != 0 { add("MemoryLow", reservation) }
            let swap = try CgroupPlanner.convertSwapToV2(swap: resources.memory?.swap ?? 0, memory: limit)
            if swap != 0 { add("MemorySwapMax", swap) }
        }
        if let shares = resources.cpu?.shares, shares != 0 {
            properties.append(unified ? ("CPUWeight", .uint64(CgroupPlanner.convertSharesToWeight(shares))) : ("CPUShares", .uint64(shares)))
        }
        let quota = resources.cpu?.quota ?? 0
        let period = resources.cpu?.period ?? 0
        if period != 0 { properties.append(("CPUQuotaPeriodUSec", .uint64(period))) }
        if quota != 0 || period != 0 {
            // Microseconds per second; systemd keeps whole percents, so up to the next 10 ms as runc.
            var perSecond = UInt64.max
            if quota > 0 {
                perSecond = UInt64(quota) * 1_000_000 / (period == 0 ? 100_000 : period)
                if perSecond % 10_000 != 0 { perSecond = (perSecond / 10_000 + 1) * 10_000 }
            }
            properties.append(("CPUQuotaPerSecUSec", .uint64(perSecond)))
        }
        if !unified, let weight = resources.blockIO?.weight, weight != 0 { add("BlockIOWeight", Int64(weight)) }
        if let pids = resources.pids?.limit, pids > 0 || pids == -1 { add("TasksMax", pids) }
        if let cpus = resources.cpu?.cpus, !cpus.isEmpty { properties.append(("AllowedCPUs", .mask(try mask(cpus)))) }
        if let mems = resources.cpu?.mems, !mems.isEmpty { properties.append(("AllowedMemoryNodes", .mask(try mask(mems)))) }
        return properties
    }

    /// A cpuset list (`0-3,8`; spaces and empty items allowed, as runc) as
    /// systemd's mask; an empty set is refused.
    public static func mask(_ list: String) throws(CgroupPlanError) -> [UInt8] {
        var bytes: [UInt8] = []
        for item in list.split(separator: ",").map({ String($0).trimmingWhiteSpace }) where !item.isEmpty {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let first = Int(bounds[0]), let last = Int(bounds[bounds.count - 1]),
                  first >= 0, first <= last, last < 1 << 16 else {
                throw CgroupPlanError("\(quoted(list)) is not a cpuset list (like 0-3,8)")
            }
            for cpu in first...last {
                while bytes.count <= cpu / 8 { bytes.append(0) }
                bytes[cpu / 8] |= 1 << UInt8(cpu % 8)
            }
        }
        if bytes.isEmpty { throw CgroupPlanError("\(quoted(list)) names no CPU or node") }
        return bytes
    }
}
