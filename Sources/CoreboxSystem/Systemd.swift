import CoreboxCore
import Glibc

/// A job command on a unit, named as cloud-config's `coreos.units[].command` names it.
public enum UnitCommand: String, CaseIterable, Sendable {
    case start, stop, restart, reload
    case tryRestart = "try-restart"
    case reloadOrRestart = "reload-or-restart"
    case reloadOrTryRestart = "reload-or-try-restart"

    /// The manager method that queues the job.
    public var method: String {
        switch self {
        case .start: "StartUnit"
        case .stop: "StopUnit"
        case .restart: "RestartUnit"
        case .reload: "ReloadUnit"
        case .tryRestart: "TryRestartUnit"
        case .reloadOrRestart: "ReloadOrRestartUnit"
        case .reloadOrTryRestart: "ReloadOrTryRestartUnit"
        }
    }
}

/// How a job ended, as far as we waited for it.
public enum JobOutcome: Hashable, Sendable {
    /// systemd removed the job; `result` is its word for why: `done`, `failed`,
    /// `canceled`, `timeout`, `dependency`, `skipped` (newer systemd adds more).
    case completed(result: String)
    /// The job had not ended when the time ran out; it was left queued.
    case timedOut
}

/// One change `EnableUnitFiles` made on disk.
public struct UnitFileChange: Hashable, Sendable {
    /// systemd's name for the change: `symlink`, `unlink`, ...
    public let type: String
    /// The file changed (for `symlink`, the link).
    public let path: String
    /// Where a new link points; empty when there is none.
    public let destination: String

    public init(type: String, path: String, destination: String) {
        self.type = type
        self.path = path
        self.destination = destination
    }
}

/// systemd's manager (org.freedesktop.systemd1(5)) over a `Bus`: what
/// cloud-init asks of PID 1. Errors are the `BusError` systemd replied with
/// (`org.freedesktop.systemd1.NoSuchUnit`, ...) or a `SystemError` from the connection.
///
/// Like its `Bus`, not Sendable; waiting for a job dispatches the bus's other
/// handlers too.
public final class SystemdManager {
    public static let service = "org.freedesktop.systemd1"
    public static let path = "/org/freedesktop/systemd1"
    public static let interface = "org.freedesktop.systemd1.Manager"
    static let unitInterface = "org.freedesktop.systemd1.Unit"
    static let alreadySubscribed = "org.freedesktop.systemd1.AlreadySubscribed"
    static let noSuchUnit = "org.freedesktop.systemd1.NoSuchUnit"

    private let bus: Bus
    /// systemd refuses a second Subscribe from the same connection, so it is sent once.
    private var subscribed = false

    public init(bus: Bus) {
        self.bus = bus
    }

    /// Enables unit files (their `[Install]` links), replacing links in the
    /// way (`force`), in `/run` when `runtime` (gone at the next boot).
    public func enableUnitFiles(_ names: [String], runtime: Bool) throws -> [UnitFileChange] {
        let reply = try callManager("EnableUnitFiles", [
            .array(elementSignature: "s", names.map { .string($0) }), .bool(runtime), .bool(true),
        ])
        guard reply.count == 2, case .array("(sss)", let changes) = reply[1] else {
            throw Self.unexpected("EnableUnitFiles", reply)
        }
        // The signature says each change is three strings.
        return changes.map { change in
            guard case .structure(let fields) = change, case .string(let type) = fields[0],
                  case .string(let path) = fields[1], case .string(let destination) = fields[2] else {
                preconditionFailure("BusValue read an (sss) as \(change)")
            }
            return UnitFileChange(type: type, path: path, destination: destination)
        }
    }

    /// Reloads all unit files. systemd answers only once the reload is over,
    /// which takes long on a loaded system: systemctl waits minutes, not sd-bus's 25 s.
    public func reload(timeout: Duration = .seconds(360)) throws {
        _ = try callManager("Reload", [], timeout: timeout)
    }

    /// Queues `command`'s job on `unit` (mode `replace`) and waits for it to end.
    ///
    /// `timeout` bounds the call and the wait; a job still queued then is left
    /// to systemd and reported as `.timedOut`, so a unit that never starts
    /// cannot hang the boot.
    public func run(_ command: UnitCommand, unit: String, timeout: Duration) throws -> JobOutcome {
        try queueAndWait(command.method, [.string(unit), .string("replace")], timeout: timeout)
    }

    /// The unit's `ActiveState` (`active`, `failed`, ...); `inactive` for a
    /// unit systemd has not loaded, as `systemctl is-active` says.
    public func activeState(of unit: String) throws -> String {
        let reply: [BusValue]
        do {
            reply = try callManager("GetUnit", [.string(unit)])
        } catch let error as BusError where error.name == Self.noSuchUnit {
            return "inactive"
        }
        guard case .objectPath(let unitPath)? = reply.first else { throw Self.unexpected("GetUnit", reply) }
        let state = try bus.call(
            destination: Self.service, path: unitPath, interface: "org.freedesktop.DBus.Properties", member: "Get",
            arguments: [.string(Self.unitInterface), .string("ActiveState")]
        )
        guard case .variant(.string(let value))? = state.first else { throw Self.unexpected("Get ActiveState", state) }
        return value
    }

