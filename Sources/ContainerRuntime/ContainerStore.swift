import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

/// A failure of a `container` command, printed as `container: <description>`.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    /// The applet's exit status (runc's `exec` fails with 255).
    var status: Int32 = 1
    init(_ description: String) { self.description = description }
}

/// O_PATH, which Glibc's Swift module does not export.
let openPathFlag: Int32 = 0o10_000_000

/// One container's state directory, ROOT/ID:
/// - `lock`: flock(2)ed by the command working on the container;
/// - `exec.fifo`: the FIFO the init waits on until `start` (gone after);
/// - `config.json`: the config the container was created from;
/// - `runtime`: the init's start time and the cgroup layout at create,
///   so the same cgroups are found whichever cgroup a later command runs in;
/// - `state.json`: `runc state`'s JSON as of create (its status is
///   recomputed live from the init process and the FIFO).
struct ContainerDirectory {
    let root: String
    let id: String
    var path: String { root + "/" + id }
    var lockPath: String { path + "/lock" }
    var fifoPath: String { path + "/exec.fifo" }
    var configPath: String { path + "/config.json" }
    var runtimePath: String { path + "/runtime" }
    var statePath: String { path + "/state.json" }

    /// runc's rule for IDs: letters, digits and `_+,-.`, not `.` or `..`.
    static func check(id: String) throws(CommandError) {
        let allowed = id.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_+,-.".unicodeScalars.contains($0)) }
        if id.isEmpty || id == "." || id == ".." || !allowed { throw CommandError("invalid container id \"\(id)\"") }
    }

    init(root: String, id: String) throws(CommandError) {
        try Self.check(id: id)
        self.root = root
        self.id = id
    }

    var exists: Bool { access(path, F_OK) == 0 }

    /// Makes the directory (it must not exist) and takes its lock.
    func create() throws(CommandError) -> Lock {
        do {
            try Files.makeDirectories(root, mode: 0o711)
            try Syscall.mkdir(path, 0o711)
        } catch where error.errno == EEXIST {
            throw CommandError("container with id exists: \(id)")
        } catch {
            throw CommandError("create the state directory: \(error)")
        }
        do {
            return try Lock(lockPath)
        } catch {
            removeAll()
            throw error
        }
    }

    /// Takes the lock of an existing container.
    func lock() throws(CommandError) -> Lock {
        guard exists else { throw CommandError("container does not exist: \(id)") }
        return try Lock(lockPath)
    }

    /// Removes the directory and everything in it; a missing one is fine.
    func removeAll() {
        for name in (try? Syscall.listDirectory(path)) ?? [] { _ = unlink(path + "/" + name) }
        _ = rmdir(path)
    }

    // MARK: The record

    func saveRuntime(_ record: RuntimeRecord) throws(SystemError) {
        try Files.writeAtomically(runtimePath, Array(record.text.utf8), mode: 0o600)
    }

    func saveState(_ state: ContainerState) throws(SystemError) {
        try Files.writeAtomically(statePath, Array(state.runcJSON.utf8), mode: 0o600)
    }

    /// The container as written at create, with its status as it is now;
    /// nil while `create` has not written it (or after a crash in create).
    func load() throws(CommandError) -> LoadedContainer? {
        let bytes: [UInt8]?
        do { bytes = try Files.readIfPresent(statePath) } catch { throw CommandError("read \(error)") }
        guard let bytes else { return nil }
        var state: ContainerState
        do { state = try ContainerState.decode(bytes, file: statePath) } catch { throw CommandError("\(error)") }
        let record = runtimeRecord()
        let alive = record.map { Liveness.isAlive(pid: Int32(state.pid), startTime: $0.startTime) } ?? false
        let pid = Int32(state.pid)
        // runc's order: a frozen container is paused, created or not.
        state.status = !alive ? .stopped : isFrozen(record) ? .paused : access(fifoPath, F_OK) == 0 ? .created : .running
        if state.status == .stopped { state.pid = 0 }
        return LoadedContainer(state: state, pid: pid, record: record)
    }

    /// Whether the container's freezer cgroup says FROZEN.
    func isFrozen(_ record: RuntimeRecord?) -> Bool {
        guard let plan = try? cgroupPlan(record) else { return false }
        return (try? Cgroups.isFrozen(plan)) ?? false
    }

