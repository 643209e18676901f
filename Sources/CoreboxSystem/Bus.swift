import CSystemd
import CoreboxCore
import Glibc

/// An error reply on the bus: the one a peer sent, or the one a method handler
/// throws to send back.
public struct BusError: Error, Equatable, Sendable, CustomStringConvertible {
    public let name: String
    public let message: String

    public init(_ name: String, _ message: String) {
        self.name = name
        self.message = message
    }

    public var description: String { "\(name): \(message)" }

    /// The standard error names callers most often test for or send.
    public enum Name {
        public static let failed = "org.freedesktop.DBus.Error.Failed"
        public static let invalidArgs = "org.freedesktop.DBus.Error.InvalidArgs"
        public static let unknownMethod = "org.freedesktop.DBus.Error.UnknownMethod"
        public static let unknownObject = "org.freedesktop.DBus.Error.UnknownObject"
        public static let serviceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
    }
}

/// A method of an exported interface: the call's arguments in, the reply's out.
/// Throwing a `BusError` sends that error back; any other error is sent as
/// `org.freedesktop.DBus.Error.Failed` with the error's description.
public typealias BusMethod = ([BusValue]) throws -> [BusValue]

/// A signal as a match handler receives it.
public struct BusSignal: Equatable, Sendable {
    /// The unique name of the connection that emitted it.
    public let sender: String?
    public let path: String
    public let interface: String
    public let member: String
    public let arguments: [BusValue]
}

/// A connection to a D-Bus bus through sd-bus.
///
/// Not Sendable: an sd-bus connection must only be used from one thread at a
/// time, so a `Bus`, its `BusMatch`es and its handlers stay where they were made.
/// Handlers run inside `processPending`, never on their own.
public final class Bus {
    private let handle: OpaquePointer
    /// Where the connection goes, for error messages.
    public let address: String
    /// This connection's unique name on the bus, e.g. `:1.42`.
    public let uniqueName: String

    /// The system bus: `$DBUS_SYSTEM_BUS_ADDRESS`, else the standard socket.
    public static func system() throws(SystemError) -> Bus {
        try Bus(address: systemAddress(ProcessEnvironment.current()))
    }

    /// The calling user's session bus: `$DBUS_SESSION_BUS_ADDRESS`, else `bus` in the runtime directory.
    public static func user() throws(SystemError) -> Bus {
        try Bus(address: userAddress(ProcessEnvironment.current(), uid: getuid()))
    }

    static func systemAddress(_ environment: [String: String]) -> String {
        environment["DBUS_SYSTEM_BUS_ADDRESS"] ?? "unix:path=/run/dbus/system_bus_socket"
    }

    static func userAddress(_ environment: [String: String], uid: uid_t) -> String {
        if let address = environment["DBUS_SESSION_BUS_ADDRESS"] { return address }
        return "unix:path=\(environment["XDG_RUNTIME_DIR"] ?? "/run/user/\(uid)")/bus"
    }

    /// Connects and says Hello, so a bus that refuses us fails here rather
    /// than at the first call. The address is a D-Bus address such as
    /// `unix:path=/run/dbus/system_bus_socket`.
    public init(address: String) throws(SystemError) {
        var bus: OpaquePointer?
        try checkBus(sd_bus_new(&bus), "sd_bus_new", address)
        do throws(SystemError) {
            try checkBus(sd_bus_set_address(bus, address), "sd_bus_set_address", address)
            try checkBus(sd_bus_set_bus_client(bus, 1), "sd_bus_set_bus_client", address)
            try checkBus(sd_bus_start(bus), "sd_bus_start", address)
            var name: UnsafePointer<CChar>?
            // Waits for the Hello reply, which carries the unique name.
            try checkBus(sd_bus_get_unique_name(bus, &name), "sd_bus_get_unique_name", address)
            uniqueName = String(cString: name!)
        } catch {
            sd_bus_unref(bus)
            throw error
        }
        handle = bus!
        self.address = address
    }

    deinit {
        // Sends what is still queued (a last signal or reply) before closing.
        sd_bus_flush_close_unref(handle)
    }

