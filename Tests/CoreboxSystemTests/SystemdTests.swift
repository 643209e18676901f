import CoreboxCore
import TestSupport
import Testing
@testable import CoreboxSystem

// The fake manager (TestSupport's FakeSystemd) stands in for systemd: no
// systemd runs as PID 1 where these tests run; the VM test talks to the real one.
private typealias Call = FakeSystemd.Call

private let replace = BusValue.string("replace")

@Suite struct SystemdTests {
    @Test func eachCommandQueuesItsJobAfterOneSubscribeAndReturnsTheResult() throws {
        // Ended before the reply: a match registered after the call would miss it and time out.
        let fake = FakeSystemd(endings: ["web.service": .beforeReply(result: "done"), "db.service": .beforeReply(result: "dependency")])
        try withFakeSystemd(fake) { _, manager throws in
            for command in UnitCommand.allCases {
                #expect(try manager.run(command, unit: "web.service", timeout: .seconds(30)) == .completed(result: "done"))
            }
            #expect(try manager.run(.start, unit: "db.service", timeout: .seconds(30)) == .completed(result: "dependency"))
        }
        let methods = ["StartUnit", "StopUnit", "RestartUnit", "ReloadUnit", "TryRestartUnit", "ReloadOrRestartUnit", "ReloadOrTryRestartUnit"]
        #expect(fake.calls == [Call("Subscribe")] + methods.map { Call($0, [.string("web.service"), replace]) } + [Call("StartUnit", [.string("db.service"), replace])])
    }

