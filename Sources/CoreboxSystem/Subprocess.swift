import CoreboxCore
import Glibc

/// A helper program run to completion (useradd, a container hook), its
/// output kept for the error message.
public enum Subprocess {
    public struct Result: Sendable {
        public let status: Int32
        /// stdout and stderr together, as a person would have seen them.
        public let output: String
        /// Killed with SIGKILL when its time ran out.
        public let timedOut: Bool
    }

    /// Runs `path` with `arguments` and an environment of PATH alone; waits.
    public static func run(_ path: String, _ arguments: [String]) throws(SystemError) -> Result {
        try run(path, argv: [path] + arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    }

    /// Runs `path` with exactly `argv` and `environment`, `input` on its
    /// stdin; kills it once `timeout` has passed.
    public static func run(
        _ path: String, argv: [String], environment: [String], input: [UInt8] = [], timeout: Duration? = nil
    ) throws(SystemError) -> Result {
        // Sockets rather than pipes: close-on-exec from the start (Glibc's
        // module has no pipe2), and a write to a program that does not read
        // its stdin fails with EPIPE (MSG_NOSIGNAL) instead of a SIGPIPE.
        var stdin: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &stdin) == 0 else { throw SystemError(errno: errno, operation: "socketpair") }
        guard socketpair(AF_UNIX, type, 0, &output) == 0 else {
            stdin.forEach { Syscall.close($0) }
            throw SystemError(errno: errno, operation: "socketpair")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, output[1], 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup($0) } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, cArguments, cEnvironment)
        Syscall.close(stdin[0])
        Syscall.close(output[1])
        defer { Syscall.close(output[0]) }
        guard spawned == 0 else {
            Syscall.close(stdin[1])
            throw SystemError(errno: spawned, operation: "posix_spawn", path: path)
        }
        // Small inputs (a hook's state) fit the socket's buffer: this does not block.
        _ = input.withUnsafeBytes { send(stdin[1], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Syscall.close(stdin[1])

        var text: [UInt8] = []
        var timedOut = false
        let deadline = timeout.map { monotonicMilliseconds() + Int64($0.components.seconds) * 1000 + $0.components.attoseconds / 1_000_000_000_000_000 }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var entry = pollfd(fd: output[0], events: Int16(POLLIN), revents: 0)
            let left = deadline.map { Int32(clamping: max(0, $0 - monotonicMilliseconds())) } ?? -1
            let ready = poll(&entry, 1, left)
            if ready == 0 {
                timedOut = true
                _ = kill(pid, SIGKILL)
                break
            }
            if ready < 0 { if errno == EINTR { continue } else { break } }
            let count = read(output[0], &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            text += buffer[..<count]
        }
        // Its output can end before it does: the deadline holds until it exits.
        var status: Int32 = 0
        var pause: useconds_t = 100  // its exit most often follows its output's end at once
        while true {
            let waited = waitpid(pid, &status, deadline == nil || timedOut ? 0 : WNOHANG)
            if waited == pid { break }
            if waited < 0 {
                guard errno == EINTR else { throw SystemError(errno: errno, operation: "waitpid", path: path) }
            } else if let deadline, monotonicMilliseconds() >= deadline {
                timedOut = true
                _ = kill(pid, SIGKILL)
            } else {
                usleep(pause)
                pause = min(pause * 2, 10_000)
            }
        }
        return Result(status: shellStatus(status), output: String(decoding: text, as: UTF8.self), timedOut: timedOut)
    }

    /// A wait status as a shell reports it: the exit status, or 128 + the
    /// signal that ended the process.
    public static func shellStatus(_ waitStatus: Int32) -> Int32 {
        waitStatus & 0x7F == 0 ? (waitStatus >> 8) & 0xFF : 128 + (waitStatus & 0x7F)
    }

    private static func monotonicMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
