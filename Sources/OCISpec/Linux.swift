/// config.json's `linux` object.
public struct Linux: Equatable, Sendable, JSONObject {
    public var uidMappings: [IDMapping] = []
    public var gidMappings: [IDMapping] = []
    public var sysctl: [String: String] = [:]
    public var resources: Resources?
    public var cgroupsPath = ""
    public var namespaces: [Namespace] = []
    public var devices: [Device] = []
    public var seccomp: Seccomp?
    public var rootfsPropagation: Propagation?
    public var maskedPaths: [String] = []
    public var readonlyPaths: [String] = []
    public var mountLabel = ""
    public var personality: Personality?
    /// The clocks of a new time namespace, moved by these offsets (runtime-spec 1.1).
    public var timeOffsets: [String: TimeOffset] = [:]

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("uidMappings", \.uidMappings),
            Field("gidMappings", \.gidMappings),
            Field("sysctl", \.sysctl),
            Field("resources", \.resources),
            Field("cgroupsPath", \.cgroupsPath),
            Field("namespaces", \.namespaces, check: checkDuplicates),
            Field("devices", \.devices),
            Field("seccomp", \.seccomp),
            Field("rootfsPropagation", \.rootfsPropagation),
            Field("maskedPaths", \.maskedPaths, check: eachAbsolute),
            Field("readonlyPaths", \.readonlyPaths, check: eachAbsolute),
            Field("mountLabel", \.mountLabel),
            Field("personality", \.personality),
            Field("timeOffsets", \.timeOffsets, check: checkClocks),
        ]
    }

    /// The clocks a time namespace offsets (time_namespaces(7)), and a
    /// fraction of a second below one.
    static func checkClocks(_ offsets: [String: TimeOffset], _ cursor: Cursor) {
        for (clock, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            if clock != "monotonic" && clock != "boottime" {
                cursor[clock].report("unknown clock \(quoted(clock)) (monotonic or boottime)")
            }
            if offset.nanosecs >= 1_000_000_000 { cursor[clock]["nanosecs"].report("must be below 1000000000") }
        }
    }

    static func eachAbsolute(_ paths: [String], _ cursor: Cursor) {
        for (index, path) in paths.enumerated() { Rules.absolutePath(path, cursor[index]) }
    }

    /// A namespace type may appear once: new, or joined by path.
    static func checkDuplicates(_ namespaces: [Namespace], _ cursor: Cursor) {
        var seen: [String: Int] = [:]  // by name: the enum's Hashable costs a conformance scan per exec
        for (index, namespace) in namespaces.enumerated() {
            let name = namespace.type.rawValue
            if let first = seen[name] {
                cursor[index]["type"].report("duplicate namespace \(quoted(name)) (also namespaces[\(first)])")
            }
            seen[name] = seen[name] ?? index
        }
    }
}

/// An offset of one clock in a time namespace.
public struct TimeOffset: Equatable, Sendable, JSONObject {
    public var secs: Int64 = 0
    public var nanosecs: UInt32 = 0

    public init() {}

    public init(secs: Int64, nanosecs: UInt32 = 0) {
        self.secs = secs
        self.nanosecs = nanosecs
    }

    static var fields: [Field<Self>] {
        [Field("secs", \.secs), Field("nanosecs", \.nanosecs)]
    }
}

public struct Namespace: Equatable, Sendable, JSONObject {
    public var type = NamespaceType.mount
    /// A namespace file to join (`/proc/PID/ns/net`); empty for a new one.
    public var path = ""

    public init() {}

    init(_ type: NamespaceType) { self.type = type }

    static var fields: [Field<Self>] {
        [
            Field("type", \.type, required: true, omitEmpty: false),
            Field("path", \.path, check: Rules.absolutePath),
        ]
    }
}

/// A device node to create in the container's /dev.
public struct Device: Equatable, Sendable, JSONObject {
    public var path = ""
    public var type = DeviceType.char
    public var major: Int64 = 0
    public var minor: Int64 = 0
    public var fileMode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("path", \.path, required: true, omitEmpty: false, check: Rules.absolutePath),
            Field("type", \.type, required: true, omitEmpty: false),
            Field("major", \.major, omitEmpty: false),
            Field("minor", \.minor, omitEmpty: false),
            Field("fileMode", \.fileMode),
            Field("uid", \.uid),
            Field("gid", \.gid),
        ]
    }
}

