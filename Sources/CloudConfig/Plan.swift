import CoreboxCore

/// Who a written file belongs to; resolved against the target's account
/// files when the step runs, after the users the plan creates exist.
public enum Owner: Equatable, Sendable {
    /// chown's `user`, `user:group` or `:group` (names or numbers).
    case spec(user: String?, group: String?)
    /// A user and that user's primary group (their SSH files).
    case account(String)

    /// `user[:group]` as write_files gives it; nil for an empty spec.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let user = parts[0].isEmpty ? nil : parts[0]
        let group = parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil
        guard user != nil || group != nil else { return nil }
        self = .spec(user: user, group: group)
    }
}

/// One file to put in place: written to a temporary file beside it, then
/// renamed over it.
public struct FileWrite: Equatable, Sendable {
    public var path: String
    public var content: [UInt8]
    public var mode: UInt32
    public var owner: Owner?
    /// What is there now, for the dry run's diff (nil: nothing).
    public var previous: [UInt8]?
    /// Not shown in a dry run or a log: private modes, passwords in drop-ins.
    public var secret: Bool
}

/// One change to the system, in the order the plan applies it.
public enum Step: Equatable, Sendable {
    /// The running kernel's host name (the file is a `writeFile`).
    case setHostname(String)
    case createUser(CloudConfig.User)
    case setPassword(user: String, hash: String)
    case makeDirectory(path: String, mode: UInt32, owner: Owner?)
    case writeFile(FileWrite)
    /// A unit path made a link to /dev/null.
    case mask(path: String)
    /// A runtime unit path that masked the unit, removed.
    case unmask(path: String)
    case enable(unit: String, runtime: Bool)
    case daemonReload
    case unitCommand(unit: String, command: String)
    /// The user-data script, run as a transient service.
    case runScript(unit: String, path: String)

    /// One line for the dry run and the result file; never a secret.
    public var summary: String {
        switch self {
        case let .setHostname(name): "set the host name to \(name)"
        case let .createUser(user): "create user \(user.name)" + Self.details(of: user)
        case let .setPassword(user, _): "set the password of \(user) (hash not shown)"
        case let .makeDirectory(path, mode, _): "create directory \(path) mode \(Self.octal(mode))"
        case let .writeFile(file): (file.previous == nil ? "create " : "rewrite ") + "\(file.path) mode \(Self.octal(file.mode))"
        case let .mask(path): "mask \(path) (link to /dev/null)"
        case let .unmask(path): "unmask \(path)"
        case let .enable(unit, runtime): "enable \(unit)" + (runtime ? " (runtime)" : "")
        case .daemonReload: "reload systemd"
        case let .unitCommand(unit, command): "\(command) \(unit)"
        case let .runScript(unit, path): "run \(path) as \(unit)"
        }
    }

    /// What useradd is told beyond the name, as `(key value, ...)`.
    static func details(of user: CloudConfig.User) -> String {
        let details = [
            user.gecos.map { "gecos \(GoSyntax.quote($0))" },
            user.homedir.map { "home \($0)" },
            user.noCreateHome ? "no home created" : nil,
            user.primaryGroup.map { "primary group \($0)" },
            user.groups.isEmpty ? nil : "groups \(user.groups.joined(separator: ","))",
            user.noUserGroup ? "no user group" : nil,
            user.system ? "system account" : nil,
            user.noLogInit ? "not in lastlog" : nil,
            user.shell.map { "shell \($0)" },
            user.passwordHash == nil ? nil : "password hash not shown",
        ].compactMap { $0 }
        return details.isEmpty ? "" : " (" + details.joined(separator: "; ") + ")"
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// What the planner made of a config: the steps, or the problems that
/// stop it from being applied (then nothing is touched).
public struct Plan: Equatable, Sendable {
    public var steps: [Step]
    public var report: Report

    /// The dry run: every file as a diff, every other step as a line.
    public var description: String {
        steps.map { step in
            guard case let .writeFile(file) = step else { return "* " + step.summary + "\n" }
            let heading = "* " + step.summary + "\n"
            if file.secret { return heading + "  (content not shown: secret)\n" }
            return heading + UnifiedDiff.render(old: file.previous, new: file.content, path: file.path)
        }.joined()
    }
}
