import CoreboxCore
import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing
@testable import CoreboxSystem

private let objectPath = "/org/corebox/Test"
private let interface = "org.corebox.Test"
private let daemonName = "org.freedesktop.DBus"

/// The test interface: Echo returns its arguments, Refuse and Crash fail in the two ways a handler can.
private func exportTestInterface(_ bus: Bus, recorder: Recorder? = nil) throws {
    try bus.export(path: objectPath, interface: interface, methods: [
        "Echo": { arguments in
            recorder?.arguments.withLock { $0 = arguments }
            return arguments
        },
        "Refuse": { _ in throw BusError("org.corebox.Error.Refused", "not today") },
        "Crash": { _ in throw SystemError(errno: EIO, operation: "read", path: "/dev/sda") },
    ])
}

/// What a handler on the server thread saw, for the test to check.
private final class Recorder: Sendable {
    let arguments = Mutex<[BusValue]?>(nil)
}

private final class Canary {}

/// A call to the bus daemon itself.
private func callDaemon(_ bus: Bus, _ member: String, _ arguments: [BusValue] = []) throws -> [BusValue] {
    try bus.call(destination: daemonName, path: "/org/freedesktop/DBus", interface: daemonName, member: member, arguments: arguments)
}

/// Returns once the daemon has handled everything `bus` sent before and
/// `bus` has received everything the daemon routed to it before: the daemon
/// serves each connection in order.
private func barrier(_ bus: Bus) throws {
    _ = try callDaemon(bus, "GetId")
}

/// One value of every kind, nested and empty ones included.
private let everyKind: [BusValue] = [
    .byte(0xfe), .bool(true), .bool(false),
    .int16(-2), .uint16(.max), .int32(.min), .uint32(.max), .int64(.min), .uint64(.max),
    .double(-1.5), .string("grüße"), .string(""),
    .objectPath("/org/corebox/Thing_1"), .signature("a{sv}"),
    .variant(.int32(7)), .variant(.variant(.string("deep"))),
    .array(elementSignature: "s", []),
    .array(elementSignature: "a(is)", []),
    .array(elementSignature: "i", [.int32(1), .int32(2), .int32(3)]),
    .structure([.int32(1), .structure([.string("nested"), .array(elementSignature: "y", [.byte(1), .byte(2)])])]),
    .properties(["Name": .string("corebox"), "Count": .uint32(3), "Empty": .array(elementSignature: "s", [])]),
    .array(elementSignature: "{ias}", [.dictEntry(.int32(1), .array(elementSignature: "s", [.string("one")]))]),
]

@Suite struct BusValueTests {
    @Test func signaturesFollowTheDBusTypeCodes() {
        #expect(everyKind.map(\.signature).joined() == "ybbnqiuxtdssogvvasaa(is)ai(i(say))a{sv}a{ias}")
    }

    @Test func propertiesAreSortedAndReadBack() {
        let value = BusValue.properties(["b": .int32(2), "a": .string("x")])
        #expect(value == .array(elementSignature: "{sv}", [
            .dictEntry(.string("a"), .variant(.string("x"))),
            .dictEntry(.string("b"), .variant(.int32(2))),
        ]))
        #expect(value.propertyValues == ["a": .string("x"), "b": .int32(2)])
        #expect(BusValue.array(elementSignature: "{si}", []).propertyValues == nil)
    }
}

@Suite struct BusTests {
    @Test func everyValueKindRoundTripsThroughAnExportedMethod() throws {
        try withPrivateBus { address in
            let server = try ServerThread(address: address) { try exportTestInterface($0) }
            defer { server.stop() }
            let client = try Bus(address: address)
            let reply = try client.call(destination: server.uniqueName, path: objectPath, interface: interface, member: "Echo", arguments: everyKind)
            #expect(reply == everyKind)
            #expect(try client.call(destination: server.uniqueName, path: objectPath, interface: interface, member: "Echo").isEmpty)
        }
    }

    @Test func readsWhatTheDaemonSends() throws {
        try withPrivateBus { address in
            let bus = try Bus(address: address)
            #expect(bus.uniqueName.hasPrefix(":"))
            let credentials = try callDaemon(bus, "GetConnectionCredentials", [.string(bus.uniqueName)])
            #expect(credentials.count == 1)
            let fields = try #require(credentials.first?.propertyValues)
            #expect(fields["ProcessID"] == .uint32(UInt32(getpid())))
            #expect(fields["UnixUserID"] == .uint32(getuid()))
            let names = try callDaemon(bus, "ListNames")
            guard case .array("s", let entries)? = names.first else {
                Issue.record("ListNames replied \(names)")
                return
            }
            #expect(entries.contains(.string(bus.uniqueName)))
            #expect(entries.contains(.string(daemonName)))
        }
    }