/// Cgroup settings.
public struct Resources: Equatable, Sendable, JSONObject {
    public var devices: [DeviceRule] = []
    public var memory: Memory?
    public var cpu: CPU?
    public var pids: Pids?
    public var blockIO: BlockIO?
    public var hugepageLimits: [HugepageLimit] = []
    public var network: Network?
    /// cgroup v2 files and their contents.
    public var unified: [String: String] = [:]

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("devices", \.devices),
            Field("memory", \.memory),
            Field("cpu", \.cpu),
            Field("pids", \.pids),
            Field("blockIO", \.blockIO),
            Field("hugepageLimits", \.hugepageLimits),
            Field("network", \.network),
            Field("unified", \.unified),
        ]
    }
}

/// One rule of the devices cgroup: nil major or minor is any.
public struct DeviceRule: Equatable, Sendable, JSONObject {
    public var allow = false
    /// `a` (all), `c` or `b`; empty means all.
    public var type = ""
    public var major: Int64?
    public var minor: Int64?
    /// Some of `r`, `w`, `m`; empty means all.
    public var access = ""

    public init() {}

    init(allow: Bool, access: String) {
        self.allow = allow
        self.access = access
    }

    static var fields: [Field<Self>] {
        [
            Field("allow", \.allow, required: true, omitEmpty: false),
            Field("type", \.type, check: { type, cursor in
                if !["", "a", "c", "b"].contains(type) { cursor.report("unknown device type \(quoted(type)) (want a, c or b)") }
            }),
            Field("major", \.major),
            Field("minor", \.minor),
            Field("access", \.access, check: { access, cursor in
                if !access.allSatisfy("rwm".contains) { cursor.report("must be made of r, w and m, got \(quoted(access))") }
            }),
        ]
    }
}

public struct Memory: Equatable, Sendable, JSONObject {
    public var limit: Int64?
    public var reservation: Int64?
    public var swap: Int64?
    public var kernel: Int64?
    public var kernelTCP: Int64?
    public var swappiness: UInt64?
    public var disableOOMKiller: Bool?
    public var useHierarchy: Bool?
    public var checkBeforeUpdate: Bool?

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("limit", \.limit),
            Field("reservation", \.reservation),
            Field("swap", \.swap),
            Field("kernel", \.kernel),
            Field("kernelTCP", \.kernelTCP),
            Field("swappiness", \.swappiness, check: { value, cursor in
                if value > 100 { cursor.report("must be from 0 to 100, got \(value)") }
            }),
            Field("disableOOMKiller", \.disableOOMKiller),
            Field("useHierarchy", \.useHierarchy),
            Field("checkBeforeUpdate", \.checkBeforeUpdate),
        ]
    }
}

public struct CPU: Equatable, Sendable, JSONObject {
    public var shares: UInt64?
    public var quota: Int64?
    public var burst: UInt64?
    public var period: UInt64?
    public var realtimeRuntime: Int64?
    public var realtimePeriod: UInt64?
    public var cpus = ""
    public var mems = ""
    public var idle: Int64?

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("shares", \.shares),
            Field("quota", \.quota),
            Field("burst", \.burst),
            Field("period", \.period),
            Field("realtimeRuntime", \.realtimeRuntime),
            Field("realtimePeriod", \.realtimePeriod),
            Field("cpus", \.cpus),
            Field("mems", \.mems),
            Field("idle", \.idle),
        ]
    }
}

public struct Pids: Equatable, Sendable, JSONObject {
    /// 0 or below: no limit.
    public var limit: Int64 = 0

    public init() {}

    static var fields: [Field<Self>] { [Field("limit", \.limit, required: true, omitEmpty: false)] }
}

public struct BlockIO: Equatable, Sendable, JSONObject {
    public var weight: UInt16?
    public var leafWeight: UInt16?
    public var weightDevice: [WeightDevice] = []
    public var throttleReadBpsDevice: [ThrottleDevice] = []
    public var throttleWriteBpsDevice: [ThrottleDevice] = []
    public var throttleReadIOPSDevice: [ThrottleDevice] = []
    public var throttleWriteIOPSDevice: [ThrottleDevice] = []

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("weight", \.weight),
            Field("leafWeight", \.leafWeight),
            Field("weightDevice", \.weightDevice),
            Field("throttleReadBpsDevice", \.throttleReadBpsDevice),
            Field("throttleWriteBpsDevice", \.throttleWriteBpsDevice),
            Field("throttleReadIOPSDevice", \.throttleReadIOPSDevice),
            Field("throttleWriteIOPSDevice", \.throttleWriteIOPSDevice),
        ]
    }
}

