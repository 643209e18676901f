import YAML

/// A cloud-config as typed values, read from a document the validator
/// passed. Places are kept where the planner may still find a problem
/// (an owner that does not exist, a user that cannot be made).
public struct CloudConfig: Equatable, Sendable {
    public struct User: Equatable, Sendable {
        public var name: String
        /// A crypt(3) hash; a secret, never printed.
        public var passwordHash: String?
        public var sshAuthorizedKeys: [String] = []
        public var gecos: String?
        public var homedir: String?
        public var noCreateHome = false
        public var primaryGroup: String?
        public var groups: [String] = []
        public var noUserGroup = false
        public var system = false
        public var noLogInit = false
        public var shell: String?
        public var mark: YAMLMark
    }

    public struct File: Equatable, Sendable {
        /// Absolute and clean.
        public var path: String
        /// Decoded from its encoding.
        public var content: [UInt8]
        /// `user`, `user:group` or `:group`, names or numbers.
        public var owner: String?
        public var mode: UInt32
        public var mark: YAMLMark
    }

    public struct Unit: Equatable, Sendable {
        public struct DropIn: Equatable, Sendable {
            public var name: String
            public var content: String
        }

        public var name: String
        public var mask = false
        public var enable = false
        public var runtime = false
        public var content: String?
        public var command: String?
        public var dropIns: [DropIn] = []
        public var mark: YAMLMark
    }

    public struct Variable: Equatable, Sendable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The drop-in a `coreos` service section becomes.
    public struct ServiceEnvironment: Equatable, Sendable {
        public var unit: String
        public var variables: [Variable]
        /// A password is among the values.
        public var secret: Bool
    }

    public struct OEM: Equatable, Sendable {
        public var id: String
        public var name = ""
        public var versionID = ""
        public var homeURL = ""
        public var bugReportURL = ""
    }

    public var hostname: String?
    public var sshAuthorizedKeys: [String] = []
    public var users: [User] = []
    public var writeFiles: [File] = []
    public var manageEtcHosts: String?
    public var units: [Unit] = []
    /// `coreos.update`: REBOOT_STRATEGY, GROUP, SERVER as given.
    public var update: [Variable] = []
    public var oem: OEM?
    public var serviceEnvironments: [ServiceEnvironment] = []
    /// `coreos.flannel`, for /run/flannel/options.env.
    public var flannel: [Variable] = []

    public init() {}

    /// The config a validated document says; keys the validator reported
    /// as unusable are left out.
    public init(document: YAMLNode) {
        guard let root = Mapping(document) else { return }
        hostname = root.string("hostname")
        sshAuthorizedKeys = root.strings("ssh_authorized_keys")
        users = root.mappings("users").compactMap(Self.user)
        writeFiles = root.mappings("write_files").compactMap(Self.file)
        manageEtcHosts = root.string("manage_etc_hosts")
        guard let coreos = root.mapping("coreos") else { return }
        units = coreos.mappings("units").compactMap(Self.unit)
        update = coreos.mapping("update").map { Self.variables($0, Schema.update) } ?? []
        oem = coreos.mapping("oem").flatMap(Self.oem)
        flannel = coreos.mapping("flannel").map { Self.variables($0, Schema.flannel) } ?? []
        for (key, unit, schema) in [("etcd", "etcd.service", Schema.etcd), ("etcd2", "etcd2.service", Schema.etcd2),
                                    ("fleet", "fleet.service", Schema.fleet), ("locksmith", "locksmithd.service", Schema.locksmith)] {
            guard let section = coreos.mapping(key) else { continue }
            let variables = Self.variables(section, schema)
            let secret = variables.contains { $0.name.hasSuffix("_PASSWORD") }
            serviceEnvironments.append(ServiceEnvironment(unit: unit, variables: variables, secret: secret))
        }
    }

    /// Later user-data parts add to lists and override single values.
    public mutating func merge(_ other: CloudConfig) {
        hostname = other.hostname ?? hostname
        sshAuthorizedKeys += other.sshAuthorizedKeys
        users += other.users
        writeFiles += other.writeFiles
        manageEtcHosts = other.manageEtcHosts ?? manageEtcHosts
        units += other.units
        update += other.update
        oem = other.oem ?? oem
        serviceEnvironments += other.serviceEnvironments
        flannel += other.flannel
    }

    private static func user(_ map: Mapping) -> User? {
        guard let name = map.string("name") else { return nil }
        return User(
            name: name, passwordHash: map.string("passwd"), sshAuthorizedKeys: map.strings("ssh_authorized_keys"),
            gecos: map.string("gecos"), homedir: map.string("homedir"), noCreateHome: map.bool("no_create_home"),
            primaryGroup: map.string("primary_group"), groups: map.strings("groups"), noUserGroup: map.bool("no_user_group"),
            system: map.bool("system"), noLogInit: map.bool("no_log_init"), shell: map.string("shell"), mark: map.node.mark)
    }

    private static func file(_ map: Mapping) -> File? {
        guard let path = map.string("path"), !path.isEmpty else { return nil }
        guard let content = try? map.fileContent() else { return nil }
        // coreos-cloudinit's modes go through Go's os.FileMode, whose setuid,
        // setgid and sticky bits are not these octal ones: they are dropped.
        let permissions = (map.string("permissions").flatMap { UInt32($0, radix: 8) } ?? 0o644) & 0o777
        return File(path: Paths.clean("/" + path), content: content, owner: map.string("owner"), mode: permissions, mark: map.node.mark)
    }

    private static func unit(_ map: Mapping) -> Unit? {
        guard let name = map.string("name"), !name.isEmpty else { return nil }
        let dropIns = map.mappings("drop_ins").compactMap { dropIn in
            dropIn.string("name").map { Unit.DropIn(name: $0, content: dropIn.string("content") ?? "") }
        }
        return Unit(
            name: name, mask: map.bool("mask"), enable: map.bool("enable"), runtime: map.bool("runtime"),
            content: map.string("content"), command: map.string("command"), dropIns: dropIns, mark: map.node.mark)
    }

    private static func oem(_ map: Mapping) -> OEM? {
        guard let id = map.string("id"), !id.isEmpty else { return nil }
        return OEM(id: id, name: map.string("name") ?? "", versionID: map.string("version_id") ?? "",
                   homeURL: map.string("home_url") ?? "", bugReportURL: map.string("bug_report_url") ?? "")
    }

    /// A section's set keys as its variables, in the schema's order, each
    /// as Go's `%v` prints it; zero values (false, 0, "") are left out.
    private static func variables(_ map: Mapping, _ schema: Schema) -> [Variable] {
        schema.fields.compactMap { field in
            guard let name = field.environment, let node = map.entry(field.name)?.value, let scalar = Scalar(node) else { return nil }
            let text: String?
            switch (field.type, scalar) {
            case (.string, _): text = node.stringValue
            case (.bool, .bool(true)): text = "true"
            case let (.int, .int(value)) where value != 0: text = String(value)
            case let (.float, .int(value)) where value != 0: text = String(value)
            case let (.float, .float(value)) where value != 0: text = goFloatText(value)
            default: text = nil
            }
            guard let text, !text.isEmpty else { return nil }
            return Variable(name: name, value: text)
        }
    }
}
