import Foundation

/// A process a test starts, with its output in files and a wait that sleeps
/// instead of blocking: a blocking wait holds one of the few threads that
/// in-process servers of a parallel test run need.
///
/// Children of the test runner inherit a blocked SIGTERM, so `stop` uses SIGKILL.
public final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let directory: String

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String = "") throws {
        directory = NSTemporaryDirectory() + "corebox-child-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in ["out", "err"] { _ = FileManager.default.createFile(atPath: "\(directory)/\(name)", contents: nil) }
        _ = FileManager.default.createFile(atPath: directory + "/in", contents: Data(stdin.utf8))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { _, new in new }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/err"))
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: directory + "/in"))
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var stdout: String { (try? String(contentsOfFile: directory + "/out", encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: directory + "/err", encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) { if process.isRunning { kill(process.processIdentifier, number) } }

    /// The exit status once it has exited, or nil when it still runs after `timeout`.
    public func exitStatus(within timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Kills it (SIGKILL) and reaps it.
    public func stop() {
        signal(SIGKILL)
        process.waitUntilExit()
    }
}
