import CoreboxCore
import EtcdAPI
import GRPCWire

extension KVCtlCommand {
    static let leaseGrant = KVCtlCommand(["lease", "grant"], use: "<ttl>", "Creates leases") { run in
        guard run.arguments.count == 1 else { throw KVCtlError(.badArgs, "lease grant command needs TTL argument") }
        var request = Etcdserverpb_LeaseGrantRequest()
        do {
            request.ttl = try GoSyntax.parseInt(run.arguments[0], base: 10)
        } catch {
            throw KVCtlError(.badArgs, "bad TTL (\(error))")
        }
        let options = try run.clientOptions()
        let deadline = options.commandDeadline()
        let response = try await options.session(until: deadline, message: { "failed to grant lease (\($0))" }) { [request] client in
            try await client.call(EtcdRPC.leaseGrant, request, until: deadline)
        }
        Output.standardOutput(options.printer.grant(response))
    }

    static let leaseRevoke = KVCtlCommand(["lease", "revoke"], use: "<leaseID>", "Revokes leases") { run in
        guard run.arguments.count == 1 else { throw KVCtlError(.badArgs, "lease revoke command needs 1 argument") }
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = try leaseID(run.arguments[0])
        let options = try run.clientOptions()
        let deadline = options.commandDeadline()
        let response = try await options.session(until: deadline, message: { "failed to revoke lease (\($0))" }) { [request] client in
            try await client.call(EtcdRPC.leaseRevoke, request, until: deadline)
        }
        Output.standardOutput(options.printer.revoke(request.id, response))
    }

    static let leaseTimeToLive = KVCtlCommand(
        ["lease", "timetolive"], use: "<leaseID> [options]", "Get lease information",
        flags: [FlagSpec("keys", .bool, "Get keys attached to this lease")]
    ) { run in
        guard run.arguments.count == 1 else { throw KVCtlError(.badArgs, "lease timetolive command needs lease ID as argument") }
        var request = Etcdserverpb_LeaseTimeToLiveRequest()
        request.id = try leaseID(run.arguments[0])
        request.keys = run.flags.bool("keys")
        let options = try run.clientOptions()
        // etcdctl asks without a deadline, and fails with exit 2.
        let response = try await options.session(until: nil, failure: .badConnection) { [request] client in
            try await client.call(EtcdRPC.leaseTimeToLive, request, until: nil)
        }
        Output.standardOutput(options.printer.timeToLive(response, keys: request.keys))
    }

    static let leaseList = KVCtlCommand(["lease", "list"], "List all active leases") { run in
        let options = try run.clientOptions()
        let response = try await options.session(until: nil, failure: .badConnection) { try await $0.call(EtcdRPC.leaseLeases, .init(), until: nil) }
        Output.standardOutput(options.printer.leases(response))
    }

    static let leaseKeepAlive = KVCtlCommand(
        ["lease", "keep-alive"], use: "[options] <leaseID>", "Keeps leases alive (renew)",
        flags: [FlagSpec("once", .bool, "Resets the keep-alive time to its original value and exits immediately")]
    ) { run in
        guard run.arguments.count == 1 else { throw KVCtlError(.badArgs, "lease keep-alive command needs lease ID as argument") }
        let id = try leaseID(run.arguments[0])
        let options = try run.clientOptions()
        let keeper = LeaseKeeper(id: id, options: options)
        if run.flags.bool("once") {
            Output.standardOutput(options.printer.keepAlive(try await keeper.once()))
            return
        }
        await keeper.run()
        if options.printer is SimplePrinter {
            Output.standardOutput("lease \(SimplePrinter.leaseID(id)) expired or revoked.\n")
        }
    }

    /// A lease ID argument: hexadecimal, as etcdctl prints them.
    static func leaseID(_ text: String) throws(KVCtlError) -> Int64 {
        do {
            return try GoSyntax.parseInt(text, base: 16)
        } catch {
            throw KVCtlError(.badArgs, "bad lease ID arg (\(error)), expecting ID in Hex")
        }
    }
}

/// Keeps one lease alive as clientv3 does: a request on the keep-alive
/// stream, then another a third of the TTL after each answer; a lost
/// connection is made again. It ends when the server says the lease is
/// gone (TTL 0), or when no answer came within the TTL (5 s before the first).
struct LeaseKeeper {
    let id: Int64
    let options: ClientOptions

    private var request: Etcdserverpb_LeaseKeepAliveRequest {
        var request = Etcdserverpb_LeaseKeepAliveRequest()
        request.id = id
        return request
    }

    /// `--once`: one request and its answer; a lease the server does not
    /// have is an error (exit 2). Lost connections are retried, forever.
    func once() async throws -> Etcdserverpb_LeaseKeepAliveResponse {
        while true {
            let client = try await options.connect(until: nil, failure: .badConnection)
            let call = client.stream(EtcdRPC.leaseKeepAlive)
            call.send(request)
            do {
                var responses = call.responses.makeAsyncIterator()
                let answer = try await responses.next()
                call.cancel()
                await client.close()
                if let answer {
                    if answer.ttl <= 0 { throw KVCtlError(.badConnection, "etcdserver: requested lease not found") }
                    return answer
                }
            } catch let status as GRPCStatus where !status.isTransient {
                await client.close()
                throw KVCtlError(.badConnection, EtcdError(status).message)
            } catch let error as KVCtlError {
                throw error
            } catch {
                await client.close()
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Keeps the lease alive until it is gone or unanswered for its TTL.
    func run() async {
        let deadline = Locked(ContinuousClock.now + .seconds(5))
        while ContinuousClock.now < deadline.value {
            guard let client = try? await options.connect(until: deadline.value) else { return }
            let call = client.stream(EtcdRPC.leaseKeepAlive)
            // Ends the call when the deadline passes without an answer.
            let watchdog = Task {
                while !Task.isCancelled {
                    let left = deadline.value - .now
                    if left <= .zero {
                        call.cancel()
                        return
                    }
                    try? await Task.sleep(for: left)
                }
            }
            call.send(request)
            do {
                for try await response in call.responses {
                    if response.ttl <= 0 {
                        watchdog.cancel()
                        await client.close()
                        return
                    }
                    Output.standardOutput(options.printer.keepAlive(response))
                    deadline.value = .now + .seconds(response.ttl)
                    try await Task.sleep(for: max(.seconds(response.ttl) / 3, .milliseconds(500)))
                    call.send(request)
                }
            } catch {}
            watchdog.cancel()
            await client.close()
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