    /// The unit file's state as `systemctl is-enabled` reads it: `enabled`,
    /// `enabled-runtime`, `disabled`, `static`, `masked`, `linked`, ...
    ///
    /// Unlike `activeState`, a unit without a unit file is an error: the
    /// `BusError` systemd replies with (`org.freedesktop.DBus.Error.FileNotFound`
    /// "No such file or directory" from systemd's errno, or
    /// `org.freedesktop.systemd1.NoSuchUnit`), passed on as it came.
    public func unitFileState(of unit: String) throws -> String {
        let reply = try callManager("GetUnitFileState", [.string(unit)])
        guard reply.count == 1, case .string(let state) = reply[0] else { throw Self.unexpected("GetUnitFileState", reply) }
        return state
    }

    /// Starts a transient service `name` (ending in `.service`) running
    /// `execStart` (path and arguments; argv[0] is the path) and waits for its
    /// start job, as `run` does. This is how coreos-cloudinit runs user-data
    /// scripts: under systemd, logged to the journal, outside our process.
    /// The service is of the default type (`simple`): its job is done once
    /// the process has been started, not when it exits.
    public func startTransientService(name: String, execStart: [String], description: String, timeout: Duration) throws -> JobOutcome {
        precondition(!execStart.isEmpty, "SystemdManager: ExecStart needs a program")
        let command = BusValue.structure([
            .string(execStart[0]),
            .array(elementSignature: "s", execStart.map { .string($0) }),
            .bool(false),  // a failing exit status fails the service
        ])
        return try startTransientUnit(name: name, properties: [
            ("Description", .string(description)),
            ("ExecStart", .array(elementSignature: "(sasb)", [command])),
        ], timeout: timeout)
    }

    /// Starts the transient scope `name` in `slice` around `pids` (a scope
    /// holds processes that exist already), with its cgroup delegated to
    /// the caller and the `limits` properties, and waits for the job.
    public func startTransientScope(
        name: String, slice: String, pids: [UInt32], description: String, limits: [(String, BusValue)] = [], timeout: Duration
    ) throws -> JobOutcome {
        try startTransientUnit(name: name, properties: [
            ("Description", .string(description)),
            ("Slice", .string(slice)),
            ("Delegate", .bool(true)),
            ("DefaultDependencies", .bool(false)),
            ("PIDs", .array(elementSignature: "u", pids.map { .uint32($0) })),
        ] + limits, timeout: timeout)
    }

    /// Changes properties of a loaded unit (SetUnitProperties); `runtime`:
    /// until the next boot only.
    public func setUnitProperties(_ name: String, runtime: Bool, _ properties: [(String, BusValue)]) throws {
        _ = try callManager("SetUnitProperties", [
            .string(name), .bool(runtime),
            .array(elementSignature: "(sv)", properties.map { .structure([.string($0.0), .variant($0.1)]) }),
        ])
    }

    private func startTransientUnit(name: String, properties: [(String, BusValue)], timeout: Duration) throws -> JobOutcome {
        try queueAndWait("StartTransientUnit", [
            .string(name), .string("replace"),
            .array(elementSignature: "(sv)", properties.map { .structure([.string($0.0), .variant($0.1)]) }),
            .array(elementSignature: "(sa(sv))", []),
        ], timeout: timeout)
    }

    /// Calls a manager method that returns a job path and waits for that job's
    /// JobRemoved. The match is in place before the call, so a job that ends
    /// before its reply arrives is still seen; signals received during the
    /// call wait in sd-bus's queue until `processPending` dispatches them.
    private func queueAndWait(_ method: String, _ arguments: [BusValue], timeout: Duration) throws -> JobOutcome {
        try subscribe()
        var removed: [String: String] = [:]
        let match = try bus.matchSignal(sender: Self.service, path: Self.path, interface: Self.interface, member: "JobRemoved") { signal in
            guard signal.arguments.count == 4, case .objectPath(let job) = signal.arguments[1],
                  case .string(let result) = signal.arguments[3] else { return }
            removed[job] = result
        }
        return try withExtendedLifetime(match) {
            let deadline = ContinuousClock.now + timeout
            let reply = try callManager(method, arguments, timeout: timeout)
            guard case .objectPath(let job)? = reply.first else { throw Self.unexpected(method, reply) }
            try bus.processPending()
            while removed[job] == nil {
                let remaining = deadline - ContinuousClock.now
                if remaining <= .zero { return .timedOut }
                try bus.processPending(timeout: remaining)
            }
            return .completed(result: removed[job]!)
        }
    }

    /// Asks systemd to send us its job signals. AlreadySubscribed means another
    /// user of this connection did so already, which serves us as well.
    private func subscribe() throws {
        guard !subscribed else { return }
        do {
            _ = try callManager("Subscribe", [])
        } catch let error as BusError where error.name == Self.alreadySubscribed {}
        subscribed = true
    }

    private func callManager(_ member: String, _ arguments: [BusValue], timeout: Duration? = nil) throws -> [BusValue] {
        try bus.call(destination: Self.service, path: Self.path, interface: Self.interface, member: member, arguments: arguments, timeout: timeout)
    }

    /// A reply of another shape than the API documents, named as sd-bus names one (EBADMSG).
    private static func unexpected(_ member: String, _ reply: [BusValue]) -> SystemError {
        SystemError(errno: EBADMSG, operation: "\(service) \(member)", path: "reply (\(reply.map(\.signature).joined()))")
    }
}
