import CoreboxCore
import YAML

/// Everything besides the snapshot that decides a plan.
public struct PlanInput: Sendable {
    public var config: CloudConfig
    /// `COREOS_PUBLIC_IPV4`... for /etc/environment, from the metadata.
    public var environment: [CloudConfig.Variable]
    /// The `#!` user-data scripts (one, or one per MIME part), run once per instance.
    public var scripts: [[UInt8]]
    public var instanceID: String
    /// No earlier run for this instance completed: users and scripts are due.
    public var firstRunOfInstance: Bool

    public init(config: CloudConfig, environment: [CloudConfig.Variable] = [], scripts: [[UInt8]] = [],
                instanceID: String, firstRunOfInstance: Bool) {
        self.config = config
        self.environment = environment
        self.scripts = scripts
        self.instanceID = instanceID
        self.firstRunOfInstance = firstRunOfInstance
    }
}

/// Config plus snapshot to steps, in coreos-cloudinit's order: host name,
/// users, SSH keys, files, /etc/environment, units. A step is planned only
/// where the system differs from the config, so a second run plans nothing.
public enum Planner {
    /// Where the OS keeps things, seen from inside the target.
    static let target = Layout()
    static let hostnameFile = "/etc/hostname"
    static let environmentFile = "/etc/environment"

    /// The files the planner compares against: read these into the snapshot.
    public static func paths(for input: PlanInput, accounts: Accounts) -> [String] {
        var planner = Run(input: input, snapshot: SystemSnapshot())
        planner.snapshot.accounts = accounts
        var paths = [hostnameFile, environmentFile, "/etc/hosts", target.updateConfOverrides, target.updateConfDefaults,
                     "/etc/oem-release", "/run/flannel/options.env"]
        paths += input.config.writeFiles.map(\.path)
        paths += planner.keyFiles().map(\.path)
        for unit in planner.allUnits() {
            paths.append(unitPath(unit))
            paths += unit.dropIns.map { unitPath(unit) + ".d/" + $0.name }
        }
        return paths
    }

    /// The units whose state decides their steps: ask systemd about these.
    public static func unitNames(for input: PlanInput) -> [String] {
        Run(input: input, snapshot: SystemSnapshot()).allUnits().map(\.name)
    }

    public static func plan(_ input: PlanInput, snapshot: SystemSnapshot) -> Plan {
        var run = Run(input: input, snapshot: snapshot)
        run.planAll()
        return Plan(steps: run.steps, report: Report(run.report.diagnostics))
    }

    static func unitPath(_ unit: CloudConfig.Unit) -> String {
        let group = Names.isNetworkUnit(unit.name) ? "network" : "system"
        return (unit.runtime ? "/run" : "/etc") + "/systemd/\(group)/\(unit.name)"
    }
}

private struct Run {
    let input: PlanInput
    var snapshot: SystemSnapshot
    var steps: [Step] = []
    var report = Report()

    init(input: PlanInput, snapshot: SystemSnapshot) {
        self.input = input
        self.snapshot = snapshot
    }

    var config: CloudConfig { input.config }

    mutating func planAll() {
        planHostname()
        if input.firstRunOfInstance { planUsers() }
        planKeys()
        let wroteEnvironment = planFiles()
        if !wroteEnvironment { planEnvironment() }
        planUnits()
        planScripts()
    }

    // MARK: host name

    mutating func planHostname() {
        guard let name = config.hostname else { return }
        write(Planner.hostnameFile, Array((name + "\n").utf8))
        if let kernel = snapshot.kernelHostname, kernel != name { steps.append(.setHostname(name)) }
    }

    // MARK: users

    /// Users the plan creates, by name: their groups and homes exist later.
    var createdUsers: [String: CloudConfig.User] {
        var users: [String: CloudConfig.User] = [:]
        guard input.firstRunOfInstance else { return users }
        for user in config.users where snapshot.accounts.users[user.name] == nil { users[user.name] = users[user.name] ?? user }
        return users
    }

    func groupExists(_ name: String) -> Bool {
        snapshot.accounts.groups[name] != nil || UInt32(name) != nil
            || createdUsers.values.contains { $0.name == name && !$0.noUserGroup }
    }

