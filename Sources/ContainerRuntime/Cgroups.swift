import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

/// The cgroup effects: detecting the layout, applying a `CgroupPlan`,
/// listing, freezing and removing a container's cgroups.
public enum Cgroups {
    /// The v1 controllers a cgroup mount's options may name.
    static let v1Controllers: Set<String> = [
        "cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
        "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc",
    ]

    // MARK: Layout

    /// The layout from /proc/self/mountinfo, /proc/self/cgroup and the v2
    /// root's cgroup.controllers (`unifiedControllers`, read once the mount is known);
    /// nil when no cgroup hierarchy is mounted.
    public static func layout(
        mountinfo: String, selfCgroup: String, unifiedControllers: (String) -> String
    ) -> CgroupLayout? {
        var ownPaths: [String: String] = [:]
        for line in selfCgroup.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            if fields.count == 3 { ownPaths[String(fields[1])] = String(fields[2]) }
        }
        var hierarchies: [CgroupHierarchy] = []
        var unified: CgroupHierarchy?
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, fields.count >= dash + 4 else { continue }
            let root = unescape(fields[3])
            let mountPoint = unescape(fields[4])
            switch fields[dash + 1] {
            case "cgroup":
                let controllers = fields[dash + 3].split(separator: ",").map(String.init)
                    .filter { v1Controllers.contains($0) || $0.hasPrefix("name=") }
                let key = controllers.joined(by: ",")
                if controllers.isEmpty || hierarchies.contains(where: { $0.controllers == controllers }) { continue }
                hierarchies.append(CgroupHierarchy(
                    controllers: controllers, mountPoint: mountPoint, mountRoot: root, ownPath: ownPaths[key] ?? "/"))
            case "cgroup2" where unified == nil:
                let available = unifiedControllers(mountPoint).split(whereSeparator: \.isWhitespace).map(String.init)
                unified = CgroupHierarchy(controllers: available, mountPoint: mountPoint, mountRoot: root, ownPath: ownPaths[""] ?? "/")
            default:
                continue
            }
        }
        switch (hierarchies.isEmpty, unified) {
        case (true, nil): return nil
        case (true, let unified?): return .unified(unified)
        case (false, nil): return .v1(hierarchies)
        case (false, let unified?): return .hybrid(hierarchies, unified: unified)
        }
    }

    /// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
               let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// This machine's layout.
    public static func detectLayout() throws(SystemError) -> CgroupLayout? {
        let mountinfo = String(decoding: try Files.read("/proc/self/mountinfo"), as: UTF8.self)
        let selfCgroup = String(decoding: try Files.read("/proc/self/cgroup"), as: UTF8.self)
        return layout(mountinfo: mountinfo, selfCgroup: selfCgroup) { mountPoint in
            (try? Files.read(mountPoint + "/cgroup.controllers")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
    }

    // MARK: Apply

    /// Creates the plan's directories and makes its writes in order (the
    /// child joins the cgroups itself). After a failure, `remove(plan)`
    /// takes away what was made.
    public static func apply(_ plan: CgroupPlan) throws(SystemError) {
        for directory in plan.directories {
            for path in directory.create {
                do {
                    try Syscall.mkdir(path, 0o755)
                } catch where error.errno == EEXIST {}
            }
        }
        for write in plan.writes { try perform(write) }
        if let filter = plan.deviceFilter, let unified = plan.directories.first(where: \.isUnified) {
            try attachDeviceFilter(filter, to: unified.path)
        }
    }

    /// The limits in place that `update` plans around: v1's
    /// memory.limit_in_bytes and v2's cpu.max, where the container has them.
    static func currentLimits(_ plan: CgroupPlan) -> CurrentLimits {
        var current = CurrentLimits()
        if let memory = plan.directories.first(where: { $0.controllers.contains("memory") }),
           let limit = (try? readText(memory.path + "/memory.limit_in_bytes")).flatMap({ Int64($0) }) {
            current.memoryLimit = limit
        }
        if let unified = plan.directories.first(where: \.isUnified) {
            current.cpuMax = (try? readText(unified.path + "/cpu.max")).flatMap(CPUMax.init)
        }
        return current
    }

    static func perform(_ write: CgroupWrite) throws(SystemError) {
        do {
            switch write.content {
            case .text(let value):
                try writeFile(write.path, value)
            case .parentsValue:
                if try readText(write.path).isEmpty {
                    try writeFile(write.path, try readText(parent(of: write.directory) + "/" + write.file))
                }
            }
        } catch {
            switch write.onError {
            case .fail: throw error
            case .ignore: return
            case .ignoreIfMissing: if error.errno != ENOENT { throw error }
            case .otherwiseIfMissing(let instead):
                if error.errno != ENOENT { throw error }
                try perform(instead)
            }
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func writeFile(_ path: String, _ value: String) throws(SystemError) {
        let fd = try Syscall.open(path, O_WRONLY)
        defer { Syscall.close(fd) }
        try Syscall.writeAll(fd, Array(value.utf8), path: path)
    }

    /// A cgroup file's text without its trailing newline.
    public static func readText(_ path: String) throws(SystemError) -> String {
        var text = String(decoding: try Files.read(path), as: UTF8.self)
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }

    // MARK: Processes

    /// The processes in a cgroup (its cgroup.procs), for `container ps`.
    public static func processes(in directory: CgroupDirectory) throws(SystemError) -> [Int32] {
        try readText(directory.path + "/cgroup.procs").split(separator: "\n").compactMap { Int32($0) }
    }

    // MARK: Freezer

    /// Freezes the container's processes (pause) and waits until the kernel
    /// reports them frozen; thaws them again and throws EBUSY if they never are.
    public static func freeze(_ plan: CgroupPlan) throws(SystemError) {
        guard let freezer = plan.freezer else { throw SystemError(errno: ENOTSUP, operation: "freeze (no freezer cgroup)") }
        for attempt in 0..<1000 {
            if freezer.isUnified {
                if attempt == 0 { try writeFile(freezer.path + "/cgroup.freeze", "1") }
            } else {
                if attempt % 50 == 49 {
                    // A task stuck in FREEZING gets a thaw and a new try, as runc does.
                    try writeFile(freezer.path + "/freezer.state", "THAWED")
                    sleep(milliseconds: 10)
                }
                try writeFile(freezer.path + "/freezer.state", "FROZEN")
            }
            if try isFrozen(plan) { return }
            sleep(milliseconds: 1)
        }
        try? thaw(plan)
        throw SystemError(errno: EBUSY, operation: "freeze", path: freezer.path)
    }

    /// Thaws the container's processes (resume).
    public static func thaw(_ plan: CgroupPlan) throws(SystemError) {
        guard let freezer = plan.freezer else { throw SystemError(errno: ENOTSUP, operation: "thaw (no freezer cgroup)") }
        if freezer.isUnified {
            try writeFile(freezer.path + "/cgroup.freeze", "0")
        } else {
            try writeFile(freezer.path + "/freezer.state", "THAWED")
        }
    }

    /// Whether the kernel reports the container frozen (v1 freezer.state
    /// FROZEN, v2 `frozen 1` in cgroup.events).
    public static func isFrozen(_ plan: CgroupPlan) throws(SystemError) -> Bool {
        guard let freezer = plan.freezer else { return false }
        if freezer.isUnified {
            return try readText(freezer.path + "/cgroup.events").split(separator: "\n").contains("frozen 1")
        }
        return try readText(freezer.path + "/freezer.state") == "FROZEN"
    }

    static func sleep(milliseconds: Int) {
        _ = usleep(useconds_t(milliseconds * 1000))
    }

    // MARK: Remove

    /// Removes the container's cgroups: thaws them, SIGKILLs the processes
    /// still in them, then removes each cgroup's directories, deepest first,
    /// retrying while the kernel still reports them busy. Missing ones are fine.
    public static func remove(_ plan: CgroupPlan) throws(SystemError) {
        if plan.freezer.map({ exists($0.path) }) == true { try? thaw(plan) }
        for directory in plan.directories {
            // Most often empty already: one rmdir, no walk.
            if Glibc.rmdir(directory.path) == 0 || errno == ENOENT { continue }
            for path in try subtree(directory.path).reversed() {
                for pid in (try? readText(path + "/cgroup.procs"))?.split(separator: "\n").compactMap({ Int32($0) }) ?? [] {
                    _ = kill(pid, SIGKILL)
                }
                try removeDirectory(path)
            }
        }
    }

    /// `path` and the cgroups below it, parents before children.
    static func subtree(_ path: String) throws(SystemError) -> [String] {
        var paths = [path]
        for name in try Syscall.listDirectory(path).sorted() where isDirectory(path + "/" + name) {
            paths += try subtree(path + "/" + name)
        }
        return paths
    }

    static func removeDirectory(_ path: String) throws(SystemError) {
        for attempt in 0..<200 {
            if Glibc.rmdir(path) == 0 { return }
            let code = errno
            if code == ENOENT { return }
            if code != EBUSY || attempt == 199 { throw SystemError(errno: code, operation: "rmdir", path: path) }
            sleep(milliseconds: 10)
        }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        guard let status = try? Syscall.fileStatus(path) else { return false }
        return status.st_mode & S_IFMT == S_IFDIR
    }
}
