/// The account databases' text, /etc/passwd and /etc/group (also shadow's
/// records): parsed without reading a file, for cloud-init's planner and for
/// resolving an OCI image's `User` against the image's own files.
public enum AccountFile {
    /// Colon-separated fields of each line, comments (`#`) and empty lines
    /// left out.
    public static func records(_ text: String) -> [[String]] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        }
    }

    /// passwd's entries in file order; a line with fewer than seven fields or
    /// a non-numeric id is skipped, as getpwent skips it.
    public static func users(_ passwd: String) -> [PasswdEntry] {
        records(passwd).compactMap { fields in
            guard fields.count >= 7, let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { return nil }
            return PasswdEntry(name: fields[0], uid: uid, gid: gid, home: fields[5], shell: fields[6])
        }
    }

    /// group's entries in file order; the member list may be missing.
    public static func groups(_ group: String) -> [GroupEntry] {
        records(group).compactMap { fields in
            guard fields.count >= 3, let gid = UInt32(fields[2]) else { return nil }
            let members = fields.count > 3 ? fields[3].split(separator: ",").map(String.init) : []
            return GroupEntry(name: fields[0], gid: gid, members: members)
        }
    }
}

/// One line of /etc/passwd.
public struct PasswdEntry: Equatable, Sendable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    public var home: String
    public var shell: String

    public init(name: String, uid: UInt32, gid: UInt32, home: String, shell: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home
        self.shell = shell
    }
}

/// One line of /etc/group.
public struct GroupEntry: Equatable, Sendable {
    public var name: String
    public var gid: UInt32
    public var members: [String]

    public init(name: String, gid: UInt32, members: [String]) {
        self.name = name
        self.gid = gid
        self.members = members
    }
}
