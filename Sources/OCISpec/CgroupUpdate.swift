// `update`: new limits for a running container's cgroups, as runc 1.1's
// `update` takes them (a LinuxResources document or its flags) and applies
// them.

/// What `update` reads from the container's cgroups before it plans.
public struct CurrentLimits: Equatable, Sendable {
    /// v1's memory.limit_in_bytes: runc raises memsw first when the new
    /// memory+swap limit is above it, lowers memory first otherwise.
    public var memoryLimit: Int64
    /// v2's cpu.max: the half an update leaves out stays as it is.
    public var cpuMax: CPUMax?

    public init(memoryLimit: Int64 = .max, cpuMax: CPUMax? = nil) {
        self.memoryLimit = memoryLimit
        self.cpuMax = cpuMax
    }
}

/// cgroup v2's cpu.max: `max 100000`, `50000 100000`.
public struct CPUMax: Equatable, Sendable {
    /// -1 for `max`.
    public var quota: Int64
    public var period: UInt64

    public init(quota: Int64, period: UInt64) {
        self.quota = quota
        self.period = period
    }

    /// nil when `text` is not the file's format.
    public init?(_ text: String) {
        let words = text.split(separator: " ")
        guard words.count == 2, let period = UInt64(words[1]),
              let quota = words[0] == "max" ? -1 : Int64(words[0]) else { return nil }
        self.init(quota: quota, period: period)
    }
}

extension Resources {
    /// A LinuxResources document, as `update --resources` reads it.
    public static func decode(_ bytes: [UInt8], file: String) throws(ConfigError) -> Resources {
        try Cursor.decode(Resources.self, from: bytes, file: file)
    }

    /// The settings runc's `update` applies (memory limit, reservation and
    /// swap; CPU shares, quota, period, realtime, cpus and mems; the block
    /// I/O weight; the pids limit; unified): the rest of a document (device
    /// rules, hugepages, network, swappiness...) is left as it was set at create.
    public var updatable: Resources {
        var kept = self
        kept.devices = []
        kept.hugepageLimits = []
        kept.network = nil
        kept.memory?.swappiness = nil
        kept.memory?.disableOOMKiller = nil
        kept.memory?.useHierarchy = nil
        kept.memory?.checkBeforeUpdate = nil
        kept.cpu?.burst = nil
        kept.cpu?.idle = nil
        kept.blockIO = blockIO?.weight.map { weight in
            var only = BlockIO()
            only.weight = weight
            return only
        }
        return kept
    }
}
