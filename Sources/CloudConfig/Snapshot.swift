import CoreboxCore

/// What a path holds now.
public enum FileState: Equatable, Sendable {
    case absent
    case regular(content: [UInt8], mode: UInt32, uid: UInt32, gid: UInt32)
    case symlink(target: String)
    /// A directory, a device, anything the planner does not replace.
    case other
}

/// The target's accounts, from its passwd, group and shadow files.
public struct Accounts: Equatable, Sendable {
    public struct User: Equatable, Sendable {
        public var uid: UInt32
        public var gid: UInt32
        public var home: String

        public init(uid: UInt32, gid: UInt32, home: String) {
            self.uid = uid
            self.gid = gid
            self.home = home
        }
    }

    public var users: [String: User] = [:]
    public var groups: [String: UInt32] = [:]
    /// shadow's hashes: secrets, only compared.
    public var passwordHashes: [String: String] = [:]

    public init() {}

    /// The three files' text (shadow may be unreadable: nil).
    public init(passwd: String, group: String, shadow: String?) {
        for user in AccountFile.users(passwd) {
            users[user.name] = User(uid: user.uid, gid: user.gid, home: user.home)
        }
        for group in AccountFile.groups(group) {
            groups[group.name] = group.gid
        }
        for fields in AccountFile.records(shadow ?? "") where fields.count >= 2 {
            passwordHashes[fields[0]] = fields[1]
        }
    }
}

/// A unit as systemd sees it now.
public struct UnitState: Equatable, Sendable {
    /// `active`, `inactive`, `failed`, ...
    public var activeState: String
    /// `enabled`, `enabled-runtime`, `disabled`, ...; nil when unknown.
    public var fileState: String?

    public init(activeState: String, fileState: String?) {
        self.activeState = activeState
        self.fileState = fileState
    }
}

/// The system as the planner needs to see it: it reads nothing itself.
public struct SystemSnapshot: Equatable, Sendable {
    public var accounts = Accounts()
    /// The paths `Planner.paths` asked for; one left out counts as absent.
    public var files: [String: FileState] = [:]
    /// The running kernel's host name; nil when the target is not the running system.
    public var kernelHostname: String?
    /// Units the config names, as systemd reports them; empty without systemd.
    public var units: [String: UnitState] = [:]

    public init() {}

    func file(_ path: String) -> FileState { files[path] ?? .absent }

    func content(_ path: String) -> [UInt8]? {
        if case let .regular(content, _, _, _) = file(path) { return content }
        return nil
    }
}
