import Foundation
import Testing

/// Runs real tools (gzip, diff, patch) on temporary files: the tests'
/// independent reference for the codecs.
enum ExternalTool {
    /// A fresh directory, removed by the caller through `defer`.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cloudconfig-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The tool's standard output and exit status.
    static func run(_ path: String, _ arguments: [String]) throws -> (output: [UInt8], status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ([UInt8](data), process.terminationStatus)
    }

    /// `bytes` as gzip(1) compresses them, with its header name field when `named`.
    static func gzip(_ bytes: [UInt8], named: Bool = false) throws -> [UInt8] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("data.txt")
        try Data(bytes).write(to: file)
        let (output, status) = try run("/usr/bin/gzip", ["-c", named ? "-N" : "-n", file.path])
        #expect(status == 0)
        return output
    }
}