    func runtimeRecord() -> RuntimeRecord? {
        (try? Files.read(runtimePath)).flatMap { RuntimeRecord(text: String(decoding: $0, as: UTF8.self)) }
    }

    /// The config saved at create; nil when there is none.
    func savedConfig() -> ContainerConfig? {
        (try? Files.read(configPath)).flatMap { try? ContainerConfig.decode($0, file: configPath) }
    }

    /// The config saved at create when the record says it has `hook`s.
    func savedConfig(ifItHas hook: String, _ record: RuntimeRecord?) -> ContainerConfig? {
        record?.laterHooks.contains(hook) == true ? savedConfig() : nil
    }

    /// The container's cgroups (their directories; no limits), planned
    /// again from the record made at create (the one `load` read); nil
    /// when it has none.
    func cgroupPlan(_ record: RuntimeRecord?) throws(CommandError) -> CgroupPlan? {
        guard let record, let layout = record.layout else { return nil }
        do {
            return try CgroupPlanner.plan(resources: nil, cgroupsPath: record.cgroupsPath, id: id, layout: layout)
        } catch {
            throw CommandError("cgroups: \(error)")
        }
    }
}

struct LoadedContainer {
    /// With the live status (and pid 0 once stopped).
    var state: ContainerState
    /// The init's pid as recorded at create.
    var pid: Int32
    var record: RuntimeRecord?
}

/// A write lock on a whole file, released when the object goes.
final class Lock {
    private let fd: Int32

    init(_ path: String) throws(CommandError) {
        do { fd = try Syscall.open(path, O_RDWR | O_CREAT, 0o600) } catch { throw CommandError("lock: \(error)") }
        // A POSIX record lock, not flock(2) or an open file description
        // lock: the container's init inherits the descriptor until its exec
        // (after `start`), and would hold those; a child never inherits this one.
        var request = flock(l_type: Int16(F_WRLCK), l_whence: Int16(SEEK_SET), l_start: 0, l_len: 0, l_pid: 0)
        while fcntl(fd, F_SETLKW, &request) != 0 {
            if errno != EINTR {
                let error = SystemError(errno: errno, operation: "lock", path: path)
                Syscall.close(fd)
                throw CommandError("lock: \(error)")
            }
        }
    }

    deinit { Syscall.close(fd) }
}

/// What a state directory's `runtime` file holds:
/// ```
/// start-time 123456
/// v1 <mount point> <mount root> <own path> <controllers,...>
/// unified <mount point> <mount root> <own path> <controllers,...>
/// ```
/// fields separated by tabs (cgroup paths never hold one: the planner is
/// given what /proc/self/mountinfo shows, unescaped, and a tab in one is refused at create).
struct RuntimeRecord: Equatable {
    var startTime: UInt64 = 0
    var layout: CgroupLayout?
    /// The config's linux.cgroupsPath: with the layout and the id, where
    /// the container's cgroups are, without decoding the config again.
    var cgroupsPath = ""
    /// The hook kinds after create the config has ("poststart", "poststop"):
    /// `start` and `delete` read the config only when theirs is there.
    var laterHooks: [String] = []
    /// With --systemd-cgroup: the scope unit that holds the cgroup.
    var systemdUnit: String?

    var text: String {
        var lines = ["start-time \(startTime)", "cgroups-path \(cgroupsPath)", "hooks \(laterHooks.joined(by: " "))"]
        if let systemdUnit { lines.append("systemd-unit \(systemdUnit)") }
        func line(_ kind: String, _ hierarchy: CgroupHierarchy) -> String {
            [kind, hierarchy.mountPoint, hierarchy.mountRoot, hierarchy.ownPath, hierarchy.controllers.joined(by: ",")]
                .joined(by: "\t")
        }
        switch layout {
        case .v1(let hierarchies): lines += hierarchies.map { line("v1", $0) }
        case .unified(let unified): lines.append(line("unified", unified))
        case .hybrid(let hierarchies, let unified): lines += hierarchies.map { line("v1", $0) } + [line("unified", unified)]
        case nil: break
        }
        return lines.joined(by: "\n") + "\n"
    }

