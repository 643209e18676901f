import CoreboxCore
import Foundation
import Glibc
import OCISpec
import Testing
import TestSupport

@testable import ContainerRuntime

/// Hooks in the runtime-spec's order and where each runs, on the lifecycle
/// suite's bundles. Host paths are written as `output.path/...`; the
/// startContainer hook runs in the container, where the same directory is
/// /out.
extension LifecycleTests {
    static let hookKinds = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]

    /// Every kind of hook, each appending its name to `order`, saving its
    /// stdin as KIND.json, its mount namespace as KIND.mnt (and for the
    /// first two the init's root as KIND.root), in `output` (/out for
    /// startContainer, which runs in the container).
    func recordingHooks() -> Hooks {
        var hooks = Hooks()
        for kind in Self.hookKinds {
            let out = kind == "startContainer" ? "/out" : output.path
            var script = "echo \(kind) >> \(out)/order; cat > \(out)/\(kind).json; readlink /proc/self/ns/mnt > \(out)/\(kind).mnt"
            if kind == "prestart" || kind == "createRuntime" {
                script += "; readlink /proc/$(sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/' \(out)/\(kind).json)/root > \(out)/\(kind).root"
            }
            hooks[keyPath: Self.keyPath(kind)] = [hook(script)]
        }
        return hooks
    }

    @Test(.enabled(if: canRun)) func hooksRunInTheSpecsOrderWithTheState() async throws {
        var config = config("sleep 0.2")
        config.hooks = recordingHooks()
        try write(config)
        #expect(container("create", "-b", bundle.path, "ordered").status == 0)
        let created = try state("ordered")
        let pid = track(created)
        #expect(outputFile("order") == "prestart\ncreateRuntime\ncreateContainer\n", "create-time hooks")
        #expect(container("start", "ordered").status == 0)
        _ = try await wait("ordered", for: .stopped)
        #expect(container("delete", "ordered").status == 0)
        #expect(outputFile("order") == Self.hookKinds.map { $0 + "\n" }.joined())

        let statuses = ["created", "creating", "creating", "created", "running", "stopped"]
        for (kind, status) in zip(Self.hookKinds, statuses) {
            let state = try ContainerState.decode(Array((outputFile(kind + ".json") ?? "").utf8), file: kind)
            #expect(state.id == "ordered" && state.status.rawValue == status && state.bundle == bundle.path, "\(kind)")
            #expect(state.pid == (kind == "poststop" ? 0 : Int(pid)), "\(kind): the init's pid as the host sees it")
        }
        // The runtime's hooks in the runtime's mount namespace, the
        // container's in the init's (which `create` left waiting).
        let host = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt") + "\n"
        for kind in ["prestart", "createRuntime", "poststart", "poststop"] { #expect(outputFile(kind + ".mnt") == host, "\(kind)") }
        #expect(outputFile("createContainer.mnt") != host && outputFile("createContainer.mnt") == outputFile("startContainer.mnt"))
        // Before pivot_root: the init's root is still the host's.
        for kind in ["prestart", "createRuntime"] { #expect(outputFile(kind + ".root") == "/\n", "\(kind)") }
        try expectGone("ordered", config, pid: pid)
    }

    @Test(.enabled(if: canRun)) func hooksGetTheirArgsAndEnv() throws {
        var config = config("true")
        for kind in ["createRuntime", "createContainer"] {
            var hook = hook("echo \"$0 $1 $GREETING\" > \(output.path)/\(kind)")
            hook.args += ["zero", "one"]
            hook.env.append("GREETING=hello")
            config.hooks.append(hook, to: Self.keyPath(kind))
        }
        try write(config)
        #expect(container("run", "-b", bundle.path, "arguments").status == 0)
        #expect(outputFile("createRuntime") == "zero one hello\n")
        #expect(outputFile("createContainer") == "zero one hello\n")
        try expectGone("arguments", config)
    }

    @Test(.enabled(if: canRun)) func aFailingCreateTimeHookFailsCreateAndLeavesNothing() throws {
        for kind in ["prestart", "createRuntime", "createContainer"] {
            var config = config("true")
            config.hooks.append(hook("cat > \(output.path)/state; echo refused; exit 3"), to: Self.keyPath(kind))
            try write(config)
            let failed = container("create", "-b", bundle.path, "refused")
            #expect(failed.status == 1, "\(kind)")
            #expect(failed.error.contains("hooks.\(kind)[0] (/bin/sh): exit status 3: refused"), "\(failed.error)")
            let state = try ContainerState.decode(Array((outputFile("state") ?? "").utf8))
            try expectGone("refused", config, pid: Int32(state.pid))
        }

        var config = config("true")
        var missing = Hook()
        missing.path = "/nonexistent/hook"
        config.hooks.append(missing, to: \.createContainer)
        try write(config)
        let failed = container("create", "-b", bundle.path, "missing")
        #expect(failed.error.contains("hooks.createContainer[0] (/nonexistent/hook): No such file or directory"), "\(failed.error)")
        try expectGone("missing", config)
    }

    @Test(.enabled(if: canRun)) func aHookPastItsTimeoutIsKilled() throws {
        for kind in ["createRuntime", "createContainer"] {
            var config = config("true")
            // Its output closed first: the wait is for the hook, not for its output's end.
            var sleeper = hook("echo $$ > \(output.path)/sleeper; exec sleep 100 > /dev/null 2>&1")
            sleeper.timeout = 1
            config.hooks.append(sleeper, to: Self.keyPath(kind))
            try write(config)
            let failed = container("create", "-b", bundle.path, "timeout")
            #expect(failed.error.contains("hooks.\(kind)[0] (/bin/sh): timed out after 1s"), "\(failed.error)")
            // createContainer's hook is in the container's pid namespace and
            // cgroup, which are gone; createRuntime's is the runtime's child.
            if kind == "createRuntime" {
                let sleeperPID = try #require(Int32((outputFile("sleeper") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))
                #expect(Liveness.stat(pid: sleeperPID) == nil, "the hook was killed")
            }
            try expectGone("timeout", config)
        }
    }

    @Test(.enabled(if: canRun)) func aFailingStartContainerHookFailsStart() async throws {
        var config = config("echo ran > /out/ran")
        config.hooks.append(hook("echo refused; exit 3"), to: \.startContainer)
        try write(config)
        #expect(container("create", "-b", bundle.path, "unstarted").status == 0)
        let pid = track(try state("unstarted"))
        let started = container("start", "unstarted")
        #expect(started.status == 1 && started.error.contains("hooks.startContainer[0] (/bin/sh): exit status 3: refused"), "\(started.error)")
        #expect(try await wait("unstarted", for: .stopped).status == .stopped)
        #expect(outputFile("ran") == nil, "the process ran")
        #expect(container("delete", "unstarted").status == 0)
        try expectGone("unstarted", config, pid: pid)
    }

    static func keyPath(_ kind: String) -> WritableKeyPath<Hooks, [Hook]> {
        switch kind {
        case "prestart": \.prestart
        case "createRuntime": \.createRuntime
        case "createContainer": \.createContainer
        case "startContainer": \.startContainer
        case "poststart": \.poststart
        default: \.poststop
        }
    }

    /// runc 1.1.5 runs the same hooks in the same order, but for one race:
    /// its init writes the FIFO before its startContainer hooks, so
    /// poststart may come first.
    @Test(.enabled(if: canRun && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc")))
    func runcRunsTheHooksInTheSameOrder() async throws {
        var config = config("true")
        config.hooks = recordingHooks()
        try write(config)
        #expect(container("run", "-b", bundle.path, "ours").status == 0)
        let ours = outputFile("order") ?? ""
        try FileManager.default.removeItem(atPath: output.path + "/order")

        let runcRoot = try TemporaryDirectory()
        _ = try await runc(runcRoot.path, "run", "-b", bundle.path, "theirs")
        let theirs = outputFile("order") ?? ""
        #expect(ours == Self.hookKinds.map { $0 + "\n" }.joined())
        func withoutStart(_ order: String) -> [Substring] { order.split(separator: "\n").filter { $0 != "startContainer" } }
        #expect(withoutStart(ours) == withoutStart(theirs) && theirs.contains("startContainer"), "runc: \(theirs)")
    }
}

extension Optional where Wrapped == Hooks {
    /// Appends `hook` to the list at `key`, making the hooks when there are none.
    mutating func append(_ hook: Hook, to key: WritableKeyPath<Hooks, [Hook]>) {
        var hooks = self ?? Hooks()
        hooks[keyPath: key].append(hook)
        self = hooks
    }
}

/// What the C child is sent for its own hooks: pure.
struct ChildHookStateTests {
    @Test func theChildGetsTheCreatingThenTheCreatedState() throws {
        let state = ContainerState(id: "c1", pid: 4242, status: .creating, bundle: "/b", rootfs: "/b/rootfs", created: Timestamp(),
                                   annotations: ["k": "v"])
        let bytes = ContainerHooks.childStates(state)
        let parts = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        #expect(parts == [
            #"{"ociVersion":"\#(OCIVersion.runtime)","id":"c1","status":"creating","pid":4242,"bundle":"/b","annotations":{"k":"v"}}"#,
            #"{"ociVersion":"\#(OCIVersion.runtime)","id":"c1","status":"created","pid":4242,"bundle":"/b","annotations":{"k":"v"}}"#,
            "",
        ])
        // Room for any pid the kernel hands out.
        var widest = state
        widest.pid = 4_194_304
        #expect(ContainerHooks.childStates(widest).count <= ContainerHooks.childStatesCapacity(state))
        #expect(ContainerHooks.childStatesCapacity(state) < bytes.count + 2 * 10)
    }
}
