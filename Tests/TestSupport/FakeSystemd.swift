import CoreboxSystem
import Synchronization

/// Stands in for systemd's manager object: no systemd runs as PID 1 where
/// the unit tests run (the VM test talks to the real one). It owns
/// org.freedesktop.systemd1 on a private dbus-daemon (serve it with
/// `withFakeSystemd`), records every call with its arguments, answers the
/// state questions from tables the test sets, and answers job methods with
/// job paths, ending each job with JobRemoved as the unit's `Ending` says.
///
/// - `GetUnit` and the unit object's `ActiveState`: `activeStates`; a unit
///   not in it is not loaded (`NoSuchUnit`), as in systemd.
/// - `GetUnitFileState`: `fileStates`; a unit not in it has no unit file,
///   answered as systemd answers ENOENT (`FileNotFound`, "No such file or directory").
/// - job methods (the `UnitCommand` methods, `StartTransientUnit`): `endings`;
///   a unit not in it does not exist (`NoSuchUnit`).
/// - `SetUnitProperties`: recorded, and taken.
/// - units in `denied`: every question about them is refused (`AccessDenied`).
///
/// The tables may change while the fake serves (`setActiveState` ...), as
/// the system would between two runs.
public final class FakeSystemd: Sendable {
    /// A call the fake received: the member and its arguments as they came.
    public struct Call: Equatable, Sendable, CustomStringConvertible {
        public let member: String
        public let arguments: [BusValue]

        public init(_ member: String, _ arguments: [BusValue] = []) {
            self.member = member
            self.arguments = arguments
        }

        public var description: String { "\(member)\(arguments)" }
    }

    /// How the fake ends a job it queued for a unit.
    public enum Ending: Sendable {
        /// JobRemoved with this result (`done`, `failed`, ...) goes out before
        /// the method's reply: only a client whose match was registered before
        /// the call receives it.
        case beforeReply(result: String)
        /// JobRemoved goes out this long after the reply; meanwhile an impostor
        /// connection sends `done` for the same job, and the manager `canceled`
        /// for another job, neither of which may count.
        case later(Duration, result: String)
        /// The job stays queued: no JobRemoved at all.
        case never
    }

    public static let noSuchUnit = "org.freedesktop.systemd1.NoSuchUnit"
    public static let alreadySubscribed = "org.freedesktop.systemd1.AlreadySubscribed"
    public static let fileNotFound = "org.freedesktop.DBus.Error.FileNotFound"
    public static let accessDenied = "org.freedesktop.DBus.Error.AccessDenied"
    static let unitInterface = "org.freedesktop.systemd1.Unit"

    private struct State {
        var calls: [Call] = []
        var subscribed = false
        var lastJob: UInt32 = 0
        /// JobRemoved arguments to send once their time has come.
        var late: [(due: ContinuousClock.Instant, arguments: [BusValue])] = []
        var endings: [String: Ending]
        var activeStates: [String: String]
        var fileStates: [String: String]
        /// Unit object paths already served.
        var exported: Set<String> = []
    }

    private let state: Mutex<State>
    private let denied: Set<String>
    private let observer: (@Sendable (Call) -> Void)?

    /// `observer` sees each call as it arrives, on the server thread, before
    /// the fake answers it: for what the test checks at that moment.
    public init(
        endings: [String: Ending] = [:], activeStates: [String: String] = [:], fileStates: [String: String] = [:],
        denied: Set<String> = [], observer: (@Sendable (Call) -> Void)? = nil
    ) {
        state = Mutex(State(endings: endings, activeStates: activeStates, fileStates: fileStates))
        self.denied = denied
        self.observer = observer
    }

    /// Every call received so far, in order.
    public var calls: [Call] { state.withLock { $0.calls } }

    /// nil: the unit is not loaded.
    public func setActiveState(_ activeState: String?, of unit: String) {
        state.withLock { $0.activeStates[unit] = activeState }
    }

    /// nil: the unit has no unit file.
    public func setFileState(_ fileState: String?, of unit: String) {
        state.withLock { $0.fileStates[unit] = fileState }
    }

    /// nil: the unit does not exist for job methods.
    public func setEnding(_ ending: Ending?, of unit: String) {
        state.withLock { $0.endings[unit] = ending }
    }

    /// systemd's escaping of a unit name in its object path: every byte
    /// that is not a letter or a digit as `_` and two hex digits.
    public static func unitPath(_ unit: String) -> String {
        SystemdManager.path + "/unit/" + unit.utf8.map { byte in
            let character = Character(Unicode.Scalar(byte))
            return character.isASCII && (character.isLetter || character.isNumber)
                ? String(character) : "_" + String(byte, radix: 16)
        }.joined()
    }

