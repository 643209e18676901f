import Foundation

/// Real clients (etcdctl, python-etcd3, curl) run against kvd in the tests.
public enum Clients {
    public struct Run: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs a client to completion, or kills it after `timeout` (status 9 then).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String = "", timeout: Duration = .seconds(10)
    ) async throws -> Run {
        let child = try ChildProcess(executable, arguments, environment: ["ETCDCTL_API": "3"].merging(environment) { _, new in new }, stdin: stdin)
        if try await child.exitStatus(within: timeout) == nil { child.stop() }
        let status = try await child.exitStatus(within: .zero) ?? SIGKILL
        return Run(status: status, stdout: child.stdout, stderr: child.stderr)
    }

    public static func etcdctl(_ port: Int, _ arguments: [String], stdin: String = "") async throws -> Run {
        try await run("/usr/bin/etcdctl", ["--endpoints=127.0.0.1:\(port)", "--dial-timeout=5s", "--command-timeout=5s"] + arguments, stdin: stdin)
    }
}
