import CloudConfig
import CoreboxCore
import CoreboxSystem
import Glibc

/// How one step went.
public enum StepOutcome: Equatable, Sendable {
    case done
    case failed(String)
    /// Not needed or not possible here (no systemd on a prepared root).
    case skipped(String)
    /// An earlier step failed and this one depended on the system it left.
    case notRun
}

/// Carries a plan out on a root: files by temporary file and rename,
/// accounts with useradd and the shadow file, units through systemd.
/// A failed file or account step stops the rest (they build on each
/// other); a unit command that fails or times out is recorded and the next
/// one still runs, so one broken unit cannot hold up the boot.
public struct Applier {
    public let layout: Layout
    /// nil where no systemd manages the root (a prepared image, a test).
    public let systemd: SystemdManager?
    public let unitTimeout: Duration

    public init(layout: Layout, systemd: SystemdManager?, unitTimeout: Duration = .seconds(90)) {
        self.layout = layout
        self.systemd = systemd
        self.unitTimeout = unitTimeout
    }

    public func apply(_ steps: [Step]) -> [(step: Step, outcome: StepOutcome)] {
        var results: [(Step, StepOutcome)] = []
        var stopped = false
        for step in steps {
            guard !stopped else {
                results.append((step, .notRun))
                continue
            }
            let outcome = run(step)
            if case .failed = outcome, step.failureStopsPlan { stopped = true }
            results.append((step, outcome))
        }
        return results
    }

    private func run(_ step: Step) -> StepOutcome {
        do {
            switch step {
            case let .setHostname(name):
                guard layout.root.isEmpty else { return .skipped("not the running system") }
                guard sethostname(name, name.utf8.count) == 0 else { return .failed(SystemError(errno: errno, operation: "sethostname").description) }
            case let .createUser(user):
                try Accounts.create(user, layout: layout)
            case let .setPassword(user, hash):
                try Accounts.setPasswordHash(hash, of: user, layout: layout)
            case let .makeDirectory(path, mode, owner):
                let full = layout.path(path)
                try Files.makeDirectories(Files.parentDirectory(of: full))
                try Syscall.mkdir(full, mode_t(mode))
                if let owner { try chown(full, to: owner) }
            case let .writeFile(file):
                let full = layout.path(file.path)
                try Files.makeDirectories(Files.parentDirectory(of: full))
                var owner: (uid: uid_t, gid: gid_t)?
                if let spec = file.owner { owner = try ids(of: spec) }
                try Files.writeAtomically(full, file.content, mode: mode_t(file.mode), owner: owner)
            case let .mask(path):
                let full = layout.path(path)
                try Files.makeDirectories(Files.parentDirectory(of: full))
                try? Syscall.unlink(full)
                try Syscall.symlink(target: "/dev/null", at: full)
            case let .unmask(path):
                try Syscall.unlink(layout.path(path))
            case let .enable(unit, runtime):
                guard let systemd else { return .skipped("no systemd") }
                _ = try systemd.enableUnitFiles([unit], runtime: runtime)
            case .daemonReload:
                guard let systemd else { return .skipped("no systemd") }
                try systemd.reload()
            case let .unitCommand(unit, command):
                guard let systemd else { return .skipped("no systemd") }
                guard let command = UnitCommand(rawValue: command) else { return .failed("unknown command \(GoSyntax.quote(command))") }
                return Self.outcome(try systemd.run(command, unit: unit, timeout: unitTimeout))
            case let .runScript(unit, path):
                guard let systemd else { return .skipped("no systemd") }
                let outcome = try systemd.startTransientService(
                    name: unit, execStart: ["/bin/bash", path],
                    description: "Unit generated and executed by cloud-init on behalf of user", timeout: unitTimeout)
                return Self.outcome(outcome)
            }
            return .done
        } catch {
            return .failed("\(error)")
        }
    }

    static func outcome(_ job: JobOutcome) -> StepOutcome {
        switch job {
        case .completed(result: "done"): .done
        case let .completed(result): .failed("job \(result)")
        case .timedOut: .failed("no result within the unit timeout")
        }
    }

    private func chown(_ path: String, to owner: Owner) throws(CloudInitError) {
        let (uid, gid) = try ids(of: owner)
        guard Glibc.lchown(path, uid, gid) == 0 else {
            throw CloudInitError("chown \(path): \(SystemError(errno: errno, operation: "lchown").reason)")
        }
    }

    /// Numbers for an owner from the root's account files, read now: the
    /// plan may have just created the user. An absent half stays as it is
    /// (`uid_t(-1)`), as chown leaves it.
    private func ids(of owner: Owner) throws(CloudInitError) -> (uid: uid_t, gid: gid_t) {
        let accounts = try Accounts.read(layout)
        switch owner {
        case let .account(name):
            guard let user = accounts.users[name] else { throw CloudInitError("no user \(GoSyntax.quote(name)) in \(layout.path("/etc/passwd"))") }
            return (user.uid, user.gid)
        case let .spec(user, group):
            var ids = (uid: uid_t.max, gid: gid_t.max)
            if let user {
                guard let uid = UInt32(user) ?? accounts.users[user]?.uid else { throw CloudInitError("no user \(GoSyntax.quote(user)) in \(layout.path("/etc/passwd"))") }
                ids.uid = uid
            }
            if let group {
                guard let gid = UInt32(group) ?? accounts.groups[group] else { throw CloudInitError("no group \(GoSyntax.quote(group)) in \(layout.path("/etc/group"))") }
                ids.gid = gid
            }
            return ids
        }
    }
}


extension Step {
    /// Files and accounts build on each other; systemd calls do not.
    var failureStopsPlan: Bool {
        switch self {
        case .unitCommand, .runScript, .enable, .daemonReload: false
        default: true
        }
    }
}
