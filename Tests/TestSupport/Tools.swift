import Foundation

/// Helper programs a test runs to completion (umoci, skopeo, openssl...).
public enum Tools {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `arguments` (looked up in the PATH) in `directory`; its stdout,
    /// or `Failed` with its stderr when it exits non-zero.
    @discardableResult
    public static func run(_ arguments: [String], in directory: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe(), errors = Pipe()
        (process.standardOutput, process.standardError) = (output, errors)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "\(arguments): exit \(process.terminationStatus): \(String(decoding: message, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
