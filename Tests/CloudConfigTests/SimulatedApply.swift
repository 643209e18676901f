import CloudConfig

extension SystemSnapshot {
    /// The system a plan leaves, as the applier would leave it: files
    /// written with their owners resolved as chown resolves them, users
    /// made (each with uid 1000), units enabled and started or stopped.
    func after(_ plan: Plan) -> SystemSnapshot {
        var snapshot = self
        func ids(_ owner: Owner?) -> (UInt32, UInt32) {
            let accounts = snapshot.accounts
            switch owner {
            case nil: return (0, 0)
            case let .account(name)?:
                let user = accounts.users[name]
                return (user?.uid ?? 0, user?.gid ?? 0)
            case let .spec(user, group)?:
                let uid = user.flatMap { UInt32($0) ?? accounts.users[$0]?.uid } ?? 0
                let gid = group.flatMap { UInt32($0) ?? accounts.groups[$0] } ?? 0
                return (uid, gid)
            }
        }
        for step in plan.steps {
            switch step {
            case let .writeFile(file):
                let (uid, gid) = ids(file.owner)
                snapshot.files[file.path] = .regular(content: file.content, mode: file.mode, uid: uid, gid: gid)
            case let .mask(path): snapshot.files[path] = .symlink(target: "/dev/null")
            case let .unmask(path): snapshot.files[path] = .absent
            case let .makeDirectory(path, _, _): snapshot.files[path] = .other
            case let .createUser(user):
                snapshot.accounts.users[user.name] = .init(uid: 1000, gid: 1000, home: user.homedir ?? "/home/\(user.name)")
                if !user.noUserGroup { snapshot.accounts.groups[user.name] = 1000 }
            case let .setPassword(user, hash): snapshot.accounts.passwordHashes[user] = hash
            case let .enable(unit, _): snapshot.units[unit, default: UnitState(activeState: "inactive", fileState: nil)].fileState = "enabled"
            case let .unitCommand(unit, command):
                snapshot.units[unit, default: UnitState(activeState: "inactive", fileState: nil)].activeState = command == "stop" ? "inactive" : "active"
            default: break
            }
        }
        return snapshot
    }
}
