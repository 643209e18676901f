import Testing
@testable import CoreboxCore

@Suite struct LayoutTests {
    @Test func defaultRootIsTheRunningSystem() {
        let layout = Layout()
        #expect(layout.updateConfOverrides == "/etc/corebox/update.conf")
        #expect(layout.binDirectory == "/usr/bin")
        #expect(layout.updateConfigLookup == [
            "/etc/corebox/update.conf", "/usr/share/corebox/update.conf", "/usr/share/corebox/release",
        ])
    }

    @Test func everyPathLivesUnderAnotherRoot() {
        let layout = Layout(root: "/tmp/t1/")
        let paths = [layout.binDirectory, layout.unitDirectory, layout.kvdState, layout.updateAgentState,
                     layout.cloudInitState, layout.containerRuntime, layout.updateAgentRuntime,
                     layout.locksmithRuntime] + layout.updateConfigLookup + layout.osReleaseCandidates
        for path in paths {
            #expect(path.hasPrefix("/tmp/t1/"), "\(path)")
            #expect(!path.contains("//"), "\(path)")
        }
        #expect(layout.osReleaseCandidates == ["/tmp/t1/etc/os-release", "/tmp/t1/usr/lib/os-release"])
    }

    @Test func rootComesFromTheEnvironment() {
        #expect(Layout(environment: ["COREBOX_ROOT": "/srv/image"]).path("/etc") == "/srv/image/etc")
        #expect(Layout(environment: [:]).path("/etc") == "/etc")
    }
}

@Suite struct SystemErrorTests {
    @Test func descriptionNamesCallPathAndErrno() {
        let error = SystemError(errno: 28, operation: "open", path: "/var/lib/kvd/wal/0001.wal")
        #expect(error.description == "open('/var/lib/kvd/wal/0001.wal'): No space left on device (errno 28)")
        #expect(SystemError(errno: 2, operation: "sd_notify").description == "sd_notify: No such file or directory (errno 2)")
    }
}
