import CloudConfig
import CoreboxCore
import CoreboxSystem
import Glibc

/// A failure of cloud-init's own, said in words.
public struct CloudInitError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}

extension Accounts {
    /// The root's passwd, group and shadow (shadow only if readable).
    static func read(_ layout: Layout) throws(CloudInitError) -> Accounts {
        func text(_ path: String) throws(CloudInitError) -> String? {
            do {
                return try Files.readIfPresent(layout.path(path)).map { String(decoding: $0, as: UTF8.self) }
            } catch where error.errno == EACCES {
                return nil
            } catch {
                throw CloudInitError("\(error)")
            }
        }
        return Accounts(passwd: try text("/etc/passwd") ?? "", group: try text("/etc/group") ?? "", shadow: try text("/etc/shadow"))
    }

    /// useradd with the user's fields (in the root through `--prefix`); the
    /// password hash goes in afterwards, never on a command line.
    static func create(_ user: CloudConfig.User, layout: Layout) throws(CloudInitError) {
        var arguments = ["--password", "*"]
        if !layout.root.isEmpty { arguments += ["--prefix", layout.root] }
        if let gecos = user.gecos { arguments += ["--comment", gecos] }
        if let home = user.homedir { arguments += ["--home-dir", home] }
        arguments.append(user.noCreateHome ? "--no-create-home" : "--create-home")
        if let group = user.primaryGroup { arguments += ["--gid", group] }
        if !user.groups.isEmpty { arguments += ["--groups", user.groups.joined(separator: ",")] }
        if user.noUserGroup { arguments.append("--no-user-group") }
        if user.system { arguments.append("--system") }
        if user.noLogInit { arguments.append("--no-log-init") }
        if let shell = user.shell { arguments += ["--shell", shell] }
        arguments.append(user.name)
        let result: Subprocess.Result
        do {
            result = try Subprocess.run("/usr/sbin/useradd", arguments)
        } catch {
            throw CloudInitError("cannot run useradd: \(error)")
        }
        guard result.status == 0 else {
            throw CloudInitError("useradd \(user.name) failed (exit \(result.status)): \(result.output.trimmingWhiteSpace)")
        }
        if let hash = user.passwordHash { try setPasswordHash(hash, of: user.name, layout: layout) }
    }

    /// Puts `hash` in the user's shadow entry, as `chpasswd -e` would,
    /// holding the shadow suite's lock file while the file is replaced.
    static func setPasswordHash(_ hash: String, of name: String, layout: Layout) throws(CloudInitError) {
        let path = layout.path("/etc/shadow")
        do {
            let lock = try Syscall.open(layout.path("/etc/.pwd.lock"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            defer { Syscall.close(lock) }
            var request = flock(l_type: Int16(F_WRLCK), l_whence: Int16(SEEK_SET), l_start: 0, l_len: 0, l_pid: 0)
            while fcntl(lock, F_SETLKW, &request) != 0 {
                guard errno == EINTR else { throw SystemError(errno: errno, operation: "fcntl(F_SETLKW)", path: path) }
            }
            let status = try Syscall.fileStatus(path)
            var found = false
            let lines = String(decoding: try Files.read(path), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map { line in
                var fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard fields.count > 1, fields[0] == name else { return String(line) }
                found = true
                fields[1] = hash
                return fields.joined(separator: ":")
            }
            guard found else { throw CloudInitError("no user \"\(name)\" in \(path)") }
            try Files.writeAtomically(path, Array(lines.joined(separator: "\n").utf8), mode: status.st_mode & 0o7777, owner: (status.st_uid, status.st_gid))
        } catch let error as CloudInitError {
            throw error
        } catch {
            throw CloudInitError("\(error)")
        }
    }
}
