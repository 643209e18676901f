/// `--systemd-cgroup`: the container's cgroup is a transient scope unit of
/// systemd's, named by `linux.cgroupsPath` as runc reads it,
/// `SLICE:PREFIX:NAME` (unit `PREFIX-NAME.scope` in `SLICE`), or, when the
/// config has none, `container-ID.scope` in `system.slice`.
public struct SystemdCgroup: Equatable, Sendable {
    public var slice: String
    public var unit: String

    public init(slice: String, unit: String) {
        self.slice = slice
        self.unit = unit
    }

    public init(cgroupsPath: String, id: String) throws(CgroupPlanError) {
        guard !cgroupsPath.isEmpty else {
            (slice, unit) = ("system.slice", "container-\(id).scope")
            return
        }
        let parts = cgroupsPath.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw CgroupPlanError("with --systemd-cgroup the cgroup path is SLICE:PREFIX:NAME, not \"\(cgroupsPath)\"")
        }
        let (slice, prefix, name) = (parts[0].isEmpty ? "system.slice" : parts[0], parts[1], parts[2])
        guard slice.hasSuffix(".slice"), !slice.contains("/") else { throw CgroupPlanError("\"\(slice)\" is not a slice unit name") }
        guard !name.isEmpty, !name.contains("/"), !prefix.contains("/") else { throw CgroupPlanError("\"\(cgroupsPath)\": the scope needs a name") }
        guard !name.hasSuffix(".slice") else { throw CgroupPlanError("\"\(cgroupsPath)\": a container is a scope, not a slice") }
        self.slice = slice
        unit = (prefix.isEmpty ? name : prefix + "-" + name) + ".scope"
    }

    /// The scope's cgroup below the hierarchy's root: every dash of a slice
    /// name is a level (`a-b.slice` is `/a.slice/a-b.slice`).
    public var path: String {
        var path = ""
        if slice != "-.slice" {
            let levels = slice.dropLast(".slice".count).split(separator: "-")
            for index in levels.indices {
                path += "/" + levels[...index].joined(separator: "-") + ".slice"
            }
        }
        return path + "/" + unit
    }
}
