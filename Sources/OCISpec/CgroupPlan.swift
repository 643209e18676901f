import CoreboxCore

// The cgroup planner: config.json's `linux.resources` and `cgroupsPath`, the
// container id and the host's cgroup layout, to the directories to create and
// the files to write, in order. The files and value formats are those runc
// 1.1's libcontainer/cgroups/fs (v1) and fs2 (v2) write into a new cgroup.

/// One mounted cgroup hierarchy, as /proc/self/mountinfo and /proc/self/cgroup show it.
public struct CgroupHierarchy: Equatable, Sendable {
    /// v1: the controllers mounted together (`["cpu", "cpuacct"]`, `["name=systemd"]`);
    /// v2: the controllers the root offers (its cgroup.controllers).
    public var controllers: [String]
    public var mountPoint: String
    /// The hierarchy's directory mounted there (mountinfo's root field, `/` on the host).
    public var mountRoot: String
    /// This process's cgroup in the hierarchy (/proc/self/cgroup).
    public var ownPath: String

    public init(controllers: [String], mountPoint: String, mountRoot: String = "/", ownPath: String = "/") {
        self.controllers = controllers
        self.mountPoint = mountPoint
        self.mountRoot = mountRoot
        self.ownPath = ownPath
    }
}

public enum CgroupLayout: Equatable, Sendable {
    /// Only v1 hierarchies.
    case v1([CgroupHierarchy])
    /// One v2 hierarchy holding every controller.
    case unified(CgroupHierarchy)
    /// v1 controllers beside an (empty) v2 hierarchy, which runc joins without limits.
    case hybrid([CgroupHierarchy], unified: CgroupHierarchy)

    /// Whether the limits are v2's (one hierarchy holds every controller).
    public var isUnified: Bool {
        if case .unified = self { return true }
        return false
    }
}

/// The container's cgroup in one hierarchy.
public struct CgroupDirectory: Equatable, Sendable {
    /// v1: the hierarchy's controllers; v2: empty.
    public var controllers: [String]
    public var isUnified: Bool
    /// The container's cgroup, absolute.
    public var path: String
    /// The directories between the mount point and `path` (included), parent first;
    /// some may exist already.
    public var create: [String]
}

public struct CgroupWrite: Equatable, Sendable {
    public enum Content: Equatable, Sendable {
        case text(String)
        /// The same file's contents in the parent directory (cpuset.cpus and
        /// cpuset.mems start empty in a new v1 cpuset cgroup).
        case parentsValue
    }

    public indirect enum OnError: Equatable, Sendable {
        case fail
        /// The file may not exist (memory.memsw.* without swap accounting).
        case ignoreIfMissing
        /// Best effort (enabling a controller in cgroup.subtree_control).
        case ignore
        /// Where the file does not exist, this write instead (io.bfq.weight
        /// without the BFQ scheduler: io.weight).
        case otherwiseIfMissing(CgroupWrite)
    }

    public var directory: String
    public var file: String
    public var content: Content
    public var onError: OnError

    public init(_ directory: String, _ file: String, _ content: Content, onError: OnError = .fail) {
        self.directory = directory
        self.file = file
        self.content = content
        self.onError = onError
    }

    public init(_ directory: String, _ file: String, _ value: String, onError: OnError = .fail) {
        self.init(directory, file, .text(value), onError: onError)
    }

    public var path: String { directory + "/" + file }
}

public struct CgroupPlan: Equatable, Sendable {
    public var directories: [CgroupDirectory]
    public var writes: [CgroupWrite]
    /// Settings the plan leaves out, one sentence each.
    public var warnings: [String]

    /// The cgroup to freeze: v1's freezer hierarchy or the v2 cgroup; nil when neither is there.
    public var freezer: CgroupDirectory?

    /// v2: the device policy to attach to the container's cgroup as an eBPF
    /// program (v1 writes devices.allow and devices.deny instead).
    public var deviceFilter: DeviceFilter?
}

public struct CgroupPlanError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

public enum CgroupPlanner {
    /// The v1 controllers runc joins, in the order it sets them.
    static let v1Subsystems = [
        "cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb",
        "net_cls", "net_prio", "perf_event", "freezer", "rdma", "name=systemd",
    ]

