/// A config's `cgroup` mount made concrete, as runc 1.1.5 does it: mount(2)
/// of type "cgroup" with no controllers named cannot work (every v1
/// hierarchy is mounted already), so
/// - on cgroup v1 (and hybrid) it becomes a tmpfs at the destination with
///   the container's own cgroup of each v1 hierarchy bound under it, named
///   after the hierarchy's mount point (`cpu,cpuacct`) and, for comounted
///   controllers, also after each controller (`cpu`, `cpuacct`: runc makes
///   those symlinks; here they are binds of the same directory). The tmpfs
///   is remounted read-only last when the mount asks for `ro`;
/// - on v2 it becomes a `cgroup2` mount (the container sees its own cgroup
///   as the root when it has a cgroup namespace).
public enum CgroupMounts {
    public static func expand(_ mounts: [Mount], plan: CgroupPlan, layout: CgroupLayout) -> [Mount] {
        mounts.flatMap { mount -> [Mount] in
            guard mount.type == "cgroup" else { return [mount] }
            switch layout {
            case .unified:
                var mount = mount
                mount.type = "cgroup2"
                return [mount]
            case .v1(let hierarchies), .hybrid(let hierarchies, _):
                return expandV1(mount, hierarchies: hierarchies, plan: plan)
            }
        }
    }

    private static func expandV1(_ mount: Mount, hierarchies: [CgroupHierarchy], plan: CgroupPlan) -> [Mount] {
        let destination = mount.destination.hasSuffix("/") ? String(mount.destination.dropLast()) : mount.destination
        let options = mount.options.filter { $0 != "ro" && $0 != "rw" }
        var expanded = [Mount(destination, type: "tmpfs", source: "tmpfs", options: options + ["mode=755"])]
        for hierarchy in hierarchies {
            guard let directory = plan.directories.first(where: { !$0.isUnified && $0.controllers == hierarchy.controllers }) else { continue }
            let name = hierarchy.mountPoint.split(separator: "/").last.map(String.init) ?? hierarchy.controllers.joined(separator: ",")
            var names = [name]
            if hierarchy.controllers.count > 1 { names += hierarchy.controllers.filter { $0 != name } }
            for name in names {
                expanded.append(Mount(destination + "/" + name, type: "bind", source: directory.path, options: ["rbind"] + mount.options))
            }
        }
        if mount.options.contains("ro") {
            expanded.append(Mount(destination, type: "tmpfs", source: "tmpfs", options: ["remount"] + mount.options))
        }
        return expanded
    }
}
