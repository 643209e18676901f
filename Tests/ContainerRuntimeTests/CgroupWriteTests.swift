import CoreboxCore
import Foundation
import OCISpec
import Testing
import TestSupport

@testable import ContainerRuntime

/// How a plan's writes meet missing files, on plain files standing in for a cgroup's.
@Suite struct CgroupWriteTests {
    @Test func fallsBackWhenTheFileIsMissing() throws {
        let cgroup = try TemporaryDirectory()
        try cgroup.write("io.weight", "")
        let write = CgroupWrite(cgroup.path, "io.bfq.weight", "500", onError: .otherwiseIfMissing(CgroupWrite(cgroup.path, "io.weight", "4950")))
        // No BFQ: io.weight instead.
        try Cgroups.perform(write)
        #expect(try Cgroups.readText(cgroup.path + "/io.weight") == "4950")
        // BFQ: its file only.
        try cgroup.write("io.bfq.weight", "")
        try cgroup.write("io.weight", "100")
        try Cgroups.perform(write)
        #expect(try Cgroups.readText(cgroup.path + "/io.bfq.weight") == "500")
        #expect(try Cgroups.readText(cgroup.path + "/io.weight") == "100")
        // Neither: the fallback's own error.
        let missing = CgroupWrite(cgroup.path, "a", "1", onError: .otherwiseIfMissing(CgroupWrite(cgroup.path, "b", "2")))
        let error = #expect(throws: SystemError.self) { try Cgroups.perform(missing) }
        #expect(error?.path == cgroup.path + "/b")
        try Cgroups.perform(CgroupWrite(cgroup.path, "a", "1", onError: .ignoreIfMissing))
    }
}
