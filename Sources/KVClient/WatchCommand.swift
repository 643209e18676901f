import CoreboxCore
import EtcdAPI
import FoundationEssentials
import GRPCWire

extension KVCtlCommand {
    /// `watch`: prints each event as it comes until killed. A lost
    /// connection is made again and the watch resumes after the last event
    /// seen; only a compaction or an error from the server ends it (exit 5).
    static let watch = KVCtlCommand(
        ["watch"], use: "[options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
        "Watches events stream on keys or prefixes",
        flags: [
            FlagSpec("interactive", .bool, shorthand: "i", "Interactive mode"),
            FlagSpec("prefix", .bool, "Watch on a prefix if prefix is set"),
            FlagSpec("rev", .int64, "Revision to start watching"),
            FlagSpec("prev-kv", .bool, "get the previous key-value pair before the event happens"),
        ]
    ) { run in
        let request = try WatchSession.request(run)
        let options = try run.clientOptions(extraVariables: ["ETCDCTL_WATCH_KEY", "ETCDCTL_WATCH_RANGE_END"])
        try await WatchSession(request: request, options: options).run()
    }
}

struct WatchSession {
    var request: Etcdserverpb_WatchCreateRequest
    let options: ClientOptions

    /// The watch the arguments (or ETCDCTL_WATCH_KEY and _RANGE_END) ask for.
    static func request(_ run: CommandRun) throws(KVCtlError) -> Etcdserverpb_WatchCreateRequest {
        let environmentKey = run.environment["ETCDCTL_WATCH_KEY"] ?? ""
        let environmentEnd = run.environment["ETCDCTL_WATCH_RANGE_END"] ?? ""
        if environmentKey.isEmpty && !environmentEnd.isEmpty {
            throw KVCtlError(.badArgs, "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=\(GoSyntax.quote(environmentEnd))")
        }
        if run.flags.bool("interactive") {
            throw KVCtlError(.badFeature, "kvctl does not support watch --interactive")
        }
        var arguments = run.arguments
        if let terminator = run.terminator {
            if terminator == arguments.count {
                throw KVCtlError(.badArgs, "bad number of arguments (found separator --, but no commands)")
            }
            throw KVCtlError(.badFeature, "kvctl does not run commands on watch events (arguments after --)")
        }
        if !environmentKey.isEmpty {
            if !arguments.isEmpty { throw KVCtlError(.badArgs, "bad number of arguments (found conflicting environment key)") }
            arguments = [environmentKey] + (environmentEnd.isEmpty ? [] : [environmentEnd])
        }
        guard let key = arguments.first else { throw KVCtlError(.badArgs, "bad number of arguments") }
        let prefix = run.flags.bool("prefix")
        if arguments.count == 2 && prefix {
            throw KVCtlError(.badArgs, "`range_end` and `--prefix` are mutually exclusive")
        }
        var request = Etcdserverpb_WatchCreateRequest()
        (request.key, request.rangeEnd) = KVRequests.keyRange(key, end: arguments.count == 2 ? arguments[1] : nil, prefix: prefix, fromKey: false)
        request.startRevision = run.flags.int64("rev")
        request.prevKv = run.flags.bool("prev-kv")
        return request
    }

    /// Watches until the server ends the watch; reconnects when the
    /// connection is lost (clientv3 does the same: only errors other than
    /// Unavailable and Internal stop it).
    func run() async throws {
        var request = self.request
        while true {
            let client = try await options.connect(until: nil, failure: .badConnection)
            let call = client.stream(EtcdRPC.watch)
            var create = Etcdserverpb_WatchRequest()
            create.createRequest = request
            call.send(create)
            do {
                for try await response in call.responses {
                    try handle(response, resumeFrom: &request)
                }
            } catch let status as GRPCStatus where !status.isTransient {
                await client.close()
                Output.standardError("watch was canceled (\(EtcdError(status).message))\n")
                throw KVCtlError(.interrupted, "watch is canceled by the server")
            } catch let error as KVCtlError {
                await client.close()
                throw error
            } catch {}
            await client.close()
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Prints one response; `request` moves on past its events, so a new
    /// connection resumes where this one stopped.
    private func handle(_ response: Etcdserverpb_WatchResponse, resumeFrom request: inout Etcdserverpb_WatchCreateRequest) throws(KVCtlError) {
        if response.created && !response.canceled {
            if request.startRevision == 0 { request.startRevision = response.header.revision + 1 }
            return
        }
        if response.canceled {
            // clientv3 hands a cancelled watch to etcdctl only when compaction cancelled it.
            if response.compactRevision != 0 {
                Output.standardError("watch was canceled (etcdserver: mvcc: required revision has been compacted)\n")
                Output.standardOutput(options.printer.watch(response))
            }
            throw KVCtlError(.interrupted, "watch is canceled by the server")
        }
        if response.events.isEmpty && response.compactRevision == 0 && response.header.revision != 0 {
            Output.standardOutput("progress notify: \(response.header.revision)\n")
        }
        Output.standardOutput(options.printer.watch(response))
        if let last = response.events.last { request.startRevision = last.kv.modRevision + 1 }
    }
}