    func userExists(_ name: String) -> Bool {
        snapshot.accounts.users[name] != nil || UInt32(name) != nil || createdUsers[name] != nil
    }

    mutating func planUsers() {
        var created = Set<String>()
        for user in config.users {
            if snapshot.accounts.users[user.name] != nil || created.contains(user.name) {
                if let hash = user.passwordHash, snapshot.accounts.passwordHashes[user.name] != hash {
                    steps.append(.setPassword(user: user.name, hash: hash))
                }
                continue
            }
            for group in (user.primaryGroup.map { [$0] } ?? []) + user.groups where !groupExists(group) {
                report.add(Diagnostic(.error, "group \(goQuoted(group)) of user \(goQuoted(user.name)) does not exist", at: user.mark))
            }
            created.insert(user.name)
            steps.append(.createUser(user))
        }
    }

    // MARK: SSH keys

    /// Each user's authorized_keys with the config's keys added to what is there.
    func keyFiles() -> [(user: String, path: String, keys: [String])] {
        var byUser: [(String, [String])] = config.users.filter { !$0.sshAuthorizedKeys.isEmpty }.map { ($0.name, $0.sshAuthorizedKeys) }
        if !config.sshAuthorizedKeys.isEmpty { byUser.append(("core", config.sshAuthorizedKeys)) }
        return byUser.compactMap { name, keys in
            guard let home = home(of: name) else { return nil }
            return (name, home + "/.ssh/authorized_keys", keys)
        }
    }

    func home(of name: String) -> String? {
        if let account = snapshot.accounts.users[name] { return account.home }
        guard let user = createdUsers[name] else { return nil }
        return user.homedir ?? "/home/\(name)"
    }

