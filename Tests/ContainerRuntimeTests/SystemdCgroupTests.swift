import OCISpec
import Testing

/// `--systemd-cgroup`'s reading of linux.cgroupsPath, as runc's.
@Suite struct SystemdCgroupTests {
    @Test func slicePrefixAndName() throws {
        let scope = try SystemdCgroup(cgroupsPath: "machine.slice:podman:abc", id: "x")
        #expect(scope.slice == "machine.slice")
        #expect(scope.unit == "podman-abc.scope")
        #expect(scope.path == "/machine.slice/podman-abc.scope")
    }

    @Test func nestedSlicesAreLevels() throws {
        let scope = try SystemdCgroup(cgroupsPath: "a-b-c.slice::web", id: "x")
        #expect(scope.unit == "web.scope")
        #expect(scope.path == "/a.slice/a-b.slice/a-b-c.slice/web.scope")
        #expect(try SystemdCgroup(cgroupsPath: "-.slice:p:n", id: "x").path == "/p-n.scope")
    }

    @Test func defaults() throws {
        let scope = try SystemdCgroup(cgroupsPath: "", id: "c1")
        #expect(scope == SystemdCgroup(slice: "system.slice", unit: "container-c1.scope"))
        #expect(try SystemdCgroup(cgroupsPath: ":p:n", id: "x").slice == "system.slice")
    }

    @Test func refused() {
        for path in ["/a/b", "a:b", "system.slice:p:", "notaslice:p:n", "system.slice:p:n.slice", "system.slice:p:a/b"] {
            #expect(throws: CgroupPlanError.self, "\(path)") { try SystemdCgroup(cgroupsPath: path, id: "x") }
        }
    }
}
