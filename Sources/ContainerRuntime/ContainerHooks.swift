import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

/// The config's hooks in the runtime-spec's order. The runtime runs those
/// in its own namespaces here: prestart and createRuntime at `create`, once
/// the child has made its mounts and before it enters its root (the C
/// child stops for them, COREBOX_CHILD_HOOKS), poststart after `start`,
/// poststop after `delete`. The C child runs createContainer (in its
/// namespaces, before entering the root) and startContainer (in the
/// container, after `start`, before exec) itself from `childStates`.
///
/// A hook gets the runtime-spec state on stdin, its `args` (argv[0]
/// included) and `env` alone; a `timeout` (seconds) kills it.
enum ContainerHooks {
    /// Runs `hooks` in order; the first failure stops them and is thrown.
    static func run(_ hooks: [Hook], name: String, state: ContainerState) throws(CommandError) {
        for (index, hook) in hooks.enumerated() {
            do { try run(hook, state: state) } catch { throw CommandError("hooks.\(name)[\(index)] (\(hook.path)): \(error)") }
        }
    }

    /// Runs every one of `hooks` (poststart, poststop): a failure is a
    /// warning and the next hook still runs, as the runtime-spec asks.
    static func runAll(_ hooks: [Hook], name: String, state: ContainerState, warn: (String) -> Void) {
        for (index, hook) in hooks.enumerated() {
            do { try run(hook, state: state) } catch { warn("hooks.\(name)[\(index)] (\(hook.path)): \(error)") }
        }
    }

    /// What the C child gets at the hooks sync: the state for its
    /// createContainer hooks ("creating") and the one for its
    /// startContainer hooks ("created", as runc gives them), each ending in
    /// a NUL.
    static func childStates(_ state: ContainerState) -> [UInt8] {
        [ContainerStatus.creating, .created].flatMap { status in
            var state = state
            state.status = status
            return Array(state.specJSON.utf8) + [0]
        }
    }

    /// The most `childStates` can take for a container like `state`.
    static func childStatesCapacity(_ state: ContainerState) -> Int {
        var widest = state
        widest.pid = Int(Int32.max)
        return childStates(widest).count
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
