import Foundation
import TestSupport

/// Runs the built corebox binary: `COREBOX_BIN`, else the release build
/// (`make build`), which is what ships.
enum CoreboxBinary {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var path: String {
        ProcessInfo.processInfo.environment["COREBOX_BIN"] ?? packageRoot + "/.build/release/corebox"
    }

    /// Runs `executable` (the binary or a link to it) with a clean environment plus `environment`.
    static func run(_ arguments: [String], executable: String = path, environment: [String: String] = [:]) async throws -> Clients.Run {
        try await Clients.run(executable, arguments, environment: environment)
    }
}

/// A directory under /tmp removed when the test is done with it.
final class Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "corebox-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A symbolic link called `name` to the corebox binary.
    func link(_ name: String) throws -> String {
        let link = path + "/" + name
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: CoreboxBinary.path)
        return link
    }
}
