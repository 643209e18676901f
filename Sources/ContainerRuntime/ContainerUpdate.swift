import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

/// `update`'s command line, runc 1.1's: new limits from a LinuxResources
/// document (`--resources FILE`, `-` for stdin; then the other flags are
/// ignored) or from flags. A zero or absent value leaves a limit as it is.
enum UpdateRequest {
    static let values: Set<String> = [
        "resources", "blkio-weight", "cpu-period", "cpu-quota", "cpu-share", "cpu-rt-period", "cpu-rt-runtime",
        "cpuset-cpus", "cpuset-mems", "kernel-memory", "kernel-memory-tcp", "memory", "memory-reservation",
        "memory-swap", "pids-limit", "l3-cache-schema", "mem-bw-schema",
    ]
    static let aliases = ["r": "resources"]

    /// The resources the flags ask for; `document` reads the file `--resources` names.
    static func resources(
        _ flags: GoFlags, document: (String) throws(CommandError) -> [UInt8]
    ) throws(CommandError) -> Resources {
        if flags.value("l3-cache-schema") != nil || flags.value("mem-bw-schema") != nil {
            throw CommandError("update: Intel RDT is not supported")
        }
        if let path = flags.value("resources"), !path.isEmpty {
            let name = path == "-" ? "standard input" : path
            do { return try Resources.decode(try document(path), file: name).updatable } catch { throw CommandError("update: \(error)") }
        }
        var resources = Resources()
        var memory = Memory()
        for (flag, field) in [
            ("memory", \Memory.limit), ("memory-swap", \.swap), ("memory-reservation", \.reservation),
            ("kernel-memory", \.kernel), ("kernel-memory-tcp", \.kernelTCP),
        ] {
            guard let text = flags.value(flag) else { continue }
            guard let bytes = text == "-1" ? -1 : ramInBytes(text) else {
                throw CommandError("update: invalid value for \(flag): invalid size: '\(text)'")
            }
            memory[keyPath: field] = bytes
        }
        if memory != Memory() { resources.memory = memory }

        var cpu = CPU()
        for (flag, field) in [("cpu-share", \CPU.shares), ("cpu-period", \.period), ("cpu-rt-period", \.realtimePeriod)] {
            guard let text = flags.value(flag) else { continue }
            guard let value = UInt64(text) else { throw invalid(flag, text) }
            cpu[keyPath: field] = value
        }
        for (flag, field) in [("cpu-quota", \CPU.quota), ("cpu-rt-runtime", \.realtimeRuntime)] {
            guard let text = flags.value(flag) else { continue }
            guard let value = Int64(text) else { throw invalid(flag, text) }
            cpu[keyPath: field] = value
        }
        cpu.cpus = flags.value("cpuset-cpus") ?? ""
        cpu.mems = flags.value("cpuset-mems") ?? ""
        if cpu != CPU() { resources.cpu = cpu }

        if let text = flags.value("blkio-weight") {
            guard let weight = UInt16(text) else { throw invalid("blkio-weight", text) }
            resources.blockIO = BlockIO()
            resources.blockIO?.weight = weight
        }
        if let text = flags.value("pids-limit") {
            guard let limit = Int64(text) else { throw invalid("pids-limit", text) }
            resources.pids = Pids()
            resources.pids?.limit = limit
        }
        return resources
    }

    static func invalid(_ flag: String, _ text: String) -> CommandError {
        CommandError("update: invalid value for \(flag): \(GoSyntax.quote(text)) is not a number")
    }

    /// A size in bytes as docker's units package reads RAM: digits with an
    /// optional fraction, an optional space, then an optional k, m, g, t or
    /// p (powers of 1024, any case), `i` and `b` (`512m`, `1.5GiB`, `100`).
    static func ramInBytes(_ text: String) -> Int64? {
        var rest = Substring(text)
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        rest = rest.dropFirst(number.count)
        guard let value = Double(number), number.first?.isNumber == true, number.last?.isNumber == true else { return nil }
        if rest.first == " " { rest = rest.dropFirst() }
        var multiplier = 1.0
        if let unit = rest.first, let power = "kmgtp".firstIndex(of: Character(unit.lowercased())) {
            multiplier = pow(1024, Double("kmgtp".distance(from: "kmgtp".startIndex, to: power) + 1))
            rest = rest.dropFirst()
        }
        if rest.first == "i" || rest.first == "I" { rest = rest.dropFirst() }
        if rest.first == "b" || rest.first == "B" { rest = rest.dropFirst() }
        let bytes = value * multiplier
        guard rest.isEmpty, bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }
}

extension ContainerCommands {
    /// Writes new limits into a created, running or paused container's
    /// cgroups, and gives them to systemd for a `--systemd-cgroup` scope.
    /// Device rules stay as they are (as with runc); the config saved at
    /// create is not rewritten: the cgroup files hold the limits.
    func update(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try parse("update", arguments, values: UpdateRequest.values, aliases: UpdateRequest.aliases, positionals: 1...1)
        let directory = try directory(parsed.positionals[0])
        let resources = try UpdateRequest.resources(parsed) { path throws(CommandError) in
            do { return try Files.read(path == "-" ? "/dev/stdin" : path) } catch { throw CommandError("update: read \(error)") }
        }
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        guard let loaded = try directory.load(), loaded.state.status != .stopped else { throw CommandError("container not running") }
        guard let record = loaded.record, let layout = record.layout, let cgroups = try directory.cgroupPlan(record) else {
            throw CommandError("update: the container has no cgroups")
        }
        do {
            let plan = try CgroupPlanner.update(
                resources: resources, cgroupsPath: record.cgroupsPath, id: directory.id, layout: layout,
                current: Cgroups.currentLimits(cgroups))
            for warning in plan.warnings { log.warning(warning) }
            // systemd first, as runc: it writes its (rounded) values, then the exact ones go in.
            if let unit = record.systemdUnit {
                try SystemdScopes.setLimits(unit, try SystemdCgroup.properties(resources, unified: layout.isUnified))
            }
            for write in plan.writes { try Cgroups.perform(write) }
        } catch {
            throw CommandError("update: \(error)")
        }
        return 0
    }
}
