import CoreboxCore
import Foundation
import Glibc
import OCISpec
import Testing
import TestSupport

@testable import ContainerRuntime

/// User namespaces, made or joined by path, through `create`/`start`/`delete`:
/// the container's root is the host's 100000.
extension LifecycleTests {
    /// Lets a root that is an unprivileged uid on the host run the bundle:
    /// it can make no mount point in the rootfs, nor go through a private
    /// directory.
    func allowUnprivilegedRoot() throws {
        try FileManager.default.createDirectory(atPath: bundle.path + "/rootfs/sys", withIntermediateDirectories: true)
        #expect(chmod(bundle.path, 0o755) == 0 && chmod(output.path, 0o777) == 0)
    }

    /// Creates, checks the waiting init's host uid, starts, deletes.
    func runAsHostUID100000(_ config: ContainerConfig, id: String) async throws {
        try write(config)
        let created = container("create", "-b", bundle.path, id)
        try #require(created.status == 0, "\(created.error)")
        let pid = track(try state(id))
        #expect(try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8).contains("Uid:\t100000\t100000\t100000"))
        #expect(container("start", id).status == 0)
        _ = try await wait(id, for: .stopped)
        #expect(container("delete", id).status == 0)
        #expect(outputFile("uid_map")?.split(whereSeparator: \.isWhitespace) == ["0", "100000", "65536"])
        #expect(outputFile("pid") == "1\n", "the init of its pid namespace")
        try expectGone(id, config, pid: pid)
    }

    static let reportScript = "readlink /proc/self/ns/user > /out/user; cat /proc/self/uid_map > /out/uid_map; echo $$ > /out/pid"

    @Test(.enabled(if: canRun)) func aContainerInANewUserNamespace() async throws {
        try allowUnprivilegedRoot()
        var config = config(Self.reportScript)
        var mapping = IDMapping()
        (mapping.containerID, mapping.hostID, mapping.size) = (0, 100_000, 65536)
        config.linux!.namespaces.append(Namespace(type: .user))
        (config.linux!.uidMappings, config.linux!.gidMappings) = ([mapping], [mapping])
        try await runAsHostUID100000(config, id: "mapped")
        #expect(outputFile("user") != (try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")) + "\n")
    }

    @Test(.enabled(if: canRun)) func aContainerJoinsAUserNamespace() async throws {
        // A process in a user namespace of its own, mapped as the container's would be.
        let holder = try ChildProcess("/usr/bin/unshare", ["--user", "sleep", "100"])
        defer { holder.stop() }
        let namespace = "/proc/\(holder.pid)/ns/user"
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")
        for _ in 0..<500 where (try? FileManager.default.destinationOfSymbolicLink(atPath: namespace)) == own {
            try await Task.sleep(for: .milliseconds(10))
        }
        for map in ["uid_map", "gid_map"] { try "0 100000 65536".write(toFile: "/proc/\(holder.pid)/\(map)", atomically: false, encoding: .utf8) }
        try allowUnprivilegedRoot()
        var config = config(Self.reportScript)
        config.linux!.namespaces.append(Namespace(type: .user, path: namespace))
        try await runAsHostUID100000(config, id: "joined")
        #expect(outputFile("user") == (try FileManager.default.destinationOfSymbolicLink(atPath: namespace)) + "\n")
    }
}