    /// Takes the name and exports the manager; runs on the server thread.
    public func serve(_ bus: Bus) throws {
        try bus.requestName(SystemdManager.service)
        // Captures of the bus in its own handlers are unowned: the bus holds them.
        let impostor = try Bus(address: bus.address)
        var methods: [String: BusMethod] = [
            "Subscribe": { _ in
                self.record("Subscribe", [])
                let already = self.state.withLock { state in
                    defer { state.subscribed = true }
                    return state.subscribed
                }
                if already { throw BusError(Self.alreadySubscribed, "Client is already subscribed.") }
                return []
            },
            "Reload": { arguments in self.record("Reload", arguments); return [] },
            "EnableUnitFiles": { arguments in
                self.record("EnableUnitFiles", arguments)
                // The same changes whatever the names: SystemdTests checks they are read.
                return [.bool(true), .array(elementSignature: "(sss)", [
                    .structure([.string("symlink"), .string("/etc/systemd/system/multi-user.target.wants/web.service"), .string("/etc/systemd/system/web.service")]),
                    .structure([.string("unlink"), .string("/etc/systemd/system/web.service.old"), .string("")]),
                ])]
            },
            "GetUnit": { [unowned bus] arguments in
                let unit = try self.unitArgument("GetUnit", arguments)
                guard let path = self.state.withLock({ $0.activeStates[unit] == nil ? nil : Self.unitPath(unit) }) else {
                    throw BusError(Self.noSuchUnit, "Unit \(unit) not loaded.")
                }
                try self.exportUnit(unit, at: path, on: bus)
                return [.objectPath(path)]
            },
            "GetUnitFileState": { arguments in
                let unit = try self.unitArgument("GetUnitFileState", arguments)
                guard let fileState = self.state.withLock({ $0.fileStates[unit] }) else {
                    throw BusError(Self.fileNotFound, "No such file or directory")
                }
                return [.string(fileState)]
            },
            "StartTransientUnit": { [unowned bus] arguments in
                try self.queue("StartTransientUnit", arguments, bus, impostor)
            },
            "SetUnitProperties": { arguments in self.record("SetUnitProperties", arguments); return [] },
        ]
        for command in UnitCommand.allCases {
            methods[command.method] = { [unowned bus] arguments in
                try self.queue(command.method, arguments, bus, impostor)
            }
        }
        try bus.export(path: SystemdManager.path, interface: SystemdManager.interface, methods: methods)
    }

    /// Sends the JobRemoved signals that are due; the server thread's idle work.
    public func sendLateSignals(_ bus: Bus) throws {
        let now = ContinuousClock.now
        let due = state.withLock { state in
            defer { state.late.removeAll { $0.due <= now } }
            return state.late.filter { $0.due <= now }
        }
        for signal in due { try jobRemoved(bus, signal.arguments) }
    }

    private func record(_ member: String, _ arguments: [BusValue]) {
        let call = Call(member, arguments)
        state.withLock { $0.calls.append(call) }
        observer?(call)
    }

    /// Records the call and returns its unit name, refusing a denied unit.
    private func unitArgument(_ member: String, _ arguments: [BusValue]) throws -> String {
        record(member, arguments)
        guard case .string(let unit)? = arguments.first else { throw BusError(BusError.Name.invalidArgs, "\(member): no unit name") }
        if denied.contains(unit) { throw BusError(Self.accessDenied, "Access denied") }
        return unit
    }

    /// Serves the unit's `ActiveState` at its path, once, when GetUnit first hands the path out.
    private func exportUnit(_ unit: String, at path: String, on bus: Bus) throws {
        guard state.withLock({ $0.exported.insert(path).inserted }) else { return }
        try bus.export(path: path, interface: "org.freedesktop.DBus.Properties", methods: [
            "Get": { arguments in
                self.record("Get", arguments)
                guard arguments == [.string(Self.unitInterface), .string("ActiveState")] else {
                    throw BusError("org.freedesktop.DBus.Error.UnknownProperty", "Unknown property or interface.")
                }
                return [.variant(.string(self.state.withLock { $0.activeStates[unit] } ?? "inactive"))]
            },
        ])
    }

    /// A job method: records it, makes a job and ends it as the unit's `Ending` says.
    private func queue(_ member: String, _ arguments: [BusValue], _ bus: Bus, _ impostor: Bus) throws -> [BusValue] {
        let unit = try unitArgument(member, arguments)
        let (id, ending) = state.withLock { state in
            state.lastJob += 1
            return (state.lastJob, state.endings[unit])
        }
        guard let ending else { throw BusError(Self.noSuchUnit, "Unit \(unit) not found.") }
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
}

/// Runs `body` with a client connection and a manager on it, while `fake`
/// serves on its own thread of a fresh private bus.
public func withFakeSystemd<T>(_ fake: FakeSystemd, _ body: (Bus, SystemdManager) throws -> T) throws -> T {
    try withPrivateBus { address in
        let server = try ServerThread(address: address, setup: fake.serve, idle: fake.sendLateSignals)
        defer { server.stop() }
        let client = try Bus(address: address)
        return try body(client, SystemdManager(bus: client))
    }
}
