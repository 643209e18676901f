import CoreboxCore

/// What an image's config asks to run, as a runtime needs it: pure, from
/// the config, the command line's override and the unpacked root's
/// /etc/passwd and /etc/group text, with containerd's rules.
public struct ImageProcess: Equatable, Sendable {
    public var args: [String]
    public var env: [String]
    public var cwd: String
    public var uid: UInt32
    public var gid: UInt32
    /// The groups listing the user as a member, primary group left out.
    public var additionalGids: [UInt32]

    /// The PATH containerd and podman give a process whose image sets none.
    public static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// `command`, when not empty, replaces `Cmd` (never `Entrypoint`).
    /// `passwd`/`group` nil: the image has no such file.
    public init(config: ImageConfig.Execution?, command: [String] = [], passwd: String?, group: String?) throws(ImageError) {
        args = (config?.entrypoint ?? []) + (command.isEmpty ? config?.cmd ?? [] : command)
        guard !args.isEmpty else { throw ImageError("the image sets no Entrypoint or Cmd, and no command was given") }
        let working = config?.workingDir ?? ""
        cwd = working.isEmpty ? "/" : working.hasPrefix("/") ? working : "/" + working
        let users = AccountFile.users(passwd ?? "")
        let groups = AccountFile.groups(group ?? "")
        let spec = config?.user ?? ""
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts[0], groupPart = parts.count > 1 ? parts[1] : nil

        var account: PasswdEntry?
        if userPart.isEmpty {
            (uid, account) = (0, users.first { $0.uid == 0 })
        } else if let number = UInt32(userPart) {
            (uid, account) = (number, users.first { $0.uid == number })
        } else {
            guard let entry = users.first(where: { $0.name == userPart }) else {
                throw ImageError("User \"\(spec)\": no user \"\(userPart)\" in the image's /etc/passwd")
            }
            (uid, account) = (entry.uid, entry)
        }
        if let groupPart, !groupPart.isEmpty {
            if let number = UInt32(groupPart) {
                gid = number
            } else {
                guard let entry = groups.first(where: { $0.name == groupPart }) else {
                    throw ImageError("User \"\(spec)\": no group \"\(groupPart)\" in the image's /etc/group")
                }
                gid = entry.gid
            }
        } else {
            gid = account?.gid ?? 0
        }
        var extra: [UInt32] = []
        if let name = account?.name {
            for entry in groups where entry.members.contains(name) && entry.gid != gid && !extra.contains(entry.gid) {
                extra.append(entry.gid)
            }
        }
        additionalGids = extra

        env = config?.env ?? []
        if !env.contains(where: { $0.hasPrefix("PATH=") }) { env.insert(Self.defaultPath, at: 0) }
        if !env.contains(where: { $0.hasPrefix("HOME=") }) { env.append("HOME=" + (account?.home.isEmpty == false ? account!.home : "/")) }
    }
}