    /// The plan for a new cgroup. Device rules are written as given, in
    /// order: the caller appends the allow rules for the container's default
    /// devices, as runc does. Settings with no file on the layout become
    /// warnings; impossible ones (a limit for an unmounted controller, swap
    /// below memory on v2, `unified` on v1) throw.
    public static func plan(
        resources: Resources?, cgroupsPath: String, id: String, layout: CgroupLayout
    ) throws(CgroupPlanError) -> CgroupPlan {
        try plan(resources ?? Resources(), cgroupsPath: cgroupsPath, id: id, layout: layout, update: nil)
    }

    /// The writes that change the limits of an existing cgroup (`update`):
    /// no directory is made, no cpuset value inherited, no controller
    /// enabled, and `current` decides what depends on the limits in place.
    public static func update(
        resources: Resources, cgroupsPath: String, id: String, layout: CgroupLayout, current: CurrentLimits
    ) throws(CgroupPlanError) -> CgroupPlan {
        try plan(resources, cgroupsPath: cgroupsPath, id: id, layout: layout, update: current)
    }

    static func plan(
        _ resources: Resources, cgroupsPath: String, id: String, layout: CgroupLayout, update: CurrentLimits?
    ) throws(CgroupPlanError) -> CgroupPlan {
        let cleaned = cleanPath(cgroupsPath)
        let inner = cleaned.isEmpty ? cleanPath(id) : cleaned
        if inner.isEmpty || inner == "/" { throw CgroupPlanError("the cgroup path must name a cgroup below the root") }
        switch layout {
        case .v1(let hierarchies):
            return try planV1(resources, inner: inner, hierarchies: hierarchies, unified: nil, update: update)
        case .hybrid(let hierarchies, let unified):
            return try planV1(resources, inner: inner, hierarchies: hierarchies, unified: unified, update: update)
        case .unified(let hierarchy):
            return try planV2(resources, inner: inner, hierarchy: hierarchy, update: update)
        }
    }

    // MARK: Paths

