import CoreboxCore
import Synchronization
import TestSupport
import Testing
@testable import CoreboxSystem

/// A call the fake manager received.
private struct Call: Equatable, CustomStringConvertible {
    let member: String
    let arguments: [BusValue]

    init(_ member: String, _ arguments: [BusValue] = []) {
        self.member = member
        self.arguments = arguments
    }

    var description: String { "\(member)\(arguments)" }
}

/// How the fake ends a job it queued for a unit.
private enum Ending: Sendable {
    /// JobRemoved goes out before the method's reply: only a client whose
    /// match was registered before the call receives it.
    case beforeReply(result: String)
    /// JobRemoved goes out this long after the reply; meanwhile an impostor
    /// connection sends one for the same job, and the manager one for another job.
    case later(Duration, result: String)
    case never
}

/// Stands in for systemd's manager object: no systemd runs as PID 1 where
/// the unit tests run (the VM test talks to the real one). It owns
/// org.freedesktop.systemd1 on a private dbus-daemon, records the calls,
/// answers with job paths and ends jobs with JobRemoved as each unit's
/// `Ending` says. Units not in `endings` do not exist.
private final class FakeSystemd: Sendable {
    private struct State {
        var calls: [Call] = []
        var subscribed = false
        var lastJob: UInt32 = 0
        /// JobRemoved arguments to send once their time has come.
        var late: [(due: ContinuousClock.Instant, arguments: [BusValue])] = []
    }

    private let state = Mutex(State())
    private let endings: [String: Ending]
    /// `GetUnit` and `ActiveState` answers.
    private let activeStates: [String: String]

    init(endings: [String: Ending] = [:], activeStates: [String: String] = [:]) {
        self.endings = endings
        self.activeStates = activeStates
    }

    var calls: [Call] { state.withLock { $0.calls } }

    /// systemd's escaping of a unit name in its object path, for the names used here.
    static func unitPath(_ unit: String) -> String {
        SystemdManager.path + "/unit/" + unit.map { $0 == "." ? "_2e" : String($0) }.joined()
    }

    /// Takes the name and exports the objects; runs on the server thread.
    func serve(_ bus: Bus) throws {
        try bus.requestName(SystemdManager.service)
        // Captures of the bus in its own handlers are unowned: the bus holds them.
        let impostor = try Bus(address: bus.address)
        var methods: [String: BusMethod] = [
            "Subscribe": { _ in
                let already = self.state.withLock { state in
                    state.calls.append(Call("Subscribe"))
                    defer { state.subscribed = true }
                    return state.subscribed
                }
                if already { throw BusError(SystemdManager.alreadySubscribed, "Client is already subscribed.") }
                return []
            },
            "Reload": { arguments in self.record("Reload", arguments); return [] },
            "EnableUnitFiles": { arguments in
                self.record("EnableUnitFiles", arguments)
                return [.bool(true), .array(elementSignature: "(sss)", [
                    .structure([.string("symlink"), .string("/etc/systemd/system/multi-user.target.wants/web.service"), .string("/etc/systemd/system/web.service")]),
                    .structure([.string("unlink"), .string("/etc/systemd/system/web.service.old"), .string("")]),
                ])]
            },
            "GetUnit": { arguments in
                self.record("GetUnit", arguments)
                guard case .string(let unit)? = arguments.first else { throw BusError(BusError.Name.invalidArgs, "GetUnit(s)") }
                if unit == "secret.service" { throw BusError("org.freedesktop.DBus.Error.AccessDenied", "Access denied") }
                guard self.activeStates[unit] != nil else { throw Self.noSuchUnit(unit) }
                return [.objectPath(Self.unitPath(unit))]
            },
            "StartTransientUnit": { [unowned bus] arguments in
                try self.queue("StartTransientUnit", arguments, bus, impostor)
            },
        ]
        for command in UnitCommand.allCases {
            methods[command.method] = { [unowned bus] arguments in
                try self.queue(command.method, arguments, bus, impostor)
            }
        }
        try bus.export(path: SystemdManager.path, interface: SystemdManager.interface, methods: methods)
        for (unit, activeState) in activeStates {
            try bus.export(path: Self.unitPath(unit), interface: "org.freedesktop.DBus.Properties", methods: [
                "Get": { arguments in
                    self.record("Get", arguments)
                    return [.variant(.string(activeState))]
                },
            ])
        }
    }

    /// Sends the JobRemoved signals that are due; the server thread's idle work.
    func sendLateSignals(_ bus: Bus) throws {
        let now = ContinuousClock.now
        let due = state.withLock { state in
            defer { state.late.removeAll { $0.due <= now } }
            return state.late.filter { $0.due <= now }
        }
        for signal in due { try jobRemoved(bus, signal.arguments) }
    }

    private func record(_ member: String, _ arguments: [BusValue]) {
        state.withLock { $0.calls.append(Call(member, arguments)) }
    }

    /// A job method: records it, makes a job and ends it as the unit's `Ending` says.
    private func queue(_ member: String, _ arguments: [BusValue], _ bus: Bus, _ impostor: Bus) throws -> [BusValue] {
        guard case .string(let unit)? = arguments.first else { throw BusError(BusError.Name.invalidArgs, "\(member): no unit name") }
        let id = state.withLock { state in
            state.calls.append(Call(member, arguments))
            state.lastJob += 1
            return state.lastJob
        }
        guard let ending = endings[unit] else { throw Self.noSuchUnit(unit) }
        let job = "\(SystemdManager.path)/job/\(id)"
        switch ending {
        case .beforeReply(let result):
            try jobRemoved(bus, [.uint32(id), .objectPath(job), .string(unit), .string(result)])
        case .later(let delay, let result):
            try jobRemoved(impostor, [.uint32(id), .objectPath(job), .string(unit), .string("done")])
            try jobRemoved(bus, [.uint32(id + 1000), .objectPath("\(SystemdManager.path)/job/\(id + 1000)"), .string(unit), .string("canceled")])
            state.withLock { $0.late.append((.now + delay, [.uint32(id), .objectPath(job), .string(unit), .string(result)])) }
        case .never:
            break
        }
        return [.objectPath(job)]
    }

    private func jobRemoved(_ bus: Bus, _ arguments: [BusValue]) throws {
        try bus.emitSignal(path: SystemdManager.path, interface: SystemdManager.interface, member: "JobRemoved", arguments: arguments)
    }

    private static func noSuchUnit(_ unit: String) -> BusError {
        BusError(SystemdManager.noSuchUnit, "Unit \(unit) not found.")
    }
}

/// Runs `body` with a client connection and a manager on it, while `fake`
/// serves on its own thread of a private bus.
private func withFakeSystemd<T>(_ fake: FakeSystemd, _ body: (Bus, SystemdManager) throws -> T) throws -> T {
    try withPrivateBus { address in
        let server = try ServerThread(address: address, setup: fake.serve, idle: fake.sendLateSignals)
        defer { server.stop() }
        let client = try Bus(address: address)
        return try body(client, SystemdManager(bus: client))
    }
}

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
        let fake = FakeSystemd(activeStates: ["web.service": "active"])
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
