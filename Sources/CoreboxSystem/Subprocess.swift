import CoreboxCore
import Glibc

/// A helper program run to completion (useradd and the like), its output
/// kept for the error message.
public enum Subprocess {
    public struct Result: Sendable {
        public let status: Int32
        /// stdout and stderr together, as a person would have seen them.
        public let output: String
    }

    /// Runs `path` with `arguments` and an empty environment but PATH; waits.
    public static func run(_ path: String, _ arguments: [String]) throws(SystemError) -> Result {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw SystemError(errno: errno, operation: "pipe") }
        // Only the child's dup2'd copies may survive exec: other threads spawn too.
        for fd in pipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        Syscall.close(pipe[1])
        defer { Syscall.close(pipe[0]) }
        guard spawned == 0 else { throw SystemError(errno: spawned, operation: "posix_spawn", path: path) }
        var output: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { chunk.deallocate() }
        while let count = try? Syscall.read(pipe[0], into: chunk), count > 0 { output += chunk[..<count] }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SystemError(errno: errno, operation: "waitpid", path: path) }
        }
        // WIFEXITED / WEXITSTATUS, and 128 + the signal otherwise, as a shell reports it.
        let exit = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Result(status: exit, output: String(decoding: output, as: UTF8.self))
    }
}
