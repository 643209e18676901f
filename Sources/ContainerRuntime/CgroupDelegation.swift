import CContainer
import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

extension Cgroups {
    /// The leaf a runtime in a delegated cgroup moves itself into.
    static let runtimeLeaf = "runtime"

    /// This machine's layout, as `detectLayout`; first, in a systemd unit
    /// with `Delegate=yes` on cgroup v2 (container@.service), moves this
    /// process from the unit's cgroup into a leaf below it (and the layout
    /// says so). The container's cgroup is planned next to this process's,
    /// so it then lands inside the unit: systemd and the journal count its
    /// processes as the unit's (journald names a line's unit after its
    /// writer's cgroup), and the unit's cgroup, now without processes of its
    /// own, may enable the controllers the container's limits need.
    public static func detectLayoutEnteringDelegatedLeaf() throws(SystemError) -> CgroupLayout? {
        let layout = try detectLayout()
        guard case .unified(var hierarchy)? = layout,
              hierarchy.mountRoot == "/", !hierarchy.ownPath.hasSuffix("/" + runtimeLeaf) else { return layout }
        guard hierarchy.ownPath != "/", case let own = hierarchy.mountPoint + hierarchy.ownPath, isDelegated(own) else { return layout }
        let leaf = own + "/" + runtimeLeaf
        do { try Syscall.mkdir(leaf, 0o755) } catch where error.errno == EEXIST {}
        try writeFile(leaf + "/cgroup.procs", "0")
        hierarchy.ownPath += "/" + runtimeLeaf
        return .unified(hierarchy)
    }

    /// systemd marks the cgroups it delegates with a `trusted.delegate`
    /// (or, for user managers, `user.delegate`) extended attribute of "1".
    static func isDelegated(_ path: String) -> Bool {
        ["trusted.delegate", "user.delegate"].contains { name in
            var value: UInt8 = 0
            return getxattr(path, name, &value, 1) == 1 && value == UInt8(ascii: "1")
        }
    }
}
