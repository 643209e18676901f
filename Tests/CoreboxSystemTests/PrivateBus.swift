import CoreboxSystem
import Foundation
import Synchronization
import Testing

/// A dbus-daemon of the test's own, listening on a socket in a temporary
/// directory; `stop()` ends it by its PID, and the directory goes with the object.
final class PrivateBus {
    static let daemon = "/usr/bin/dbus-daemon"

    let address: String
    private let directory: TemporaryDirectory
    private let process = Process()

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.daemon) else {
            throw SetupError("\(Self.daemon) is missing: run scripts/setup")
        }
        directory = try TemporaryDirectory()
        // A session bus that lets every connection own any name and call anything.
        try directory.write("bus.conf", """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:path=\(directory.path)/bus</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """)
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: Self.daemon)
        process.arguments = ["--nofork", "--print-address", "--config-file=\(directory.path)/bus.conf"]
        process.standardOutput = output
        // Its complaints (it cannot raise its fd limit in a container) only matter when it fails to start.
        let log = directory.path + "/daemon.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        // The daemon prints its address once it listens.
        var printed = Data()
        while !printed.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                let complaints = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw SetupError("dbus-daemon exited before printing its address: \(complaints)")
            }
            printed += chunk
        }
        address = String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SIGKILL, because the daemon inherits the signal mask of the test's
    /// worker thread, which blocks SIGTERM; it has nothing to save.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }
}

/// Runs `body` with the address of a fresh private bus, stopping the bus afterwards whatever happens.
func withPrivateBus<T>(_ body: (String) throws -> T) throws -> T {
    let bus = try PrivateBus()
    defer { bus.stop() }
    return try body(bus.address)
}

struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A connection serving calls on a thread of its own, as a separate service
/// process would. The `Bus` is made, set up, served and closed on that thread.
final class ServerThread {
    let uniqueName: String
    private let control: Control

    /// What the test and the server thread share.
    private final class Control: Sendable {
        let stopping = Atomic<Bool>(false)
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let startup = Mutex<Result<String, any Error>?>(nil)
        let loopFailure = Mutex<(any Error)?>(nil)

        func serve(_ address: String, _ setup: (Bus) throws -> Void) {
            let bus: Bus
            do {
                bus = try Bus(address: address)
                try setup(bus)
            } catch {
                startup.withLock { $0 = .failure(error) }
                started.signal()
                return
            }
            startup.withLock { $0 = .success(bus.uniqueName) }
            started.signal()
            do {
                while !stopping.load(ordering: .relaxed) {
                    try bus.processPending(timeout: .milliseconds(20))
                }
            } catch {
                loopFailure.withLock { $0 = error }
            }
        }
    }

    init(address: String, setup: @escaping @Sendable (Bus) throws -> Void) throws {
        let control = Control()
        self.control = control
        Thread {
            // serve() has returned, and so closed its bus, before the test hears it finished.
            control.serve(address, setup)
            control.finished.signal()
        }.start()
        guard control.started.wait(timeout: .now() + 10) == .success else {
            control.stopping.store(true, ordering: .relaxed)
            throw SetupError("the server thread did not start within 10 s")
        }
        uniqueName = try control.startup.withLock { $0! }.get()
    }

    /// Ends the loop, waits for the thread and reports a loop that failed.
    func stop() {
        control.stopping.store(true, ordering: .relaxed)
        control.finished.wait()
        if let failure = control.loopFailure.withLock({ $0 }) {
            Issue.record("server loop failed: \(failure)")
        }
    }
}
