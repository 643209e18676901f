import Foundation

/// Real clients (etcdctl, python-etcd3) run against kvd in the tests.
enum Clients {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs a client to completion, or SIGKILLs it by PID after `timeout`
    /// (the test runner's children inherit a blocked SIGTERM). It waits by
    /// sleeping, never blocking a thread of the small pool the server's
    /// handlers run on: a blocking wait starves the server under a parallel run.
    static func run(_ executable: String, _ arguments: [String], stdin: String = "", timeout: Duration = .seconds(10)) async throws -> Run {
        let directory = NSTemporaryDirectory() + "corebox-client-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/err", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/in", contents: Data(stdin.utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/err"))
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: directory + "/in"))
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let stdout = try String(contentsOfFile: directory + "/out", encoding: .utf8)
        let stderr = try String(contentsOfFile: directory + "/err", encoding: .utf8)
        return Run(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    static func etcdctl(_ port: Int, _ arguments: [String], stdin: String = "") async throws -> Run {
        try await run("/usr/bin/etcdctl", ["--endpoints=127.0.0.1:\(port)", "--dial-timeout=5s", "--command-timeout=5s"] + arguments, stdin: stdin)
    }

    /// An HTTP answer as curl saw it.
    struct HTTPAnswer {
        let status: Int
        /// Header names lowercased.
        let headers: [String: String]
        let body: String
    }

    /// One curl request to kvd's client port; `arguments` add the method, form or body.
    static func curl(_ port: Int, _ path: String, _ arguments: [String] = []) async throws -> HTTPAnswer {
        let run = try await run("/usr/bin/curl", ["-sS", "-i", "--max-time", "5"] + arguments + ["http://127.0.0.1:\(port)\(path)"])
        guard run.status == 0, let split = run.stdout.range(of: "\r\n\r\n") else {
            throw CurlFailed(description: "curl exited \(run.status): \(run.stderr)")
        }
        let lines = run.stdout[..<split.lowerBound].components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HTTPAnswer(status: status, headers: headers, body: String(run.stdout[split.upperBound...]))
    }

    struct CurlFailed: Error, CustomStringConvertible {
        let description: String
    }
}
