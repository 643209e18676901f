import CoreboxCore
import CoreboxSystem
import EtcdAPI
import FoundationEssentials
import Glibc

extension KVCtlCommand {
    static let memberList = KVCtlCommand(
        ["member", "list"], "Lists all members in the cluster",
        description: """
            With --write-out=simple, one comma-separated line per member:
            ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.
            """
    ) { run in
        let options = try run.clientOptions()
        let deadline = options.commandDeadline()
        let response = try await options.session(until: deadline) { try await $0.call(EtcdRPC.memberList, .init(), until: deadline) }
        Output.standardOutput(options.printer.memberList(response))
    }

    static let endpointStatus = KVCtlCommand(
        ["endpoint", "status"], "Prints out the status of endpoints specified in `--endpoints` flag",
        description: """
            With --write-out=simple, one comma-separated line per endpoint: endpoint, ID,
            version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.
            """
    ) { run in
        let options = try run.clientOptions()
        var statuses: [EndpointStatus] = []
        var failed = false
        for endpoint in try await EndpointList.resolve(run, options) {
            let deadline = options.commandDeadline()
            var single = options
            single.endpoints = [endpoint]
            do {
                let status = try await single.session(until: deadline) { try await $0.call(EtcdRPC.status, .init(), until: deadline) }
                statuses.append(EndpointStatus(endpoint: endpoint, status: status))
            } catch {
                failed = true
                Output.standardError("Failed to get the status of endpoint \(endpoint) (\(error))\n")
            }
        }
        Output.standardOutput(options.printer.endpointStatus(statuses))
        if failed { throw KVCtlError(.error, "", silent: true) }
    }

    static let endpointHealth = KVCtlCommand(
        ["endpoint", "health"], "Checks the healthiness of endpoints specified in `--endpoints` flag"
    ) { run in
        let options = try run.clientOptions()
        let endpoints = try await EndpointList.resolve(run, options)
        // Every endpoint at once; the answers in the order they come.
        let checks = await withTaskGroup(of: EndpointHealth.self) { group in
            for endpoint in endpoints {
                group.addTask { await EndpointList.check(endpoint, options) }
            }
            var checks: [EndpointHealth] = []
            for await check in group { checks.append(check) }
            return checks
        }
        let text = options.printer.endpointHealth(checks)
        if options.printer.healthGoesToStandardError {
            Output.standardError(String(decoding: text, as: UTF8.self))
        } else {
            Output.standardOutput(text)
        }
        if checks.contains(where: { !$0.healthy }) { throw KVCtlError(.error, "unhealthy cluster") }
    }

    static let snapshotSave = KVCtlCommand(
        ["snapshot", "save"], use: "<filename>", "Stores an etcd node backend snapshot to a given file"
    ) { run in
        guard run.arguments.count == 1 else { throw KVCtlError(.badArgs, "snapshot save expects one argument") }
        let options = try run.clientOptions()
        guard options.endpoints.count == 1 else {
            throw KVCtlError(.interrupted, "snapshot must be requested to one selected node, not multiple [\(options.endpoints.joined(separator: " "))]")
        }
        // Without --command-timeout, etcdctl gives a snapshot all the time it takes.
        let deadline = options.commandTimeoutIsSet ? options.commandDeadline() : nil
        try await SnapshotDownload(path: run.arguments[0], options: options, deadline: deadline).run()
        Output.standardOutput("Snapshot saved at \(run.arguments[0])\n")
    }

    static let version = KVCtlCommand(["version"], "Prints the version of etcdctl") { _ in
        Output.standardOutput("etcdctl version: \(etcdctlVersion)\nAPI version: \(apiVersion)\n")
    }
}