    /// runc's CleanPath: a lexically clean path that a relative `..` cannot take above its start.
    static func cleanPath(_ path: String) -> String {
        if path.isEmpty { return "" }
        var parts: [String] = []
        for part in path.split(byte: UInt8(ascii: "/")) {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        let joined = parts.joined(by: "/")
        return path.hasPrefix("/") ? "/" + joined : joined
    }

    static func join(_ base: String, _ rest: String) -> String {
        let cleaned = cleanPath(rest)
        if cleaned.isEmpty || cleaned == "/" { return base }
        return base + (cleaned.hasPrefix("/") ? "" : "/") + cleaned
    }

    /// The directories strictly below `mountPoint` down to `path`.
    static func chain(from mountPoint: String, to path: String) -> [String] {
        var directories: [String] = []
        var current = mountPoint
        for part in (path.after(prefix: mountPoint) ?? "").split(byte: UInt8(ascii: "/")) {
            current += "/" + part
            directories.append(current)
        }
        return directories
    }

    /// v1: an absolute inner path is below the hierarchy's root; a relative
    /// one below this process's cgroup (as seen through the mount's root).
    static func v1Path(_ hierarchy: CgroupHierarchy, inner: String) -> String {
        if inner.hasPrefix("/") { return join(hierarchy.mountPoint, inner) }
        var own = hierarchy.ownPath
        if hierarchy.mountRoot != "/", let below = own.after(prefix: hierarchy.mountRoot) { own = below }
        return join(join(hierarchy.mountPoint, own), inner)
    }

    // MARK: v1

    static func planV1(
        _ resources: Resources, inner: String, hierarchies: [CgroupHierarchy], unified: CgroupHierarchy?, update: CurrentLimits?
    ) throws(CgroupPlanError) -> CgroupPlan {
        if !resources.unified.isEmpty { throw CgroupPlanError("linux.resources.unified needs cgroup v2, this host mounts v1 controllers") }
        var directories: [CgroupDirectory] = []
        for hierarchy in hierarchies where hierarchy.controllers.contains(where: v1Subsystems.contains) {
            let path = v1Path(hierarchy, inner: inner)
            directories.append(CgroupDirectory(
                controllers: hierarchy.controllers, isUnified: false, path: path,
                create: chain(from: hierarchy.mountPoint, to: path)))
        }
        if let unified {
            // runc joins the hybrid v2 hierarchy at its mount point plus the inner path, relative or not.
            let path = join(unified.mountPoint, inner)
            directories.append(CgroupDirectory(controllers: [], isUnified: true, path: path, create: chain(from: unified.mountPoint, to: path)))
        }
        var plan = CgroupPlan(
            directories: directories, writes: [], warnings: [],
            freezer: directories.first { $0.controllers.contains("freezer") })
        func directory(_ controller: String) throws(CgroupPlanError) -> String {
            guard let found = directories.first(where: { $0.controllers.contains(controller) }) else {
                throw CgroupPlanError("cannot set \(controller) limits: the \(controller) controller is not mounted")
            }
            return found.path
        }

        if update == nil, let cpuset = directories.first(where: { $0.controllers.contains("cpuset") }) {
            for created in cpuset.create {
                plan.writes.append(CgroupWrite(created, "cpuset.cpus", .parentsValue))
                plan.writes.append(CgroupWrite(created, "cpuset.mems", .parentsValue))
            }
        }
        if let cpu = resources.cpu, !cpu.cpus.isEmpty || !cpu.mems.isEmpty {
            let path = try directory("cpuset")
            if !cpu.cpus.isEmpty { plan.writes.append(CgroupWrite(path, "cpuset.cpus", cpu.cpus)) }
            if !cpu.mems.isEmpty { plan.writes.append(CgroupWrite(path, "cpuset.mems", cpu.mems)) }
        }
        if !resources.devices.isEmpty {
            let path = try directory("devices")
            for rule in resources.devices {
                plan.writes.append(CgroupWrite(path, rule.allow ? "devices.allow" : "devices.deny", deviceLine(rule)))
            }
        }
        if let memory = resources.memory {
            try planV1Memory(memory, &plan, currentLimit: update?.memoryLimit ?? .max, directory: directory)
        }
        if let cpu = resources.cpu {
            try planV1CPU(cpu, &plan, directory: directory)
        }
        if let pids = resources.pids, pids.limit != 0 {
            plan.writes.append(CgroupWrite(try directory("pids"), "pids.max", pids.limit > 0 ? String(pids.limit) : "max"))
        }
        if let blockIO = resources.blockIO {
            try planV1BlockIO(blockIO, &plan, directory: directory)
        }
        if !resources.hugepageLimits.isEmpty {
            let path = try directory("hugetlb")
            for limit in resources.hugepageLimits {
                plan.writes.append(CgroupWrite(path, "hugetlb.\(limit.pageSize).limit_in_bytes", String(limit.limit)))
            }
        }
        if let network = resources.network {
            if let classID = network.classID, classID != 0 {
                plan.writes.append(CgroupWrite(try directory("net_cls"), "net_cls.classid", String(classID)))
            }
            if !network.priorities.isEmpty {
                let path = try directory("net_prio")
                for priority in network.priorities {
                    plan.writes.append(CgroupWrite(path, "net_prio.ifpriomap", "\(priority.name) \(priority.priority)"))
                }
            }
        }
        return plan
    }

    /// A devices cgroup line: `c 1:3 rwm`, `*` for any number, `a` for every type.
    static func deviceLine(_ rule: DeviceRule) -> String {
        let type = rule.type.isEmpty ? "a" : rule.type
        let major = rule.major.map { $0 < 0 ? "*" : String($0) } ?? "*"
        let minor = rule.minor.map { $0 < 0 ? "*" : String($0) } ?? "*"
        return "\(type) \(major):\(minor) \(rule.access.isEmpty ? "rwm" : rule.access)"
    }

    /// `currentLimit`: memory.limit_in_bytes as it is (unlimited in a new cgroup).
    static func planV1Memory(
        _ memory: Memory, _ plan: inout CgroupPlan, currentLimit: Int64, directory: (String) throws(CgroupPlanError) -> String
    ) throws(CgroupPlanError) {
        let limit = memory.limit ?? 0
        let swap = memory.swap ?? 0
        let needsDirectory = limit != 0 || swap != 0 || (memory.reservation ?? 0) != 0
            || memory.disableOOMKiller == true || memory.swappiness != nil
        if memory.kernel != nil || memory.kernelTCP != nil {
            plan.warnings.append("kernel memory settings are ignored (as by runc)")
        }
        guard needsDirectory else { return }
        let path = try directory("memory")
        let limitWrite = CgroupWrite(path, "memory.limit_in_bytes", String(limit))
        let swapWrite = CgroupWrite(path, "memory.memsw.limit_in_bytes", String(swap))
        if limit == -1 && swap == 0 {
            // Unlimited memory means unlimited swap too, where swap is accounted.
            plan.writes.append(CgroupWrite(path, "memory.memsw.limit_in_bytes", "-1", onError: .ignoreIfMissing))
            plan.writes.append(limitWrite)
        } else if limit != 0 && swap != 0 && (swap == -1 || currentLimit < swap) {
            // memsw may never be below memory: raising both takes memsw first.
            plan.writes += [swapWrite, limitWrite]
        } else {
            if limit != 0 { plan.writes.append(limitWrite) }
            if swap != 0 { plan.writes.append(swapWrite) }
        }
        if let reservation = memory.reservation, reservation != 0 {
            plan.writes.append(CgroupWrite(path, "memory.soft_limit_in_bytes", String(reservation)))
        }
        if memory.disableOOMKiller == true {
            plan.writes.append(CgroupWrite(path, "memory.oom_control", "1"))
        }
        if let swappiness = memory.swappiness {
            if swappiness > 100 { throw CgroupPlanError("invalid memory swappiness value: \(swappiness) (valid range is 0-100)") }
            plan.writes.append(CgroupWrite(path, "memory.swappiness", String(swappiness)))
        }
    }

    static func planV1CPU(
        _ cpu: CPU, _ plan: inout CgroupPlan, directory: (String) throws(CgroupPlanError) -> String
    ) throws(CgroupPlanError) {
        var writes: [(String, String)] = []
        if let shares = cpu.shares, shares != 0 { writes.append(("cpu.shares", String(shares))) }
        if let period = cpu.period, period != 0 { writes.append(("cpu.cfs_period_us", String(period))) }
        if let quota = cpu.quota, quota != 0 { writes.append(("cpu.cfs_quota_us", String(quota))) }
        if let period = cpu.realtimePeriod, period != 0 { writes.append(("cpu.rt_period_us", String(period))) }
        if let runtime = cpu.realtimeRuntime, runtime != 0 { writes.append(("cpu.rt_runtime_us", String(runtime))) }
        warnUnsupportedCPU(cpu, &plan)
        if writes.isEmpty { return }
        let path = try directory("cpu")
        plan.writes += writes.map { CgroupWrite(path, $0.0, $0.1) }
    }

    static func warnUnsupportedCPU(_ cpu: CPU, _ plan: inout CgroupPlan) {
        if cpu.burst != nil { plan.warnings.append("cpu.burst is ignored (as by runc 1.1)") }
        if cpu.idle != nil { plan.warnings.append("cpu.idle is ignored (as by runc 1.1)") }
    }

    static func planV1BlockIO(
        _ blockIO: BlockIO, _ plan: inout CgroupPlan, directory: (String) throws(CgroupPlanError) -> String
    ) throws(CgroupPlanError) {
        // (file, value, BFQ's file where CFQ's is missing: runc's choice)
        var writes: [(String, String, String?)] = []
        if let weight = blockIO.weight, weight != 0 { writes.append(("blkio.weight", String(weight), "blkio.bfq.weight")) }
        if let weight = blockIO.leafWeight, weight != 0 { writes.append(("blkio.leaf_weight", String(weight), nil)) }
        for device in blockIO.weightDevice {
            let id = "\(device.major):\(device.minor)"
            if let weight = device.weight, weight != 0 { writes.append(("blkio.weight_device", "\(id) \(weight)", "blkio.bfq.weight_device")) }
            if let weight = device.leafWeight, weight != 0 { writes.append(("blkio.leaf_weight_device", "\(id) \(weight)", nil)) }
        }
        let throttles = [
            ("blkio.throttle.read_bps_device", blockIO.throttleReadBpsDevice),
            ("blkio.throttle.write_bps_device", blockIO.throttleWriteBpsDevice),
            ("blkio.throttle.read_iops_device", blockIO.throttleReadIOPSDevice),
            ("blkio.throttle.write_iops_device", blockIO.throttleWriteIOPSDevice),
        ]
        for (file, devices) in throttles {
            for device in devices { writes.append((file, "\(device.major):\(device.minor) \(device.rate)", nil)) }
        }
        if writes.isEmpty { return }
        let path = try directory("blkio")
        plan.writes += writes.map { file, value, bfq in
            CgroupWrite(path, file, value, onError: bfq.map { .otherwiseIfMissing(CgroupWrite(path, $0, value)) } ?? .fail)
        }
    }

    // MARK: v2

    static func planV2(
        _ resources: Resources, inner: String, hierarchy: CgroupHierarchy, update: CurrentLimits?
    ) throws(CgroupPlanError) -> CgroupPlan {
        // A relative path is below the parent of this process's cgroup: the
        // process's own cgroup has processes, so it cannot delegate controllers.
        let path: String
        if inner.hasPrefix("/") {
            path = join(hierarchy.mountPoint, inner)
        } else {
            let own = cleanPath(hierarchy.ownPath)
            let parent = own.split(separator: "/").dropLast().map(String.init).joined(by: "/")
            path = join(join(hierarchy.mountPoint, parent), inner)
        }
        let created = chain(from: hierarchy.mountPoint, to: path)
        let directory = CgroupDirectory(controllers: [], isUnified: true, path: path, create: created)
        var plan = CgroupPlan(directories: [directory], writes: [], warnings: [], freezer: directory)
        // Enable every available controller from the root down to the container's parent.
        if update == nil {
            for parent in [hierarchy.mountPoint] + created.dropLast() {
                for controller in hierarchy.controllers {
                    plan.writes.append(CgroupWrite(parent, "cgroup.subtree_control", "+" + controller, onError: .ignore))
                }
            }
        }
        func write(_ file: String, _ value: String) { plan.writes.append(CgroupWrite(path, file, value)) }

        if let pids = resources.pids, pids.limit != 0 {
            write("pids.max", pids.limit > 0 ? String(pids.limit) : "max")
        }
        if let memory = resources.memory {
            let limit = memory.limit ?? 0
            let swap = memory.swap ?? 0
            let reservation = memory.reservation ?? 0
            if limit != 0 || swap != 0 || reservation != 0 {
                let swapMax = try convertSwapToV2(swap: swap, memory: limit)
                if swapMax != 0 || swap > 0 {
                    // Without swap accounting there is no file: fine for no limit or no swap (runc's rule).
                    let unlimitedOrNone = swapMax == -1 || swapMax == 0
                    plan.writes.append(CgroupWrite(path, "memory.swap.max", numberOrMax(swapMax), onError: unlimitedOrNone ? .ignoreIfMissing : .fail))
                }
                if limit != 0 { write("memory.max", numberOrMax(limit)) }
                if reservation != 0 { write("memory.low", numberOrMax(reservation)) }
            }
            if memory.kernel != nil || memory.kernelTCP != nil { plan.warnings.append("kernel memory settings are ignored (as by runc)") }
            if memory.swappiness != nil { plan.warnings.append("memory.swappiness has no cgroup v2 file and is ignored") }
            if memory.disableOOMKiller == true { plan.warnings.append("disableOOMKiller has no cgroup v2 file and is ignored") }
        }
        if let blockIO = resources.blockIO {
            // BFQ's weights where its scheduler is there (the v1 range), else io.weight's.
            if let weight = blockIO.weight, weight != 0 {
                let fallback = CgroupWrite(path, "io.weight", String(convertBlockIOWeightToV2(weight)))
                plan.writes.append(CgroupWrite(path, "io.bfq.weight", String(weight), onError: .otherwiseIfMissing(fallback)))
            }
            for device in blockIO.weightDevice {
                guard let weight = device.weight, weight != 0 else { continue }
                plan.writes.append(CgroupWrite(path, "io.bfq.weight", "\(device.major):\(device.minor) \(weight)", onError: .ignoreIfMissing))
            }
            if blockIO.leafWeight != nil { plan.warnings.append("blockIO.leafWeight has no cgroup v2 file and is ignored") }
            let throttles = [
                ("rbps", blockIO.throttleReadBpsDevice), ("wbps", blockIO.throttleWriteBpsDevice),
                ("riops", blockIO.throttleReadIOPSDevice), ("wiops", blockIO.throttleWriteIOPSDevice),
            ]
            for (key, devices) in throttles {
                for device in devices { write("io.max", "\(device.major):\(device.minor) \(key)=\(device.rate)") }
            }
        }
        if let cpu = resources.cpu {
            if let shares = cpu.shares, shares != 0 { write("cpu.weight", String(convertSharesToWeight(shares))) }
            var quota = cpu.quota ?? 0
            var period = cpu.period ?? 0
            if quota != 0 || period != 0 {
                // An update of one half keeps the other as it is (runc's rule).
                if let inPlace = update?.cpuMax {
                    if quota == 0 { quota = inPlace.quota }
                    if period == 0 { period = inPlace.period }
                }
                write("cpu.max", "\(quota > 0 ? String(quota) : "max") \(period == 0 ? 100_000 : period)")
            }
            if cpu.realtimePeriod != nil || cpu.realtimeRuntime != nil {
                plan.warnings.append("realtime CPU settings have no cgroup v2 file and are ignored")
            }
            warnUnsupportedCPU(cpu, &plan)
        }
        if !resources.devices.isEmpty {
            plan.deviceFilter = try DeviceFilter(rules: resources.devices)
        }
        if let cpu = resources.cpu {
            if !cpu.cpus.isEmpty { write("cpuset.cpus", cpu.cpus) }
            if !cpu.mems.isEmpty { write("cpuset.mems", cpu.mems) }
        }
        for limit in resources.hugepageLimits {
            write("hugetlb.\(limit.pageSize).max", String(limit.limit))
        }
        if resources.network != nil { plan.warnings.append("network (net_cls, net_prio) has no cgroup v2 controller and is ignored") }
        for key in resources.unified.keys.sorted() {
            if key.contains("/") { throw CgroupPlanError("unified resource \(quoted(key)) must be a file name (no slashes)") }
            write(key, resources.unified[key]!)
        }
        return plan
    }

    /// cgroup v2's number format: -1 is `max`.
    static func numberOrMax(_ value: Int64) -> String { value == -1 ? "max" : String(value) }

    /// v1's memory+swap limit to v2's swap-only memory.swap.max (runc's ConvertMemorySwapToCgroupV2Value).
    public static func convertSwapToV2(swap: Int64, memory: Int64) throws(CgroupPlanError) -> Int64 {
        if memory == -1 && swap == 0 { return -1 }
        if swap == -1 || swap == 0 { return swap }
        if memory == 0 || memory == -1 { throw CgroupPlanError("unable to set swap limit without memory limit") }
        if memory < 0 { throw CgroupPlanError("invalid memory value: \(memory)") }
        if swap < memory { throw CgroupPlanError("memory+swap limit should be >= memory limit") }
        return swap - memory
    }

    /// cpu.shares [2, 262144] to cpu.weight [1, 10000] (runc's ConvertCPUSharesToCgroupV2Value).
    public static func convertSharesToWeight(_ shares: UInt64) -> UInt64 {
        if shares == 0 { return 0 }
        let clamped = max(shares, 2)
        return 1 + ((clamped - 2) * 9999) / 262_142
    }

    /// blkio.weight [10, 1000] to io.weight [1, 10000] (runc's ConvertBlkIOToIOWeightValue).
    public static func convertBlockIOWeightToV2(_ weight: UInt16) -> UInt64 {
        if weight == 0 { return 0 }
        return 1 + (UInt64(max(weight, 10)) - 10) * 9999 / 990
    }
}
