/// What `features` prints: runc 1.1.5's shape (its `types/features`), with
/// our lists. The lists are ours: they come from the tables the config
/// checks use (`KnownNames`, the enums), so we never claim what we refuse
/// or refuse what we claim.
public struct RuntimeFeatures: Equatable, Sendable, JSONObject {
    public var ociVersionMin = ""
    public var ociVersionMax = ""
    public var hooks: [String] = []
    public var mountOptions: [String] = []
    public var linux: LinuxFeatures?
    public var annotations: [String: String] = [:]

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("ociVersionMin", \.ociVersionMin),
            Field("ociVersionMax", \.ociVersionMax),
            Field("hooks", \.hooks),
            Field("mountOptions", \.mountOptions),
            Field("linux", \.linux),
            Field("annotations", \.annotations),
        ]
    }

    /// Ours. cgroup v1 and v2 through cgroupfs (no systemd driver), seccomp
    /// through libseccomp, no AppArmor or SELinux labels.
    /// - Parameters:
    ///   - version: corebox's version, for the annotations.
    ///   - libseccompVersion: the linked libseccomp's `major.minor.micro`.
    public static func corebox(version: String, libseccompVersion: String) -> RuntimeFeatures {
        var features = RuntimeFeatures()
        features.ociVersionMin = OCIVersion.minimum
        features.ociVersionMax = OCIVersion.runtime
        features.hooks = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
        features.mountOptions = KnownNames.mountOptions
        var linux = LinuxFeatures()
        linux.namespaces = NamespaceType.allCases.map(\.rawValue).sorted()
        linux.capabilities = KnownNames.capabilities
        linux.cgroup = CgroupFeatures(v1: true, v2: true, systemd: false, systemdUser: false)
        var seccomp = SeccompFeatures()
        seccomp.enabled = true
        seccomp.actions = SeccompAction.allCases.map(\.rawValue).sorted()
        seccomp.operators = SeccompOperator.allCases.map(\.rawValue).sorted()
        seccomp.archs = KnownNames.seccompArchitectures
        linux.seccomp = seccomp
        linux.apparmor = Enabled(false)
        linux.selinux = Enabled(false)
        features.linux = linux
        features.annotations = [
            "io.github.seccomp.libseccomp.version": libseccompVersion,
            "org.corebox.version": version,
        ]
        return features
    }

    /// Reads a features document (ours, or another runtime's).
    public static func decode(_ bytes: [UInt8], file: String = "features") throws(ConfigError) -> RuntimeFeatures {
        try Cursor.decode(RuntimeFeatures.self, from: bytes, file: file)
    }

    /// runc's text: four-space indent and a final newline.
    public var text: String { json.text(indent: "    ") + "\n" }
}

public struct LinuxFeatures: Equatable, Sendable, JSONObject {
    public var namespaces: [String] = []
    public var capabilities: [String] = []
    public var cgroup: CgroupFeatures?
    public var seccomp: SeccompFeatures?
    public var apparmor: Enabled?
    public var selinux: Enabled?

    public init() {}

    static var fields: [Field<Self>] {
        [
            Field("namespaces", \.namespaces),
            Field("capabilities", \.capabilities),
            Field("cgroup", \.cgroup),
            Field("seccomp", \.seccomp),
            Field("apparmor", \.apparmor),
            Field("selinux", \.selinux),
        ]
    }
}

public struct CgroupFeatures: Equatable, Sendable, JSONObject {
    public var v1: Bool?
    public var v2: Bool?
    public var systemd: Bool?
    public var systemdUser: Bool?

    public init() {}

    init(v1: Bool, v2: Bool, systemd: Bool, systemdUser: Bool) {
        (self.v1, self.v2, self.systemd, self.systemdUser) = (v1, v2, systemd, systemdUser)
    }

    static var fields: [Field<Self>] {
        [Field("v1", \.v1), Field("v2", \.v2), Field("systemd", \.systemd), Field("systemdUser", \.systemdUser)]
    }
}

public struct SeccompFeatures: Equatable, Sendable, JSONObject {
    public var enabled: Bool?
    public var actions: [String] = []
    public var operators: [String] = []
    public var archs: [String] = []

    public init() {}

    static var fields: [Field<Self>] {
        [Field("enabled", \.enabled), Field("actions", \.actions), Field("operators", \.operators), Field("archs", \.archs)]
    }
}

/// `{"enabled": BOOL}`, for AppArmor and SELinux.
public struct Enabled: Equatable, Sendable, JSONObject {
    public var enabled: Bool?

    public init() {}

    init(_ enabled: Bool) { self.enabled = enabled }

    static var fields: [Field<Self>] { [Field("enabled", \.enabled)] }
}
