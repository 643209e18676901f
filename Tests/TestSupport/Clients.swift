import Foundation

/// Real clients (etcdctl, python-etcd3, curl) run against kvd in the tests.
public enum Clients {
    public struct Run: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs a client to completion, or kills it after `timeout` (status 9 then).
    /// The default only catches a hang: python importing grpc on a loaded
    /// 2-core machine has taken seconds.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String = "", timeout: Duration = .seconds(60)
    ) async throws -> Run {
        let child = try ChildProcess(executable, arguments, environment: ["ETCDCTL_API": "3"].merging(environment) { _, new in new }, stdin: stdin)
        if try await child.exitStatus(within: timeout) == nil { child.stop() }
        let status = try await child.exitStatus(within: .zero) ?? SIGKILL
        return Run(status: status, stdout: child.stdout, stderr: child.stderr)
    }

    /// Generous bounds, to catch a hang only: a parallel run's CPU-bound tests
    /// can hold the 2 cores' thread pool, which the servers' async handlers share, for seconds.
    public static func etcdctl(_ port: Int, _ arguments: [String], stdin: String = "") async throws -> Run {
        try await run("/usr/bin/etcdctl", ["--endpoints=127.0.0.1:\(port)", "--dial-timeout=20s", "--command-timeout=20s"] + arguments,
                      stdin: stdin, timeout: .seconds(30))
    }

    /// An HTTP answer as curl saw it.
    public struct HTTPAnswer: Sendable {
        public let status: Int
        /// Header names lowercased.
        public let headers: [String: String]
        public let body: String
    }

    /// One curl request to kvd's client port; `arguments` add the method, form or body.
    public static func curl(_ port: Int, _ path: String, _ arguments: [String] = []) async throws -> HTTPAnswer {
        let run = try await run("/usr/bin/curl", ["-sS", "-i", "--max-time", "20"] + arguments + ["http://127.0.0.1:\(port)\(path)"])
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

    public struct CurlFailed: Error, CustomStringConvertible {
        public let description: String
    }
}