    mutating func planKeys() {
        if !config.sshAuthorizedKeys.isEmpty, home(of: "core") == nil {
            report.add(Diagnostic(.error, "user \"core\" does not exist for ssh_authorized_keys", at: YAMLMark(line: 1, column: 1)))
        }
        for (user, path, keys) in keyFiles() {
            let previous = snapshot.content(path)
            var lines = previous.map { String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init) } ?? []
            for key in keys.map({ $0.trimmingWhiteSpace }) where !key.isEmpty && !lines.contains(key) {
                lines.append(key)
            }
            let content = Array(lines.map { $0 + "\n" }.joined().utf8)
            guard content != previous else { continue }
            let directory = Paths.parent(of: path)
            if snapshot.file(directory) == .absent { steps.append(.makeDirectory(path: directory, mode: 0o700, owner: .account(user))) }
            steps.append(.writeFile(FileWrite(path: path, content: content, mode: 0o600, owner: .account(user), previous: previous, secret: false)))
        }
    }

    // MARK: files

    /// write_files and the files the `coreos` sections become; true when
    /// /etc/environment was among them.
    mutating func planFiles() -> Bool {
        var wroteEnvironment = false
        for file in config.writeFiles {
            var owner: Owner?
            if let spec = file.owner {
                owner = Owner(spec)
                if case let .spec(user, group)? = owner {
                    if let user, !userExists(user) {
                        report.add(Diagnostic(.error, "owner \(goQuoted(spec)) names an unknown user \(goQuoted(user))", at: file.mark))
                    }
                    if let group, !groupExists(group) {
                        report.add(Diagnostic(.error, "owner \(goQuoted(spec)) names an unknown group \(goQuoted(group))", at: file.mark))
                    }
                }
            }
            write(file.path, file.content, mode: file.mode, owner: owner, secret: file.mode & 0o004 == 0)
            wroteEnvironment = wroteEnvironment || file.path == Planner.environmentFile
        }
        if let oem = config.oem {
            let text = "ID=\(oem.id)\nVERSION_ID=\(oem.versionID)\nNAME=\(goQuoted(oem.name))\n"
                + "HOME_URL=\(goQuoted(oem.homeURL))\nBUG_REPORT_URL=\(goQuoted(oem.bugReportURL))\n"
            write("/etc/oem-release", Array(text.utf8))
        }
        if !config.update.isEmpty { planUpdateConf() }
        if config.manageEtcHosts != nil { planEtcHosts() }
        if !config.flannel.isEmpty {
            let text = config.flannel.map { "\($0.name)=\($0.value)" }.joined(separator: "\n")
            write("/run/flannel/options.env", Array(text.utf8), secret: config.flannel.contains { $0.name.hasSuffix("_PASSWORD") })
        }
        return wroteEnvironment
    }

    /// update.conf with the config's keys replaced where they are and
    /// appended (sorted) where they are not; the rest of its lines kept.
    mutating func planUpdateConf() {
        let target = Planner.target
        let current = snapshot.content(target.updateConfOverrides) ?? snapshot.content(target.updateConfDefaults) ?? []
        var pending = config.update
        var lines: [String] = []
        for line in String(decoding: current, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast(current.last == 10 ? 1 : 0) {
            if let index = pending.firstIndex(where: { line.hasPrefix($0.name) }) {
                lines.append("\(pending[index].name)=\(pending[index].value)")
                pending.remove(at: index)
            } else {
                lines.append(String(line))
            }
        }
        lines += pending.sorted { $0.name < $1.name }.map { "\($0.name)=\($0.value)" }
        write(target.updateConfOverrides, Array(lines.map { $0 + "\n" }.joined().utf8))
    }

    mutating func planEtcHosts() {
        let current = snapshot.content(Planner.hostnameFile).map { String(decoding: $0, as: UTF8.self).trimmingWhiteSpace }
        guard let name = config.hostname ?? snapshot.kernelHostname ?? current, !name.isEmpty else {
            report.add(Diagnostic(.error, "manage_etc_hosts needs a host name, and none is set", at: YAMLMark(line: 1, column: 1)))
            return
        }
        write("/etc/hosts", Array("127.0.0.1 \(name)\n".utf8))
    }

    /// COREOS_* merged into /etc/environment: a set key's line replaced,
    /// the others appended in name order, every other line kept.
    mutating func planEnvironment() {
        guard !input.environment.isEmpty else { return }
        var pending = Dictionary(input.environment.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        var text = String(decoding: snapshot.content(Planner.environmentFile) ?? [], as: UTF8.self)
        if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
        var out = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let line = line.hasSuffix("\r") ? line.dropLast() : line
            let key = line.firstIndex(of: "=").map { String(line[..<$0]) }
            if let key, Self.isEnvironmentKey(key), let value = pending.removeValue(forKey: key) {
                out += "\(key)=\(value)\n"
            } else {
                out += line + "\n"
            }
        }
        for key in pending.keys.sorted() { out += "\(key)=\(pending[key]!)\n" }
        write(Planner.environmentFile, Array(out.utf8))
    }

    static func isEnvironmentKey(_ key: String) -> Bool {
        !key.isEmpty && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    // MARK: units

    /// The config's units, then those its `coreos` sections imply.
    func allUnits() -> [CloudConfig.Unit] {
        let mark = YAMLMark(line: 1, column: 1)
        var units = config.units
        for section in config.serviceEnvironments where !section.variables.isEmpty {
            let content = "[Service]\n" + section.variables.map { "Environment=\"\($0.name)=\($0.value)\"\n" }.joined()
            units.append(CloudConfig.Unit(name: section.unit, runtime: true, dropIns: [.init(name: "20-cloudinit.conf", content: content)], mark: mark))
        }
        if let strategy = config.update.first(where: { $0.name == "REBOOT_STRATEGY" }) {
            let off = strategy.value == "off"
            units.append(CloudConfig.Unit(name: "locksmithd.service", mask: off, runtime: true, command: off ? "stop" : "restart", mark: mark))
        }
        if config.update.contains(where: { $0.name != "REBOOT_STRATEGY" }) {
            units.append(CloudConfig.Unit(name: "update-agent.service", command: "restart", mark: mark))
        }
        return units
    }

    mutating func planUnits() {
        var changed = Set<String>()
        var reload = false
        var networkChanged = false
        let units = allUnits()
        for unit in units {
            let path = Planner.unitPath(unit)
            let secret = config.serviceEnvironments.contains { $0.unit == unit.name && $0.secret }
            if let content = unit.content, !content.isEmpty, write(path, Array(content.utf8)) { changed.insert(unit.name) }
            for dropIn in unit.dropIns where !dropIn.content.isEmpty {
                if write(path + ".d/" + dropIn.name, Array(dropIn.content.utf8), secret: secret) { changed.insert(unit.name) }
            }
            if unit.mask {
                if snapshot.file(path) != .symlink(target: "/dev/null") {
                    steps.append(.mask(path: path))
                    changed.insert(unit.name)
                }
            } else if unit.runtime, Self.masks(snapshot.file(path)) {
                steps.append(.unmask(path: path))
                changed.insert(unit.name)
            }
            let network = Names.isNetworkUnit(unit.name)
            if unit.enable, !network, !Self.isEnabled(snapshot.units[unit.name]?.fileState, runtime: unit.runtime) {
                steps.append(.enable(unit: unit.name, runtime: unit.runtime))
            }
            if changed.contains(unit.name) {
                reload = true
                networkChanged = networkChanged || network
            }
        }
        if reload { steps.append(.daemonReload) }
        if networkChanged { steps.append(.unitCommand(unit: "systemd-networkd.service", command: "restart")) }
        for unit in units where !Names.isNetworkUnit(unit.name) {
            guard let command = unit.command else { continue }
            let active = snapshot.units[unit.name].map { $0.activeState == "active" }
            let due = switch command {
            case "start": active != true
            case "stop": active != false
            default: changed.contains(unit.name) || input.firstRunOfInstance
            }
            if due { steps.append(.unitCommand(unit: unit.name, command: command)) }
        }
    }

    /// Whether enabling would change nothing: enabled as asked (a runtime
    /// enablement does not stand for a lasting one), or a unit that has
    /// nothing to enable.
    static func isEnabled(_ state: String?, runtime: Bool) -> Bool {
        switch state {
        case "enabled"?, "static"?, "indirect"?, "generated"?, "alias"?: true
        case "enabled-runtime"?: runtime
        default: false
        }
    }

    /// A link to /dev/null or an empty file: what masking leaves.
    static func masks(_ state: FileState) -> Bool {
        switch state {
        case .symlink(target: "/dev/null"): true
        case let .regular(content, _, _, _): content.isEmpty
        default: false
        }
    }

    // MARK: scripts

    mutating func planScripts() {
        guard input.firstRunOfInstance else { return }
        for (index, script) in input.scripts.enumerated() {
            let name = input.scripts.count == 1 ? "user-data" : "user-data-\(index + 1)"
            let path = Planner.target.cloudInitState + "/instances/\(input.instanceID)/\(name)"
            write(path, script, mode: 0o700, secret: true)
            steps.append(.runScript(unit: "coreos-cloudinit-\(name).service", path: path))
        }
    }

    // MARK: the write rule

    /// A write step unless the file already is exactly this; true if planned.
    @discardableResult
    mutating func write(_ path: String, _ content: [UInt8], mode: UInt32 = 0o644, owner: Owner? = nil, secret: Bool = false) -> Bool {
        let current = snapshot.file(path)
        if case let .regular(existing, existingMode, uid, gid) = current, existing == content, existingMode == mode,
           owner.map({ ownerMatches($0, uid: uid, gid: gid) }) ?? true {
            return false
        }
        if case .other = current {
            report.add(Diagnostic(.error, "\(path) exists and is not a file", at: YAMLMark(line: 1, column: 1)))
            return false
        }
        let previous: [UInt8]? = if case let .regular(existing, _, _, _) = current { existing } else { nil }
        steps.append(.writeFile(FileWrite(path: path, content: content, mode: mode, owner: owner, previous: previous, secret: secret)))
        // Later sections compare against what this step leaves.
        snapshot.files[path] = .regular(content: content, mode: mode, uid: 0, gid: 0)
        return true
    }

    /// Whether the file already has this owner; unknown names do not match.
    func ownerMatches(_ owner: Owner, uid: UInt32, gid: UInt32) -> Bool {
        let accounts = snapshot.accounts
        func userID(_ name: String) -> UInt32? { UInt32(name) ?? accounts.users[name]?.uid }
        func groupID(_ name: String) -> UInt32? { UInt32(name) ?? accounts.groups[name] }
        switch owner {
        case let .spec(user, group):
            return (user.map { userID($0) == uid } ?? true) && (group.map { groupID($0) == gid } ?? true)
        case let .account(name):
            guard let account = accounts.users[name] else { return false }
            return account.uid == uid && account.gid == gid
        }
    }
}