    /// Calls a method and waits for its reply, dispatching nothing else meanwhile.
    ///
    /// Throws `BusError` for an error reply, including
    /// `org.freedesktop.DBus.Error.Timeout` when none came within `timeout`
    /// (nil: sd-bus's default of 25 s), and `SystemError` when the message
    /// could not be built or the connection failed.
    public func call(
        destination: String?, path: String, interface: String, member: String,
        arguments: [BusValue] = [], timeout: Duration? = nil
    ) throws -> [BusValue] {
        let subject = "\(destination ?? "-") \(path) \(interface).\(member)"
        var message: OpaquePointer?
        try checkBus(
            sd_bus_message_new_method_call(handle, &message, destination, path, interface, member),
            "sd_bus_message_new_method_call", subject
        )
        defer { sd_bus_message_unref(message) }
        for argument in arguments { try argument.append(to: message!) }

        var error = sd_bus_error(name: nil, message: nil, _need_free: 0)
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        let result = sd_bus_call(handle, message, timeout.map(Self.microseconds) ?? 0, &error, &reply)
        if result < 0 {
            // sd-bus names every failure, local ones too; `System.Error.*`
            // names are plain errno values and read better as a SystemError.
            if let name = error.name.map({ String(cString: $0) }), !name.hasPrefix("System.Error.") {
                throw BusError(name, error.message.map { String(cString: $0) } ?? "")
            }
            throw SystemError(errno: -result, operation: "sd_bus_call", path: subject)
        }
        defer { sd_bus_message_unref(reply) }
        return try BusValue.readAll(from: reply!)
    }

    /// Takes a well-known name, failing with EEXIST when another connection
    /// owns it; asking again for a name this connection owns succeeds.
    public func requestName(_ name: String) throws(SystemError) {
        let result = sd_bus_request_name(handle, name, 0)
        if result != -EALREADY { try checkBus(result, "sd_bus_request_name", name) }
    }

    /// Serves `interface` at `path` for as long as the connection is open.
    ///
    /// A call to a member that is not in `methods` gets
    /// `org.freedesktop.DBus.Error.UnknownMethod`, unless another export at
    /// the same path serves it.
    public func export(path: String, interface: String, methods: [String: BusMethod]) throws(SystemError) {
        let exported = ExportedInterface(interface: interface, methods: methods)
        let slot = try attach(exported, "sd_bus_add_object", path) { slot, userdata in
            sd_bus_add_object(handle, &slot, path, { message, userdata, error in
                Unmanaged<ExportedInterface>.fromOpaque(userdata!).takeUnretainedValue().dispatch(message!, error!)
            }, userdata)
        }
        // Floating: the bus owns the slot and frees it, and with it the handlers, when it closes.
        sd_bus_slot_set_floating(slot, 1)
        sd_bus_slot_unref(slot)
    }

    /// Sends a signal from this connection.
    public func emitSignal(path: String, interface: String, member: String, arguments: [BusValue] = []) throws(SystemError) {
        let subject = "\(path) \(interface).\(member)"
        var message: OpaquePointer?
        try checkBus(sd_bus_message_new_signal(handle, &message, path, interface, member), "sd_bus_message_new_signal", subject)
        defer { sd_bus_message_unref(message) }
        for argument in arguments { try argument.append(to: message!) }
        try checkBus(sd_bus_send(handle, message, nil), "sd_bus_send", subject)
    }

    /// Calls `handler` for each signal that matches every given field (nil
    /// matches anything) until the returned `BusMatch` is released. The match
    /// is registered with the bus before this returns, so no later signal is missed.
    ///
    /// A signal whose arguments cannot be read (one carrying a file descriptor)
    /// does not reach the handler.
    public func matchSignal(
        sender: String? = nil, path: String? = nil, interface: String? = nil, member: String? = nil,
        handler: @escaping (BusSignal) -> Void
    ) throws(SystemError) -> BusMatch {
        let subject = [sender, path, interface, member].map { $0 ?? "*" }.joined(separator: " ")
        let slot = try attach(SignalHandler(handler), "sd_bus_match_signal", subject) { slot, userdata in
            sd_bus_match_signal(handle, &slot, sender, path, interface, member, { message, userdata, _ in
                Unmanaged<SignalHandler>.fromOpaque(userdata!).takeUnretainedValue().deliver(message!)
                return 0
            }, userdata)
        }
        return BusMatch(slot: slot)
    }

