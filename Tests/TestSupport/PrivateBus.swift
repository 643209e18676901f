import Foundation

/// A dbus-daemon of the test's own, listening on a socket in a temporary
/// directory; `stop()` ends it by its PID, and the directory goes with the object.
public final class PrivateBus {
    static let daemon = "/usr/bin/dbus-daemon"

    public let address: String
    private let directory: TemporaryDirectory
    private let process = Process()

    public init() throws {
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
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }
}

/// Runs `body` with the address of a fresh private bus, stopping the bus afterwards whatever happens.
public func withPrivateBus<T>(_ body: (String) throws -> T) throws -> T {
    let bus = try PrivateBus()
    defer { bus.stop() }
    return try body(bus.address)
}

/// A test's surroundings are missing or broken (a tool not installed, a helper that did not start).
public struct SetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
