import CloudConfig
import CoreboxCore
import CoreboxSystem
import Glibc

/// Reads what the planner compares against: accounts, the files the plan
/// may touch, and, on the running system, the host name and the units.
enum SnapshotReader {
    static func read(_ input: PlanInput, layout: Layout, systemd: SystemdManager?) throws(CloudInitError) -> SystemSnapshot {
        var snapshot = SystemSnapshot()
        snapshot.accounts = try Accounts.read(layout)
        for path in Planner.paths(for: input, accounts: snapshot.accounts) {
            snapshot.files[path] = try state(of: layout.path(path))
        }
        if layout.root.isEmpty {
            var name = [CChar](repeating: 0, count: 256)
            if gethostname(&name, name.count) == 0 { snapshot.kernelHostname = String(nulTerminated: name) }
        }
        if let systemd {
            for unit in Planner.unitNames(for: input) {
                guard let active = try? systemd.activeState(of: unit) else { continue }
                // No unit file (yet) or no answer: unknown, so `enable` is planned.
                snapshot.units[unit] = UnitState(activeState: active, fileState: try? systemd.unitFileState(of: unit))
            }
        }
        return snapshot
    }

    static func state(of path: String) throws(CloudInitError) -> FileState {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return .absent }
            throw CloudInitError("\(SystemError(errno: errno, operation: "lstat", path: path))")
        }
        do {
            switch status.st_mode & S_IFMT {
            case S_IFREG:
                return .regular(content: try Files.read(path), mode: status.st_mode & 0o7777, uid: status.st_uid, gid: status.st_gid)
            case S_IFLNK:
                return .symlink(target: try Syscall.readlink(path))
            default:
                return .other
            }
        } catch {
            throw CloudInitError("\(error)")
        }
    }
}