    /// Dispatches everything already received (calls to exported methods,
    /// signals), then waits up to `timeout` for more and dispatches that too.
    public func processPending(timeout: Duration = .zero) throws(SystemError) {
        try dispatchQueued()
        guard timeout > .zero else { return }
        let result = sd_bus_wait(handle, Self.microseconds(timeout))
        if result != -EINTR { try checkBus(result, "sd_bus_wait", address) }
        try dispatchQueued()
    }

    private func dispatchQueued() throws(SystemError) {
        while try checkBus(sd_bus_process(handle, nil), "sd_bus_process", address) > 0 {}
    }

    /// Registers a slot whose userdata is `box`; the slot holds the box and
    /// releases it when sd-bus frees the slot, so handlers live exactly as long as it.
    private func attach(
        _ box: AnyObject, _ operation: String, _ subject: String,
        _ register: (inout OpaquePointer?, UnsafeMutableRawPointer) -> Int32
    ) throws(SystemError) -> OpaquePointer {
        let userdata = Unmanaged.passRetained(box).toOpaque()
        var slot: OpaquePointer?
        let result = register(&slot, userdata)
        if result < 0 {
            Unmanaged<AnyObject>.fromOpaque(userdata).release()
            throw SystemError(errno: -result, operation: operation, path: subject)
        }
        sd_bus_slot_set_destroy_callback(slot, { Unmanaged<AnyObject>.fromOpaque($0!).release() })
        return slot!
    }

    /// Microseconds for sd-bus; never 0, which sd-bus reads as "the default".
    private static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 1 }
        return max(1, UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000))
    }
}

/// Keeps a signal match registered; releasing it removes the match.
public final class BusMatch {
    private let slot: OpaquePointer

    fileprivate init(slot: OpaquePointer) { self.slot = slot }

    deinit { sd_bus_slot_unref(slot) }
}

/// The userdata of an exported object's slot.
private final class ExportedInterface {
    let interface: String
    let methods: [String: BusMethod]

    init(interface: String, methods: [String: BusMethod]) {
        self.interface = interface
        self.methods = methods
    }

    /// sd-bus's message callback: 0 leaves the call to other handlers, a
    /// positive value means it was answered, a negative one sends `errorReply` back.
    func dispatch(_ call: OpaquePointer, _ errorReply: UnsafeMutablePointer<sd_bus_error>) -> Int32 {
        // A call that names no interface goes to whichever export has the member.
        if let callInterface = sd_bus_message_get_interface(call), String(cString: callInterface) != interface { return 0 }
        // When no export at this path takes a call, sd-bus answers UnknownMethod itself.
        guard let method = methods[String(cString: sd_bus_message_get_member(call))] else { return 0 }
        let arguments: [BusValue]
        do {
            arguments = try BusValue.readAll(from: call)
        } catch {
            return sd_bus_error_set(errorReply, BusError.Name.invalidArgs, "\(error)")
        }
        let results: [BusValue]
        do {
            results = try method(arguments)
        } catch let failure as BusError {
            return sd_bus_error_set(errorReply, failure.name, failure.message)
        } catch {
            return sd_bus_error_set(errorReply, BusError.Name.failed, "\(error)")
        }
        var reply: OpaquePointer?
        var result = sd_bus_message_new_method_return(call, &reply)
        if result < 0 { return result }
        defer { sd_bus_message_unref(reply) }
        do throws(SystemError) {
            for value in results { try value.append(to: reply!) }
        } catch {
            return -error.errno
        }
        result = sd_bus_send(nil, reply, nil)
        return result < 0 ? result : 1
    }
}

/// The userdata of a signal match's slot.
private final class SignalHandler {
    let handler: (BusSignal) -> Void

    init(_ handler: @escaping (BusSignal) -> Void) { self.handler = handler }

    func deliver(_ message: OpaquePointer) {
        guard let arguments = try? BusValue.readAll(from: message) else { return }
        handler(BusSignal(
            sender: sd_bus_message_get_sender(message).map { String(cString: $0) },
            path: String(cString: sd_bus_message_get_path(message)),
            interface: String(cString: sd_bus_message_get_interface(message)),
            member: String(cString: sd_bus_message_get_member(message)),
            arguments: arguments
        ))
    }
}
