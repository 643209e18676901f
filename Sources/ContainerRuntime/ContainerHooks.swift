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
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(
                hook.path, argv: hook.args.isEmpty ? [hook.path] : hook.args, environment: hook.env,
                input: Array(state.specJSON.utf8), timeout: hook.timeout.map { .seconds($0) })
        } catch {
            throw CommandError("\(error)")
        }
        if result.timedOut { throw CommandError("timed out after \(hook.timeout ?? 0)s") }
        if result.status != 0 { throw CommandError("exit status \(result.status)\(result.output.isEmpty ? "" : ": " + result.output)") }
    }
}