public struct WeightDevice: Equatable, Sendable, JSONObject {
    public var major: Int64 = 0
    public var minor: Int64 = 0
    public var weight: UInt16?
    public var leafWeight: UInt16?

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("major", \.major, required: true, omitEmpty: false),
            Field("minor", \.minor, required: true, omitEmpty: false),
            Field("weight", \.weight),
            Field("leafWeight", \.leafWeight),
        ]
    }
}

public struct ThrottleDevice: Equatable, Sendable, JSONObject {
    public var major: Int64 = 0
    public var minor: Int64 = 0
    /// Bytes or operations per second.
    public var rate: UInt64 = 0

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("major", \.major, required: true, omitEmpty: false),
            Field("minor", \.minor, required: true, omitEmpty: false),
            Field("rate", \.rate, required: true, omitEmpty: false),
        ]
    }
}

public struct HugepageLimit: Equatable, Sendable, JSONObject {
    /// `2MB`, `1GB`, ...
    public var pageSize = ""
    public var limit: UInt64 = 0

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("pageSize", \.pageSize, required: true, omitEmpty: false),
            Field("limit", \.limit, required: true, omitEmpty: false),
        ]
    }
}

public struct Network: Equatable, Sendable, JSONObject {
    public var classID: UInt32?
    public var priorities: [InterfacePriority] = []

    public init() {}

    static var fields: [Field<Self>] { [Field("classID", \.classID), Field("priorities", \.priorities)] }
}

public struct InterfacePriority: Equatable, Sendable, JSONObject {
    public var name = ""
    public var priority: UInt32 = 0

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("name", \.name, required: true, omitEmpty: false),
            Field("priority", \.priority, required: true, omitEmpty: false),
        ]
    }
}

public struct Seccomp: Equatable, Sendable, JSONObject {
    public var defaultAction = SeccompAction.allow
    public var defaultErrnoRet: UInt?
    /// libseccomp names (`KnownNames.seccompArchitectures`).
    public var architectures: [String] = []
    /// `KnownNames.seccompFlags`.
    public var flags: [String] = []
    public var listenerPath = ""
    public var listenerMetadata = ""
    public var syscalls: [Syscall] = []

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("defaultAction", \.defaultAction, required: true, omitEmpty: false),
            Field("defaultErrnoRet", \.defaultErrnoRet),
            Field("architectures", \.architectures, check: Rules.each(KnownNames.seccompArchitectureSet, "seccomp architecture")),
            Field("flags", \.flags, check: Rules.each(KnownNames.seccompFlagSet, "seccomp flag")),
            Field("listenerPath", \.listenerPath, check: Rules.absolutePath),
            Field("listenerMetadata", \.listenerMetadata),
            Field("syscalls", \.syscalls),
        ]
    }

    /// The notify action hands the filter's descriptor to a listener.
    func check(_ cursor: Cursor) {
        let notifies = defaultAction == .notify || syscalls.contains { $0.action == .notify }
        if notifies && listenerPath.isEmpty { cursor["listenerPath"].report("is required by SCMP_ACT_NOTIFY") }
    }
}

/// A rule for some system calls, by name; the runtime resolves the names.
public struct Syscall: Equatable, Sendable, JSONObject {
    public var names: [String] = []
    public var action = SeccompAction.allow
    public var errnoRet: UInt?
    public var args: [SeccompArgument] = []

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("names", \.names, required: true, omitEmpty: false, check: { names, cursor in
                Rules.nonEmpty(names, cursor)
                for (index, name) in names.enumerated() where name.isEmpty { cursor[index].report("must not be empty") }
            }),
            Field("action", \.action, required: true, omitEmpty: false),
            Field("errnoRet", \.errnoRet),
            Field("args", \.args),
        ]
    }
}

public struct SeccompArgument: Equatable, Sendable, JSONObject {
    /// Which of the call's six arguments.
    public var index: UInt = 0
    public var value: UInt64 = 0
    /// The second operand of SCMP_CMP_MASKED_EQ.
    public var valueTwo: UInt64 = 0
    public var op = SeccompOperator.equal

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("index", \.index, required: true, omitEmpty: false, check: { index, cursor in
                if index > 5 { cursor.report("must be from 0 to 5, got \(index)") }
            }),
            Field("value", \.value, required: true, omitEmpty: false),
            Field("valueTwo", \.valueTwo),
            Field("op", \.op, required: true, omitEmpty: false),
        ]
    }
}

public struct Personality: Equatable, Sendable, JSONObject {
    public var domain = PersonalityDomain.linux
    public var flags: [String] = []

    public init() {}

    static var fields: [Field<Self>] {
        [Field("domain", \.domain, required: true, omitEmpty: false), Field("flags", \.flags)]
    }
}
