/// A bundle's config.json (runtime-spec 1.0.2 / 1.1, the Linux parts we
/// run). Field names, types, order and omission follow the spec's Go
/// types, so a config we write prints as runc prints it. Properties the
/// spec has and we do not model (scheduler, ioPriority, intelRdt, rdma,
/// netDevices, other platforms) are ignored when read, as the spec
/// requires of unknown properties.
public struct ContainerConfig: Equatable, Sendable, JSONObject {
    public var ociVersion = ""
    public var process: ContainerProcess?
    public var root = Root()
    public var hostname = ""
    public var domainname = ""
    public var mounts: [Mount] = []
    public var hooks: Hooks?
    public var annotations: [String: String] = [:]
    public var linux: Linux?

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("ociVersion", \.ociVersion, required: true, omitEmpty: false, check: checkVersion),
            Field("process", \.process),
            Field("root", \.root, required: true),
            Field("hostname", \.hostname),
            Field("domainname", \.domainname),
            Field("mounts", \.mounts),
            Field("hooks", \.hooks),
            Field("annotations", \.annotations),
            Field("linux", \.linux),
        ]
    }

    /// Reads config.json and checks it, or throws every problem found.
    public static func decode(_ bytes: [UInt8], file: String = "config.json") throws(ConfigError) -> ContainerConfig {
        try Cursor.decode(ContainerConfig.self, from: bytes, file: file)
    }

    /// The text Go's `json.MarshalIndent` writes for this config (runc's
    /// `spec` uses a tab), without a final newline.
    public func json(indent: String = "\t") -> String { json.text(indent: indent) }

    /// SemVer 2.0.0, major version 1: the versions this spec reader knows.
    static func checkVersion(_ text: String, _ cursor: Cursor) {
        let core = text.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false)[0]
            .split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let numbers = core.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3, numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && UInt($0) != nil }) else {
            cursor.report("must be a SemVer version such as \"1.0.2\", got \(quoted(text))")
            return
        }
        if numbers[0] != "1" { cursor.report("unsupported version \(quoted(text)) (want 1.x.y)") }
    }

    /// Settings that need a namespace the config does not ask for.
    func check(_ cursor: Cursor) {
        let namespaces = Set(linux?.namespaces.map(\.type) ?? [])
        for (key, value) in [("hostname", hostname), ("domainname", domainname)] where !value.isEmpty && !namespaces.contains(.uts) {
            cursor[key].report("needs a uts namespace in linux.namespaces")
        }
        if let linux, !namespaces.contains(.user) {
            for (key, mappings) in [("uidMappings", linux.uidMappings), ("gidMappings", linux.gidMappings)] where !mappings.isEmpty {
                cursor["linux"][key].report("needs a user namespace in linux.namespaces")
            }
        }
        // Offsets apply to a time namespace made for the container, not to one joined.
        if let linux, !linux.timeOffsets.isEmpty, linux.namespaces.first(where: { $0.type == .time })?.path.isEmpty != true {
            cursor["linux"]["timeOffsets"].report("needs a new time namespace in linux.namespaces (not one joined by path)")
        }
    }
}

/// The container's first process (and `exec --process` files).
public struct ContainerProcess: Equatable, Sendable, JSONObject {
    public var terminal = false
    public var consoleSize: ConsoleSize?
    public var user = User()
    public var args: [String] = []
    public var env: [String] = []
    public var cwd = ""
    public var capabilities: Capabilities?
    public var rlimits: [Rlimit] = []
    public var noNewPrivileges = false
    public var apparmorProfile = ""
    public var oomScoreAdj: Int?
    public var selinuxLabel = ""

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("terminal", \.terminal),
            Field("consoleSize", \.consoleSize),
            Field("user", \.user, omitEmpty: false),
            Field("args", \.args, required: true, check: Rules.nonEmpty),
            Field("env", \.env, check: checkEnvironment),
            Field("cwd", \.cwd, required: true, omitEmpty: false, check: Rules.absolutePath),
            Field("capabilities", \.capabilities),
            Field("rlimits", \.rlimits, check: checkDuplicates),
            Field("noNewPrivileges", \.noNewPrivileges),
            Field("apparmorProfile", \.apparmorProfile),
            Field("oomScoreAdj", \.oomScoreAdj, check: checkScore),
            Field("selinuxLabel", \.selinuxLabel),
        ]
    }

    /// Reads an `exec --process` file.
    public static func decode(_ bytes: [UInt8], file: String) throws(ConfigError) -> ContainerProcess {
        try Cursor.decode(ContainerProcess.self, from: bytes, file: file)
    }

    static func checkEnvironment(_ env: [String], _ cursor: Cursor) {
        for (index, entry) in env.enumerated() where (entry.firstIndex(of: "=") ?? entry.startIndex) == entry.startIndex {
            cursor[index].report("must be NAME=value, got \(quoted(entry))")
        }
    }

    static func checkScore(_ score: Int, _ cursor: Cursor) {
        if !(-1000...1000).contains(score) { cursor.report("must be from -1000 to 1000, got \(score)") }
    }

    /// A resource limited twice is a mistake the spec says to reject.
    static func checkDuplicates(_ rlimits: [Rlimit], _ cursor: Cursor) {
        var seen: [String: Int] = [:]
        for (index, limit) in rlimits.enumerated() {
            if let first = seen[limit.type] {
                cursor[index]["type"].report("duplicate rlimit \(quoted(limit.type)) (also rlimits[\(first)])")
            }
            seen[limit.type] = seen[limit.type] ?? index
        }
    }
}

public struct ConsoleSize: Equatable, Sendable, JSONObject {
    public var height: UInt = 0
    public var width: UInt = 0