    init(startTime: UInt64, layout: CgroupLayout?, cgroupsPath: String = "", laterHooks: [String] = []) {
        self.startTime = startTime
        self.layout = layout
        self.cgroupsPath = cgroupsPath
        self.laterHooks = laterHooks
    }

    /// The record of a container created from `config`, in `scope` with --systemd-cgroup.
    init(startTime: UInt64, layout: CgroupLayout?, config: ContainerConfig, scope: SystemdCgroup?) {
        let hooks = [("poststart", config.hooks?.poststart ?? []), ("poststop", config.hooks?.poststop ?? [])]
        self.init(startTime: startTime, layout: layout, cgroupsPath: scope?.path ?? config.linux?.cgroupsPath ?? "",
                  laterHooks: hooks.filter { !$0.1.isEmpty }.map(\.0))
        systemdUnit = scope?.unit
    }

    init?(text: String) {
        var v1: [CgroupHierarchy] = []
        var unified: CgroupHierarchy?
        for line in text.split(byte: UInt8(ascii: "\n")) {
            if let value = line.after(prefix: "start-time ") {
                guard let value = UInt64(value) else { return nil }
                startTime = value
                continue
            }
            if let value = line.after(prefix: "cgroups-path ") {
                cgroupsPath = value
                continue
            }
            if let value = line.after(prefix: "systemd-unit ") {
                systemdUnit = value
                continue
            }
            if let value = line.after(prefix: "hooks") {
                laterHooks = value.split(byte: UInt8(ascii: " "))
                continue
            }
            let fields = line.split(byte: UInt8(ascii: "\t"), omittingEmpty: false)
            guard fields.count == 5 else { return nil }
            let hierarchy = CgroupHierarchy(
                controllers: fields[4].split(byte: UInt8(ascii: ",")), mountPoint: fields[1], mountRoot: fields[2], ownPath: fields[3])
            switch fields[0] {
            case "v1": v1.append(hierarchy)
            case "unified": unified = hierarchy
            default: return nil
            }
        }
        switch (v1.isEmpty, unified) {
        case (true, nil): layout = nil
        case (true, let unified?): layout = .unified(unified)
        case (false, nil): layout = .v1(v1)
        case (false, let unified?): layout = .hybrid(v1, unified: unified)
        }
    }

    /// Whether every path of the layout can be written in the file.
    static func canRecord(_ layout: CgroupLayout) -> Bool {
        let hierarchies: [CgroupHierarchy] = switch layout {
        case .v1(let all): all
        case .unified(let unified): [unified]
        case .hybrid(let all, let unified): all + [unified]
        }
        return hierarchies.allSatisfy { hierarchy in
            ([hierarchy.mountPoint, hierarchy.mountRoot, hierarchy.ownPath] + hierarchy.controllers)
                .allSatisfy { !$0.contains("\t") && !$0.contains("\n") }
        }
    }
}

/// Whether a recorded init is still the same live process: its pid could
/// have been reused, so its /proc start time must match too.
enum Liveness {
    /// State letter and start time (clock ticks after boot) from /proc/PID/stat.
    static func stat(pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard pid > 0, let bytes = try? Files.read("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
        guard fields.count > 19, let state = fields[0].first,
              let start = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        return (Character(Unicode.Scalar(state)), start)
    }

    static func startTime(pid: Int32) -> UInt64? { stat(pid: pid)?.startTime }

    /// Alive: present, not a zombie, and started when recorded.
    static func isAlive(pid: Int32, startTime: UInt64) -> Bool {
        guard let stat = stat(pid: pid) else { return false }
        return stat.startTime == startTime && stat.state != "Z" && stat.state != "X"
    }

    /// Waits up to `timeout` seconds for the process to be gone, reaping it
    /// when it is this process's child (in-process callers, `run`).
    static func waitGone(pid: Int32, startTime: UInt64, timeout: Double = 10) -> Bool {
        var waited = 0.0
        while true {
            guard let stat = stat(pid: pid), stat.startTime == startTime else { return true }
            if stat.state == "Z" || stat.state == "X" {
                // Returns at once: reaps our zombie child, or ECHILD for another's.
                while waitpid(pid, nil, 0) < 0 && errno == EINTR {}
                return true
            }
            if waited >= timeout { return false }
            usleep(10_000)
            waited += 0.01
        }
    }
}