    /// dbus-send uses libdbus, not sd-bus: it checks both directions of our marshalling.
    @Test func anIndependentPeerReadsAndWritesTheSameValues() throws {
        try withPrivateBus { address in
            let recorder = Recorder()
            let server = try ServerThread(address: address) { try exportTestInterface($0, recorder: recorder) }
            defer { server.stop() }
            let sender = Process()
            let output = Pipe()
            sender.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-send")
            sender.arguments = [
                "--bus=\(address)", "--print-reply", "--dest=\(server.uniqueName)", objectPath, "\(interface).Echo",
                "byte:7", "boolean:true", "int16:-2", "uint16:65535", "int32:-5", "uint32:4000000000",
                "int64:-9000000000", "uint64:18000000000000000000", "double:1.5", "string:grüße",
                "objpath:/a/b", "array:string:x,y", "dict:string:int32:one,1", "variant:int32:9",
            ]
            sender.standardOutput = output
            try sender.run()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            sender.waitUntilExit()
            #expect(sender.terminationStatus == 0)
            #expect(recorder.arguments.withLock { $0 } == [
                .byte(7), .bool(true), .int16(-2), .uint16(65535), .int32(-5), .uint32(4_000_000_000),
                .int64(-9_000_000_000), .uint64(18_000_000_000_000_000_000), .double(1.5), .string("grüße"),
                .objectPath("/a/b"), .array(elementSignature: "s", [.string("x"), .string("y")]),
                .array(elementSignature: "{si}", [.dictEntry(.string("one"), .int32(1))]), .variant(.int32(9)),
            ])
            let lines = printed.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            for expected in [
                "byte 7", "boolean true", "int16 -2", "uint16 65535", "int32 -5", "uint32 4000000000",
                "int64 -9000000000", "uint64 18000000000000000000", "double 1.5", #"string "grüße""#,
                #"object path "/a/b""#, #"string "x""#, #"string "one""#, "int32 1", "variant       int32 9",
            ] {
                #expect(lines.contains(expected), "dbus-send printed:\n\(printed)")
            }
        }
    }

    @Test func aThrownBusErrorReachesTheCallerAndOtherErrorsAreFailed() throws {
        try withPrivateBus { address in
            let server = try ServerThread(address: address) { try exportTestInterface($0) }
            defer { server.stop() }
            let client = try Bus(address: address)
            #expect(throws: BusError("org.corebox.Error.Refused", "not today")) {
                try client.call(destination: server.uniqueName, path: objectPath, interface: interface, member: "Refuse")
            }
            #expect(throws: BusError(BusError.Name.failed, "read('/dev/sda'): Input/output error (errno 5)")) {
                try client.call(destination: server.uniqueName, path: objectPath, interface: interface, member: "Crash")
            }
        }
    }

    @Test func unknownMembersAndPathsAreRefused() throws {
        try withPrivateBus { address in
            let server = try ServerThread(address: address) { try exportTestInterface($0) }
            defer { server.stop() }
            let client = try Bus(address: address)
            #expect {
                try client.call(destination: server.uniqueName, path: objectPath, interface: interface, member: "Nope")
            } throws: { error in
                (error as? BusError)?.name == BusError.Name.unknownMethod
            }
            #expect {
                try client.call(destination: server.uniqueName, path: objectPath, interface: "org.corebox.Other", member: "Echo")
            } throws: { error in
                (error as? BusError)?.name == BusError.Name.unknownMethod
            }
            #expect {
                try client.call(destination: server.uniqueName, path: "/org/corebox/Absent", interface: interface, member: "Echo")
            } throws: { error in
                (error as? BusError)?.name == BusError.Name.unknownObject
            }
            // The server still answers after refusing.
            #expect(try client.call(destination: server.uniqueName, path: objectPath, interface: interface, member: "Echo", arguments: [.int32(1)]) == [.int32(1)])
        }
    }

    @Test func aWellKnownNameReachesItsOwner() throws {
        try withPrivateBus { address in
            let name = "org.corebox.Service"
            let server = try ServerThread(address: address) { bus in
                try bus.requestName(name)
                try bus.requestName(name)
                try exportTestInterface(bus)
            }
            defer { server.stop() }
            let client = try Bus(address: address)
            #expect(try callDaemon(client, "GetNameOwner", [.string(name)]) == [.string(server.uniqueName)])
            #expect(try client.call(destination: name, path: objectPath, interface: interface, member: "Echo", arguments: [.string("hi")]) == [.string("hi")])
            #expect(throws: SystemError(errno: EEXIST, operation: "sd_bus_request_name", path: name)) {
                try client.requestName(name)
            }
        }
    }

    @Test func aNameNobodyOwnsIsServiceUnknown() throws {
        try withPrivateBus { address in
            let client = try Bus(address: address)
            #expect {
                try client.call(destination: "org.corebox.Nobody", path: objectPath, interface: interface, member: "Echo")
            } throws: { error in
                (error as? BusError)?.name == BusError.Name.serviceUnknown
            }
        }
    }

    @Test func aMalformedObjectPathFailsBeforeSending() throws {
        try withPrivateBus { address in
            let client = try Bus(address: address)
            #expect(throws: SystemError(errno: EINVAL, operation: "sd_bus_message_append_basic", path: "not/a/path")) {
                try client.call(destination: daemonName, path: "/org/freedesktop/DBus", interface: daemonName, member: "GetNameOwner", arguments: [.objectPath("not/a/path")])
            }
        }
    }

    @Test func aCallThatIsNeverAnsweredTimesOut() throws {
        try withPrivateBus { address in
            // Exported but never processed: the call sits unread in its socket.
            let silent = try Bus(address: address)
            try exportTestInterface(silent)
            let client = try Bus(address: address)
            #expect(throws: BusError("org.freedesktop.DBus.Error.Timeout", "Connection timed out")) {
                try client.call(destination: silent.uniqueName, path: objectPath, interface: interface, member: "Echo", timeout: .milliseconds(200))
            }
        }
    }

    @Test func aMatchReceivesTheSignalsItSelectsUntilReleased() throws {
        try withPrivateBus { address in
            let emitter = try Bus(address: address)
            let receiver = try Bus(address: address)
            var selected: [BusSignal] = []
            var everything: [String] = []
            let all = try receiver.matchSignal(interface: interface) { everything.append($0.member) }
            let changed = BusSignal(
                sender: emitter.uniqueName, path: objectPath, interface: interface, member: "Changed",
                arguments: [.string("state"), .properties(["Progress": .double(0.5)])]
            )
            do {
                let match = try receiver.matchSignal(path: objectPath, interface: interface, member: "Changed") { selected.append($0) }
                try withExtendedLifetime(match) {
                    try emitter.emitSignal(path: objectPath, interface: interface, member: "Other", arguments: [.string("other member")])
                    try emitter.emitSignal(path: "/org/corebox/Elsewhere", interface: interface, member: "Changed")
                    try emitter.emitSignal(path: changed.path, interface: changed.interface, member: changed.member, arguments: changed.arguments)
                    try barrier(emitter)
                    try barrier(receiver)
                    try receiver.processPending()
                }
            }
            #expect(selected == [changed])
            #expect(everything == ["Other", "Changed", "Changed"])

            try emitter.emitSignal(path: changed.path, interface: changed.interface, member: changed.member, arguments: changed.arguments)
            try barrier(emitter)
            try barrier(receiver)
            try receiver.processPending()
            #expect(selected == [changed])
            #expect(everything.count == 4)
            withExtendedLifetime(all) {}
        }
    }

    @Test func handlersAreReleasedWithTheirMatchOrBus() throws {
        try withPrivateBus { address in
            weak var matchCanary: Canary?
            weak var exportCanary: Canary?
            let bus = try Bus(address: address)
            do {
                let match: BusMatch
                do {
                    let canary = Canary()
                    matchCanary = canary
                    match = try bus.matchSignal(member: "Anything") { _ in _ = canary }
                }
                #expect(matchCanary != nil)
                withExtendedLifetime(match) {}
            }
            #expect(matchCanary == nil)
            do {
                let exporter = try Bus(address: address)
                do {
                    let canary = Canary()
                    exportCanary = canary
                    try exporter.export(path: objectPath, interface: interface, methods: ["Ping": { _ in _ = canary; return [] }])
                }
                #expect(exportCanary != nil)
            }
            #expect(exportCanary == nil)
        }
    }

    @Test func aMissingSocketNamesTheAddress() throws {
        let directory = try TemporaryDirectory()
        let address = "unix:path=\(directory.path)/missing"
        #expect {
            try Bus(address: address)
        } throws: { error in
            let error = error as! SystemError
            return error == SystemError(errno: ENOENT, operation: "sd_bus_start", path: address)
                && error.description == "sd_bus_start('\(address)'): No such file or directory (errno 2)"
        }
    }

    @Test func defaultAddressesFollowTheEnvironment() {
        #expect(Bus.systemAddress([:]) == "unix:path=/run/dbus/system_bus_socket")
        #expect(Bus.systemAddress(["DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/x"]) == "unix:path=/x")
        #expect(Bus.userAddress([:], uid: 1000) == "unix:path=/run/user/1000/bus")
        #expect(Bus.userAddress(["XDG_RUNTIME_DIR": "/run/user/7"], uid: 1000) == "unix:path=/run/user/7/bus")
        #expect(Bus.userAddress(["DBUS_SESSION_BUS_ADDRESS": "unix:path=/y", "XDG_RUNTIME_DIR": "/z"], uid: 0) == "unix:path=/y")
    }
}