/// The endpoints `endpoint status` and `health` visit: `--endpoints`, or
/// with `--cluster` every client URL of the member list.
enum EndpointList {
    static func resolve(_ run: CommandRun, _ options: ClientOptions) async throws(KVCtlError) -> [String] {
        guard run.flags.bool("cluster") else { return options.endpoints }
        let deadline = options.commandDeadline()
        let members = try await options.session(
            until: deadline, message: { "failed to fetch endpoints from etcd cluster member list: \($0)" }
        ) { try await $0.call(EtcdRPC.memberList, .init(), until: deadline) }
        return members.members.flatMap(\.clientUrls)
    }

    /// etcdctl's health check: a linearizable get of the key "health"
    /// within the command timeout ("permission denied" counts as healthy).
    static func check(_ endpoint: String, _ options: ClientOptions) async -> EndpointHealth {
        let start = ContinuousClock.now
        let deadline = start + options.commandTimeout
        var single = options
        single.endpoints = [endpoint]
        let request = Etcdserverpb_RangeRequest.with { $0.key = Data("health".utf8) }
        var failure = ""
        do {
            _ = try await single.session(until: deadline) { try await $0.call(EtcdRPC.range, request, until: deadline) }
        } catch where error.message != "etcdserver: permission denied" {
            failure = error.message
        } catch {}
        return EndpointHealth(endpoint: endpoint, healthy: failure.isEmpty, took: GoSyntax.format(.now - start), error: failure)
    }
}

/// `snapshot save`: the Snapshot stream into `PATH.part` (mode 0600),
/// checked for etcd's SHA-256 trailer (size % 512 == 32), synced, then
/// renamed to PATH; the partial file is removed on any failure.
struct SnapshotDownload {
    let path: String
    let options: ClientOptions
    let deadline: ContinuousClock.Instant?

    func run() async throws(KVCtlError) {
        let partial = path + ".part"
        defer { _ = unlink(partial) }
        let descriptor: Int32
        do {
            descriptor = try Syscall.open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        } catch {
            throw KVCtlError(.interrupted, "could not open \(partial) (open \(partial): \(Self.goText(error.errno)))")
        }
        var open = true
        defer { if open { Syscall.close(descriptor) } }
        let size = try await download(into: descriptor, partial)
        guard size % 512 == 32 else { throw KVCtlError(.interrupted, "sha256 checksum not found [bytes: \(size)]") }
        do {
            try Syscall.fsync(descriptor, path: partial)
        } catch {
            throw KVCtlError(.interrupted, "sync \(partial): \(Self.goText(error.errno))")
        }
        Syscall.close(descriptor)
        open = false
        do {
            try Syscall.rename(partial, path)
        } catch {
            throw KVCtlError(.interrupted, "could not rename \(partial) to \(path) (rename \(partial) \(path): \(Self.goText(error.errno)))")
        }
    }

    /// Writes the stream's blobs; returns the byte count.
    private func download(into descriptor: Int32, _ partial: String) async throws(KVCtlError) -> Int {
        let client = try await options.connect(until: deadline, failure: .interrupted)
        let call = client.stream(EtcdRPC.snapshot)
        call.send(Etcdserverpb_SnapshotRequest())
        call.finishSending()
        let expired = Locked(false)
        let watchdog = deadline.map { deadline in
            Task {
                try await Task.sleep(until: deadline)
                expired.value = true
                call.cancel()
            }
        }
        defer { watchdog?.cancel() }
        var size = 0
        do {
            for try await response in call.responses {
                let blob = Array(response.blob)
                try Syscall.writeAll(descriptor, blob, path: partial)
                size += blob.count
            }
        } catch let error as SystemError {
            await client.close()
            throw KVCtlError(.interrupted, "write \(partial): \(Self.goText(error.errno))")
        } catch {
            await client.close()
            throw KVCtlError(.interrupted, expired.value ? EtcdError.deadlineExceeded.message : EtcdError(error).message)
        }
        await client.close()
        return size
    }

    /// Go's text for an errno: the C library's, starting lower-case.
    static func goText(_ number: Int32) -> String {
        let text = String(cString: strerror(number))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
