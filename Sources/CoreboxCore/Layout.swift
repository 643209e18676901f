/// Every path corebox touches, rooted at a prefix.
///
/// The running OS uses the root `/`; tests and the image build point the
/// same code at a temporary directory by choosing another root.
public struct Layout: Sendable, Equatable {
    /// The prefix every path lives under, without a trailing slash ("" for `/`).
    public let root: String

    public init(root: String = "/") {
        var trimmed = root
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
    }

    /// `absolute` (an absolute path on the running OS) under this root.
    public func path(_ absolute: String) -> String {
        precondition(absolute.hasPrefix("/"), "layout paths are absolute: \(absolute)")
        return root + absolute
    }

    public var binDirectory: String { path("/usr/bin") }
    public var unitDirectory: String { path("/usr/lib/systemd/system") }

    /// The administrator's update settings; they override the defaults.
    public var updateConfOverrides: String { path("/etc/corebox/update.conf") }
    /// The update settings the OS image ships.
    public var updateConfDefaults: String { path("/usr/share/corebox/update.conf") }
    /// The release the image was built as (`COREBOX_RELEASE_VERSION`, `_BOARD`, `_APPID`).
    public var release: String { path("/usr/share/corebox/release") }
    /// os-release(5): `/etc/os-release` when present, else `/usr/lib/os-release`.
    public var osReleaseCandidates: [String] { [path("/etc/os-release"), path("/usr/lib/os-release")] }

    /// The files consulted for update and reboot settings, first match wins.
    public var updateConfigLookup: [String] { [updateConfOverrides, updateConfDefaults, release] }

    public var kvdState: String { path("/var/lib/kvd") }
    public var updateAgentState: String { path("/var/lib/update-agent") }
    public var cloudInitState: String { path("/var/lib/cloud-init") }
    public var containerRuntime: String { path("/run/container") }
    /// Images `container` pulled: one OCI image layout, named by full reference.
    public var containerImages: String { path("/var/lib/corebox/images") }
    /// The bundles `container run IMAGE` unpacks, one directory per container ID.
    public var containerBundles: String { path("/var/lib/corebox/containers") }
    public var updateAgentRuntime: String { path("/run/update-agent") }
    public var locksmithRuntime: String { path("/run/locksmith") }
}

extension Layout {
    /// The layout for this process: `COREBOX_ROOT` when set, else `/`.
    public init(environment: [String: String]) {
        self.init(root: environment["COREBOX_ROOT"] ?? "/")
    }
}
