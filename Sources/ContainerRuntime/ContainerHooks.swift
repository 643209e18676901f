import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

/// The config's hooks that run in the runtime's namespaces: the program
/// gets the runtime-spec state on stdin, the hook's `args` (argv[0]
/// included) and `env` alone; a `timeout` (seconds) kills it.
///
/// Not done: `createContainer` and `startContainer`, which run inside the
/// container's namespaces (the C child would have to run them); `create`
/// refuses a config that has them. `prestart` and `createRuntime` run once
/// the init is ready, so after its pivot_root, where the runtime-spec puts
/// them before it.
enum ContainerHooks {
    static func refuseUnsupported(_ hooks: Hooks?, file: String) throws(CommandError) {
        for (name, list) in [("createContainer", hooks?.createContainer ?? []), ("startContainer", hooks?.startContainer ?? [])] where !list.isEmpty {
            throw CommandError("\(file): hooks.\(name): hooks inside the container's namespaces are not supported yet")
        }
    }

    /// Runs `hooks` in order; the first failure stops them and is thrown.
    static func run(_ hooks: [Hook], name: String, state: ContainerState) throws(CommandError) {
        for (index, hook) in hooks.enumerated() {
            do { try run(hook, state: state) } catch { throw CommandError("hooks.\(name)[\(index)] (\(hook.path)): \(error)") }
        }
    }

    private static func run(_ hook: Hook, state: ContainerState) throws(CommandError) {
        // Sockets made close-on-exec at once (Glibc's module has no pipe2);
        // stdin's write to a hook that does not read it fails with EPIPE
        // (MSG_NOSIGNAL) rather than a SIGPIPE.
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &input) == 0 else {
            throw CommandError("\(SystemError(errno: errno, operation: "socketpair"))")
        }
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &output) == 0 else {
            input.forEach { Syscall.close($0) }
            throw CommandError("\(SystemError(errno: errno, operation: "socketpair"))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, output[1], 2)
        let argv = (hook.args.isEmpty ? [hook.path] : hook.args).map { strdup($0) } + [nil]
        let envp = hook.env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, hook.path, &actions, nil, argv, envp)
        Syscall.close(input[0])
        Syscall.close(output[1])
        defer { Syscall.close(output[0]) }
        guard spawned == 0 else {
            Syscall.close(input[1])
            throw CommandError("\(SystemError(errno: spawned, operation: "posix_spawn", path: hook.path))")
        }
        // The state is far smaller than the socket's buffer: this does not block.
        let json = Array(state.specJSON.utf8)
        _ = json.withUnsafeBytes { send(input[1], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Syscall.close(input[1])

        var text: [UInt8] = []
        var timedOut = false
        let deadline = hook.timeout.map { Clock.now().seconds + Int64($0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var entry = pollfd(fd: output[0], events: Int16(POLLIN), revents: 0)
            let left = deadline.map { max(0, Int32(clamping: ($0 - Clock.now().seconds) * 1000)) } ?? -1
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
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let said = String(decoding: text, as: UTF8.self)
        if timedOut { throw CommandError("timed out after \(hook.timeout ?? 0)s") }
        let exit = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        if exit != 0 { throw CommandError("exit status \(exit)\(said.isEmpty ? "" : ": " + said)") }
    }
}