    public init() {}

    static var fields: [Field<Self>] {
        [Field("height", \.height, required: true, omitEmpty: false), Field("width", \.width, required: true, omitEmpty: false)]
    }
}

public struct User: Equatable, Sendable, JSONObject {
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var umask: UInt32?
    public var additionalGids: [UInt32] = []

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("uid", \.uid, omitEmpty: false),
            Field("gid", \.gid, omitEmpty: false),
            Field("umask", \.umask),
            Field("additionalGids", \.additionalGids),
        ]
    }
}

/// The five capability sets, by name (`KnownNames.capabilities`).
public struct Capabilities: Equatable, Sendable, JSONObject {
    public var bounding: [String] = []
    public var effective: [String] = []
    public var inheritable: [String] = []
    public var permitted: [String] = []
    public var ambient: [String] = []

    public init() {}

    static var fields: [Field<Self>] {
        let known = Rules.each(KnownNames.capabilitySet, "capability")
        return [
            Field("bounding", \.bounding, check: known),
            Field("effective", \.effective, check: known),
            Field("inheritable", \.inheritable, check: known),
            Field("permitted", \.permitted, check: known),
            Field("ambient", \.ambient, check: known),
        ]
    }
}

public struct Rlimit: Equatable, Sendable, JSONObject {
    public var type = ""
    public var hard: UInt64 = 0
    public var soft: UInt64 = 0

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("type", \.type, required: true, omitEmpty: false, check: { name, cursor in
                if !KnownNames.rlimitSet.contains(name) { cursor.report("unknown rlimit \(quoted(name))") }
            }),
            Field("hard", \.hard, required: true, omitEmpty: false),
            Field("soft", \.soft, required: true, omitEmpty: false),
        ]
    }

    /// setrlimit(2) refuses a soft limit above the hard one.
    func check(_ cursor: Cursor) {
        if soft > hard { cursor["soft"].report("\(soft) is above the hard limit \(hard)") }
    }
}

public struct Root: Equatable, Sendable, JSONObject {
    /// Relative to the bundle, or absolute.
    public var path = ""
    public var readonly = false

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("path", \.path, required: true, omitEmpty: false, check: { path, cursor in
                if path.isEmpty { cursor.report("must not be empty") }
            }),
            Field("readonly", \.readonly),
        ]
    }
}

public struct Mount: Equatable, Sendable, JSONObject {
    public var destination = ""
    public var type = ""
    public var source = ""
    /// Flags from `KnownNames.mountOptions`, and filesystem data
    /// (`mode=755`, `newinstance`).
    public var options: [String] = []
    public var uidMappings: [IDMapping] = []
    public var gidMappings: [IDMapping] = []

    public init() {}

    init(_ destination: String, type: String, source: String, options: [String] = []) {
        self.destination = destination
        self.type = type
        self.source = source
        self.options = options
    }

    static var fields: [Field<Self>] {
        [
            Field("destination", \.destination, required: true, omitEmpty: false, check: Rules.absolutePath),
            Field("type", \.type),
            Field("source", \.source),
            Field("options", \.options),
            Field("uidMappings", \.uidMappings),
            Field("gidMappings", \.gidMappings),
        ]
    }

    /// An option is a flag runc knows, `key=value` data, or a word the
    /// filesystem takes; for filesystems we do not know, any word.
    func check(_ cursor: Cursor) {
        guard let words = KnownNames.filesystemWords[type] else { return }
        for (index, option) in options.enumerated()
        where !KnownNames.mountOptionSet.contains(option) && !option.contains("=") && !words.contains(option) {
            cursor["options"][index].report("unknown mount option \(quoted(option))")
        }
    }
}

/// A range of IDs inside a user namespace and where it starts outside.
public struct IDMapping: Equatable, Sendable, JSONObject {
    public var containerID: UInt32 = 0
    public var hostID: UInt32 = 0
    public var size: UInt32 = 0

    public init() {}

    init(containerID: UInt32, hostID: UInt32, size: UInt32) {
        self.containerID = containerID
        self.hostID = hostID
        self.size = size
    }

    static var fields: [Field<Self>] {
        [
            Field("containerID", \.containerID, required: true, omitEmpty: false),
            Field("hostID", \.hostID, required: true, omitEmpty: false),
            Field("size", \.size, required: true, omitEmpty: false, check: { size, cursor in
                if size == 0 { cursor.report("must be at least 1") }
            }),
        ]
    }
}

/// The hooks, in the order the runtime-spec runs them.
public struct Hooks: Equatable, Sendable, JSONObject {
    public var prestart: [Hook] = []
    public var createRuntime: [Hook] = []
    public var createContainer: [Hook] = []
    public var startContainer: [Hook] = []
    public var poststart: [Hook] = []
    public var poststop: [Hook] = []

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("prestart", \.prestart),
            Field("createRuntime", \.createRuntime),
            Field("createContainer", \.createContainer),
            Field("startContainer", \.startContainer),
            Field("poststart", \.poststart),
            Field("poststop", \.poststop),
        ]
    }
}

public struct Hook: Equatable, Sendable, JSONObject {
    public var path = ""
    public var args: [String] = []
    public var env: [String] = []
    /// Seconds.
    public var timeout: Int?

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("path", \.path, required: true, omitEmpty: false, check: Rules.absolutePath),
            Field("args", \.args),
            Field("env", \.env, check: ContainerProcess.checkEnvironment),
            Field("timeout", \.timeout, check: { seconds, cursor in
                if seconds <= 0 { cursor.report("must be greater than zero, got \(seconds)") }
            }),
        ]
    }
}