    @Test func commandsAreNamedAsCloudConfigNamesThem() {
        #expect(UnitCommand.allCases.map(\.rawValue) == [
            "start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "reload-or-try-restart",
        ])
    }

    @Test func aJobEndingAfterTheReplyIsAwaitedAndOnlyItsOwnSignalCounts() throws {
        // The fake also sends "done" for the same job from an impostor
        // connection and "canceled" for another job: both must be ignored.
        let fake = FakeSystemd(endings: ["slow.service": .later(.milliseconds(300), result: "failed")])
        let outcome = try withFakeSystemd(fake) { _, manager throws in
            try manager.run(.restart, unit: "slow.service", timeout: .seconds(30))
        }
        #expect(outcome == .completed(result: "failed"))
    }

    @Test func aJobThatNeverEndsTimesOutAndIsLeftQueued() throws {
        let fake = FakeSystemd(endings: ["stuck.service": .never, "web.service": .beforeReply(result: "done")])
        try withFakeSystemd(fake) { _, manager throws in
            #expect(try manager.run(.start, unit: "stuck.service", timeout: .milliseconds(300)) == .timedOut)
            // The manager is still usable afterwards.
            #expect(try manager.run(.start, unit: "web.service", timeout: .seconds(30)) == .completed(result: "done"))
        }
        // Nothing was sent about the stuck job after it was queued (no CancelJob).
        #expect(fake.calls == [
            Call("Subscribe"), Call("StartUnit", [.string("stuck.service"), replace]), Call("StartUnit", [.string("web.service"), replace]),
        ])
    }

    @Test func aConnectionSubscribedByAnotherUserStillGetsItsJobs() throws {
        let fake = FakeSystemd(endings: ["web.service": .beforeReply(result: "done")])
        try withFakeSystemd(fake) { client, first throws in
            #expect(try first.run(.start, unit: "web.service", timeout: .seconds(30)) == .completed(result: "done"))
            // systemd answers this manager's Subscribe with AlreadySubscribed.
            let second = SystemdManager(bus: client)
            #expect(try second.run(.stop, unit: "web.service", timeout: .seconds(30)) == .completed(result: "done"))
        }
        #expect(fake.calls.map(\.member) == ["Subscribe", "StartUnit", "Subscribe", "StopUnit"])
    }

    @Test func errorsCarryTheNameAndMessageSystemdSent() throws {
        let fake = FakeSystemd(activeStates: ["web.service": "active"], denied: ["secret.service"])
        try withFakeSystemd(fake) { _, manager throws in
            #expect(throws: BusError("org.freedesktop.systemd1.NoSuchUnit", "Unit nope.service not found.")) {
                try manager.run(.start, unit: "nope.service", timeout: .seconds(30))
            }
            #expect(throws: BusError("org.freedesktop.systemd1.NoSuchUnit", "Unit nope.service not found.")) {
                try manager.startTransientService(name: "nope.service", execStart: ["/bin/true"], description: "x", timeout: .seconds(30))
            }
            #expect(throws: BusError("org.freedesktop.DBus.Error.AccessDenied", "Access denied")) {
                try manager.activeState(of: "secret.service")
            }
        }
    }

    @Test func withoutSystemdOnTheBusCallsFailAsServiceUnknown() throws {
        try withPrivateBus { address in
            let manager = SystemdManager(bus: try Bus(address: address))
            #expect {
                try manager.run(.start, unit: "web.service", timeout: .seconds(30))
            } throws: { error in
                (error as? BusError)?.name == BusError.Name.serviceUnknown
            }
        }
    }

    @Test func enableUnitFilesSendsTheNamesRuntimeAndForceAndReadsTheChanges() throws {
        let fake = FakeSystemd()
        let changes = try withFakeSystemd(fake) { _, manager throws in
            try manager.enableUnitFiles(["web.service", "db.socket"], runtime: true)
        }
        #expect(changes == [
            UnitFileChange(type: "symlink", path: "/etc/systemd/system/multi-user.target.wants/web.service", destination: "/etc/systemd/system/web.service"),
            UnitFileChange(type: "unlink", path: "/etc/systemd/system/web.service.old", destination: ""),
        ])
        #expect(fake.calls == [
            Call("EnableUnitFiles", [.array(elementSignature: "s", [.string("web.service"), .string("db.socket")]), .bool(true), .bool(true)]),
        ])
    }

    @Test func reloadCallsReload() throws {
        let fake = FakeSystemd()
        try withFakeSystemd(fake) { _, manager in try manager.reload() }
        #expect(fake.calls == [Call("Reload")])
    }

    @Test func activeStateIsReadFromTheUnitsObjectAndAnUnknownUnitIsInactive() throws {
        let fake = FakeSystemd(activeStates: ["web.service": "active", "db.service": "failed"])
        try withFakeSystemd(fake) { _, manager throws in
            #expect(try manager.activeState(of: "web.service") == "active")
            #expect(try manager.activeState(of: "db.service") == "failed")
            #expect(try manager.activeState(of: "gone.service") == "inactive")
        }
        let property = [BusValue.string("org.freedesktop.systemd1.Unit"), .string("ActiveState")]
        #expect(fake.calls == [
            Call("GetUnit", [.string("web.service")]), Call("Get", property),
            Call("GetUnit", [.string("db.service")]), Call("Get", property),
            Call("GetUnit", [.string("gone.service")]),
        ])
    }

    @Test func unitFileStateIsAskedByNameAndAMissingFileIsTheErrorSystemdSent() throws {
        let fake = FakeSystemd(fileStates: ["web.service": "enabled", "db.service": "enabled-runtime", "tty.service": "static"], denied: ["secret.service"])
        try withFakeSystemd(fake) { _, manager throws in
            #expect(try manager.unitFileState(of: "web.service") == "enabled")
            #expect(try manager.unitFileState(of: "db.service") == "enabled-runtime")
            #expect(try manager.unitFileState(of: "tty.service") == "static")
            // systemd's reply to ENOENT from its unit file lookup, passed on as it came.
            #expect(throws: BusError("org.freedesktop.DBus.Error.FileNotFound", "No such file or directory")) {
                try manager.unitFileState(of: "gone.service")
            }
            #expect(throws: BusError("org.freedesktop.DBus.Error.AccessDenied", "Access denied")) {
                try manager.unitFileState(of: "secret.service")
            }
            fake.setFileState("disabled", of: "gone.service")
            #expect(try manager.unitFileState(of: "gone.service") == "disabled")
        }
        #expect(fake.calls == ["web.service", "db.service", "tty.service", "gone.service", "secret.service", "gone.service"].map {
            Call("GetUnitFileState", [.string($0)])
        })
    }

    @Test func aTransientServiceCarriesItsDescriptionAndCommand() throws {
        let name = "coreos-cloudinit-1234.service"
        let fake = FakeSystemd(endings: [name: .beforeReply(result: "done")])
        let outcome = try withFakeSystemd(fake) { _, manager throws in
            try manager.startTransientService(
                name: name, execStart: ["/bin/bash", "/var/lib/cloud-init/user-data"],
                description: "Unit generated and executed by cloud-init on behalf of user", timeout: .seconds(30)
            )
        }
        #expect(outcome == .completed(result: "done"))
        let execStart = BusValue.array(elementSignature: "(sasb)", [.structure([
            .string("/bin/bash"),
            .array(elementSignature: "s", [.string("/bin/bash"), .string("/var/lib/cloud-init/user-data")]),
            .bool(false),
        ])])
        #expect(fake.calls == [
            Call("Subscribe"),
            Call("StartTransientUnit", [
                .string(name), replace,
                .array(elementSignature: "(sv)", [
                    .structure([.string("Description"), .variant(.string("Unit generated and executed by cloud-init on behalf of user"))]),
                    .structure([.string("ExecStart"), .variant(execStart)]),
                ]),
                .array(elementSignature: "(sa(sv))", []),
            ]),
        ])
    }
}
