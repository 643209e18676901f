import TestSupport
import EtcdAPI
import Foundation
import Glibc
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCWire
import EtcdGRPCStubs
import MVCC
import Synchronization
import Testing
@testable import KVServer

/// kvd's Watch service: WatchHub on its own, then the real etcdctl and python-etcd3.
@Suite(.serialized) struct WatchTests {
    // MARK: WatchHub

    static func event(_ key: String, _ revision: Int64, delete: Bool = false) -> Event {
        Event(kind: delete ? .delete : .put, kv: KeyValue(key: Array(key.utf8), modRevision: revision))
    }

    /// The first `count` batches of a subscription; none if they do not all
    /// come within `window` (long: a parallel run can hold the thread pool for seconds).
    static func take(_ count: Int, from subscription: WatchHub.Subscription, within window: Duration = .seconds(10)) async -> [WatchHub.Batch] {
        await withTaskGroup(of: [WatchHub.Batch].self) { group in
            group.addTask {
                var batches: [WatchHub.Batch] = []
                for await batch in subscription.batches {
                    batches.append(batch)
                    if batches.count == count { break }
                }
                return batches
            }
            group.addTask {
                try? await Task.sleep(for: window)
                return []
            }
            let first = await group.next() ?? []
            group.cancelAll()
            return first
        }
    }

    @Test func hubMatchesRangesAndFilters() async throws {
        let hub = WatchHub()
        let prefix = try await hub.watch(keys: .prefix(Array("foo/".utf8)), from: 0, filters: .init()) { try $0(Store()) }
        let noDelete = try await hub.watch(keys: .single(Array("foo/a".utf8)), from: 0, filters: .init(noDelete: true)) { try $0(Store()) }
        let noPut = try await hub.watch(keys: .from(Array("foo/".utf8)), from: 0, filters: .init(noPut: true)) { try $0(Store()) }
        hub.publish([Self.event("foo/a", 2), Self.event("bar", 2)], revision: 2)
        hub.publish([Self.event("zzz", 3, delete: true)], revision: 3)
        hub.publish([Self.event("foo/a", 4, delete: true), Self.event("foo/b", 4, delete: true)], revision: 4)
        let fromPrefix = await Self.take(2, from: prefix)
        #expect(fromPrefix.map(\.revision) == [2, 4])
        #expect(fromPrefix.first?.events.map(\.kv.key) == [Array("foo/a".utf8)])
        #expect(fromPrefix.last?.events.count == 2)
        #expect(await Self.take(1, from: noDelete).map(\.revision) == [2])
        let fromNoPut = await Self.take(2, from: noPut)
        #expect(fromNoPut.map(\.revision) == [3, 4])
        #expect(fromNoPut.first?.events.map(\.kv.key) == [Array("zzz".utf8)])
        hub.cancel(prefix.id)
        hub.publish([Self.event("foo/c", 5)], revision: 5)
        #expect(await Self.take(1, from: prefix, within: .seconds(1)).isEmpty)
    }

    /// A watcher starting in the past while writes go on sees every revision once, in order.
    @Test func hubCatchUpHasNoGapsOrDuplicates() async throws {
        let directory = DataDirectory()
        let hub = WatchHub()
        var options = ReplicatedNode<KVStateMachine>.Options()
        options.segmentSize = 1 << 20
        let node = try ReplicatedNode<KVStateMachine>(directory: directory.path, options: options, restore: KVStateMachine.restoreWithDefaults) { output, _ in
            hub.publish(output.events, revision: output.revision)
        }
        defer { node.stop() }
        let writes = 200
        let writer = Task {
            for i in 0..<writes {
                var put = Etcdserverpb_PutRequest()
                put.key = Data("k\(i % 7)".utf8)
                put.value = Data("\(i)".utf8)
                _ = try await node.propose(.put(put))
            }
        }
        // Start while the writer is part-way through.
        while try await node.query({ $0.store.currentRevision }) < 50 { try await Task.sleep(for: .milliseconds(1)) }
        // Writes land both before the history is read (already in it) and after (not yet):
        // both reach the watcher's buffer while it catches up.
        let subscription = try await hub.watch(keys: .prefix(Array("k".utf8)), from: 2, filters: .init()) { body in
            try await Task.sleep(for: .milliseconds(30))
            let history = try await node.query { try body($0.store) }
            try await Task.sleep(for: .milliseconds(30))
            return history
        }
        try await writer.value
        // Every write was published before its propose returned: ending the stream now keeps them all.
        hub.cancel(subscription.id)
        var revisions: [Int64] = []
        for await batch in subscription.batches { revisions.append(batch.revision) }
        #expect(revisions == Array(2...Int64(writes) + 1))
    }

    @Test func hubRefusesACompactedStart() async throws {
        var store = Store()
        for i in 0..<3 { _ = try store.put(PutRequest(key: Array("a".utf8), value: [UInt8(i)])) }
        _ = try store.compact(3)
        let compacted = store
        let hub = WatchHub()
        await #expect(throws: WatchHub.Compacted(compactRevision: 3, currentRevision: 4)) {
            _ = try await hub.watch(keys: .single(Array("a".utf8)), from: 2, filters: .init()) { try $0(compacted) }
        }
        #expect(hub.watcherCount == 0)
        let atCompaction = try await hub.watch(keys: .single(Array("a".utf8)), from: 3, filters: .init()) { try $0(compacted) }
        #expect(await Self.take(2, from: atCompaction).map(\.revision) == [3, 4])
    }

    // MARK: Real clients

    /// A long-running client whose output is collected as it comes.
    /// Unchecked: `process` is used only by the test's own task; the output handlers touch the mutex alone.
    final class Background: @unchecked Sendable {
        let process: Process
        private let output = Mutex((stdout: "", stderr: ""))

        init(_ executable: String, _ arguments: [String]) throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            out.fileHandleForReading.readabilityHandler = { [self] handle in
                let text = String(decoding: handle.availableData, as: UTF8.self)
                output.withLock { $0.stdout += text }
            }
            err.fileHandleForReading.readabilityHandler = { [self] handle in
                let text = String(decoding: handle.availableData, as: UTF8.self)
                output.withLock { $0.stderr += text }
            }
            try process.run()
        }

        static func etcdctl(_ port: Int, _ arguments: [String]) throws -> Background {
            try Background("/usr/bin/etcdctl", ["--endpoints=127.0.0.1:\(port)", "--dial-timeout=5s"] + arguments)
        }

        var stdout: String { output.withLock { $0.stdout } }
        var stderr: String { output.withLock { $0.stderr } }

        /// Waits up to `timeout` for `condition` on (stdout, stderr); true if it came.
        func wait(timeout: Duration = .seconds(5), until condition: (String, String) -> Bool) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let (out, err) = output.withLock { ($0.stdout, $0.stderr) }
                if condition(out, err) { return true }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return false
        }

        /// SIGKILL: the test runner's children inherit a mask that blocks SIGTERM.
        func kill() {
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    /// Waits until the hub holds `count` watchers.
    static func watchers(_ hub: WatchHub, reach count: Int) async -> Bool {
        for _ in 0..<250 {
            if hub.watcherCount == count { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    static func put(_ port: Int, _ key: String, _ value: String) async throws {
        let run = try await Clients.etcdctl(port, ["put", key, value])
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// A node, its hub and a gRPC server with KV and Watch on an ephemeral loopback port.
    static func withServer(_ body: @Sendable (Int, WatchHub) async throws -> Void) async throws {
        let directory = DataDirectory()
        let hub = WatchHub()
        var options = ReplicatedNode<KVStateMachine>.Options()
        options.segmentSize = 1 << 20
        let node = try ReplicatedNode<KVStateMachine>(directory: directory.path, options: options, restore: KVStateMachine.restoreWithDefaults) { output, _ in
            hub.publish(output.events, revision: output.revision)
        }
        defer { node.stop() }
        let identity = ResponseHeaderContext(clusterID: 0x1000, memberID: 0x2000, raftTerm: 0)
        var methods = GRPCMethods()
        KVService(node: node, identity: identity, alarms: Alarms()).register(in: &methods)
        // A small request limit, so that a few KiB of events make a watcher with `fragment` split them.
        WatchService(node: node, hub: hub, identity: identity, progressInterval: .milliseconds(200), maxRequestBytes: 4096)
            .register(in: &methods)
        let server = try await GRPCWire.GRPCServer.bind(host: "127.0.0.1", port: 0, methods: methods, messageLimit: 1 << 20)
        do {
            try await body(server.port, hub)
        } catch {
            await server.close()
            throw error
        }
        await server.close()
    }

    @Test func etcdctlWatchesAPrefixLive() async throws {
        try await Self.withServer { port, hub in
            let watch = try Background.etcdctl(port, ["watch", "foo", "--prefix"])
            defer { watch.kill() }
            #expect(await Self.watchers(hub, reach: 1))
            try await Self.put(port, "foo/a", "1")
            try await Self.put(port, "bar", "x")
            #expect(try await Clients.etcdctl(port, ["del", "foo/a"]).stdout == "1\n")
            let expected = "PUT\nfoo/a\n1\nDELETE\nfoo/a\n\n"
            #expect(await watch.wait { out, _ in out == expected }, "\(watch.stdout) \(watch.stderr)")
            watch.kill()
            // The closed stream takes its watcher with it.
            #expect(await Self.watchers(hub, reach: 0))
        }
    }

    @Test func etcdctlWatchFromThePastWithPrevKv() async throws {
        try await Self.withServer { port, hub in
            try await Self.put(port, "a", "1")
            try await Self.put(port, "a", "2")
            let watch = try Background.etcdctl(port, ["watch", "a", "--rev=2", "--prev-kv"])
            defer { watch.kill() }
            #expect(await watch.wait { out, _ in out == "PUT\na\n1\nPUT\na\n1\na\n2\n" }, "\(watch.stdout) \(watch.stderr)")
            try await Self.put(port, "a", "3")
            #expect(await watch.wait { out, _ in out == "PUT\na\n1\nPUT\na\n1\na\n2\nPUT\na\n2\na\n3\n" }, "\(watch.stdout)")
        }
    }

    @Test func etcdctlWatchFromACompactedRevisionIsCanceled() async throws {
        try await Self.withServer { port, hub in
            for value in ["1", "2", "3"] { try await Self.put(port, "a", value) }
            #expect(try await Clients.etcdctl(port, ["compaction", "3"]).status == 0)
            let watch = try Background.etcdctl(port, ["watch", "a", "--rev=2"])
            defer { watch.kill() }
            #expect(await watch.wait { _, err in err.contains("required revision has been compacted") }, "\(watch.stderr)")
            #expect(watch.stdout == "")
            #expect(hub.watcherCount == 0)
        }
    }

    /// python-etcd3 blocks in watch() until the created reply names its watch ID.
    @Test func pythonEtcd3WatchesAfterTheCreatedReply() async throws {
        try await Self.withServer { port, hub in
            let script = """
                import etcd3
                c = etcd3.client(port=\(port), timeout=5)
                events, cancel = c.watch('key')
                print('created', flush=True)
                for e in events:
                    print(type(e).__name__, e.key.decode(), e.value.decode(), flush=True)
                    break
                cancel()
                print('done', flush=True)
                """
            let python = try Background("/usr/bin/python3", ["-c", script])
            defer { python.kill() }
            #expect(await python.wait { out, _ in out.contains("created") }, "\(python.stderr)")
            try await Self.put(port, "other", "x")
            try await Self.put(port, "key", "v")
            #expect(await python.wait { out, _ in out == "created\nPutEvent key v\ndone\n" }, "\(python.stdout) \(python.stderr)")
            #expect(await Self.watchers(hub, reach: 0))
        }
    }

    /// A progress_notify watcher gets empty responses at the current revision (every 200 ms here).
    @Test func progressNotifyReachesPythonEtcd3() async throws {
        try await Self.withServer { port, _ in
            try await Self.put(port, "x", "1")
            let script = """
                import etcd3, time
                c = etcd3.client(port=\(port), timeout=5)
                def seen(response):
                    print('events', len(response.events), 'revision', response.header.revision, flush=True)
                c.add_watch_callback('p', seen, progress_notify=True)
                time.sleep(30)
                """
            let python = try Background("/usr/bin/python3", ["-c", script])
            defer { python.kill() }
            let notified = await python.wait { out, _ in out.components(separatedBy: "events 0 revision 2\n").count >= 3 }
            #expect(notified, "\(python.stdout) \(python.stderr)")
        }
    }

    static func create(_ key: String, watchID: Int64) -> Etcdserverpb_WatchRequest {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data(key.utf8)
        create.watchID = watchID
        var request = Etcdserverpb_WatchRequest()
        request.createRequest = create
        return request
    }

    /// What etcdctl and python-etcd3 do not send: client-chosen IDs, progress and cancel requests.
    @Test func grpcClientIDsProgressAndCancel() async throws {
        try await Self.withServer { port, hub in
            try await Self.put(port, "x", "1")
            let (requests, send) = AsyncStream.makeStream(of: Etcdserverpb_WatchRequest.self)
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
                let watch = Etcdserverpb_Watch.Client(wrapping: client)
                try await watch.watch { writer in
                    for await request in requests { try await writer.write(request) }
                } onResponse: { response in
                    var replies = response.messages.makeAsyncIterator()
                    send.yield(Self.create("a", watchID: 7))
                    let created = try await replies.next()
                    #expect(created?.created == true && created?.watchID == 7 && created?.header.revision == 2)
                    #expect(created?.header.clusterID == 0x1000)
                    send.yield(Self.create("b", watchID: 7))
                    let duplicate = try await replies.next()
                    #expect(duplicate?.created == true && duplicate?.canceled == true && duplicate?.watchID == 7)
                    send.yield(Self.create("c", watchID: 0))
                    #expect(try await replies.next()?.watchID == 0)
                    var progress = Etcdserverpb_WatchRequest()
                    progress.progressRequest = Etcdserverpb_WatchProgressRequest()
                    send.yield(progress)
                    let notified = try await replies.next()
                    #expect(notified?.watchID == -1 && notified?.header.revision == 2 && notified?.events.isEmpty == true)
                    #expect(hub.watcherCount == 2)
                    var cancel = Etcdserverpb_WatchRequest()
                    cancel.cancelRequest.watchID = 7
                    send.yield(cancel)
                    let canceled = try await replies.next()
                    #expect(canceled?.watchID == 7 && canceled?.canceled == true)
                    #expect(hub.watcherCount == 1)
                    send.finish()
                }
            }
            #expect(await Self.watchers(hub, reach: 0))
        }
    }

    /// One txn of three 2 KiB puts: a watcher with `fragment` gets it in
    /// pieces under the 4 KiB limit, one without gets it whole.
    @Test func grpcFragmentedWatch() async throws {
        try await Self.withServer { port, hub in
            let (requests, send) = AsyncStream.makeStream(of: Etcdserverpb_WatchRequest.self)
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
                let watch = Etcdserverpb_Watch.Client(wrapping: client)
                let kv = Etcdserverpb_KV.Client(wrapping: client)
                try await watch.watch { writer in
                    for await request in requests { try await writer.write(request) }
                } onResponse: { response in
                    var replies = response.messages.makeAsyncIterator()
                    var fragmented = Self.create("k", watchID: 1)
                    fragmented.createRequest.rangeEnd = Data("l".utf8)
                    fragmented.createRequest.fragment = true
                    var whole = Self.create("k", watchID: 2)
                    whole.createRequest.rangeEnd = Data("l".utf8)
                    send.yield(fragmented)
                    send.yield(whole)
                    #expect(try await replies.next()?.created == true)
                    #expect(try await replies.next()?.created == true)
                    var txn = Etcdserverpb_TxnRequest()
                    txn.success = (1...3).map { number in
                        var op = Etcdserverpb_RequestOp()
                        op.requestPut.key = Data("k\(number)".utf8)
                        op.requestPut.value = Data(repeating: 0x61, count: 2048)
                        return op
                    }
                    _ = try await kv.txn(txn)
                    var received: [Int64: [Etcdserverpb_WatchResponse]] = [:]
                    while received[1]?.last?.fragment != false || received[2] == nil {
                        guard let reply = try await replies.next() else { break }
                        received[reply.watchID, default: []].append(reply)
                    }
                    let pieces = received[1] ?? []
                    #expect(pieces.count == 3)
                    #expect(pieces.map(\.fragment) == [true, true, false])
                    #expect(pieces.flatMap(\.events).map { String(decoding: $0.kv.key, as: UTF8.self) } == ["k1", "k2", "k3"])
                    #expect(received[2]?.map(\.events.count) == [3])
                    send.finish()
                }
            }
            #expect(await Self.watchers(hub, reach: 0))
        }
    }
}

/// etcd's watch fragments: a large response split for a watcher that asked for it.
@Suite struct WatchFragmentTests {
    static func response(events: Int, valueSize: Int) -> Etcdserverpb_WatchResponse {
        var response = Etcdserverpb_WatchResponse()
        response.watchID = 7
        response.header.revision = 42
        response.events = (0..<events).map { number in
            var event = Mvccpb_Event()
            event.kv.key = .init("key\(number)".utf8)
            event.kv.value = .init(repeating: 1, count: valueSize)
            return event
        }
        return response
    }

    @Test func aLargeResponseGoesInPiecesUnderTheLimitAllButTheLastMarked() throws {
        let response = Self.response(events: 10, valueSize: 300)
        let parts = WatchService.fragments(of: response, limit: 1000)
        #expect(parts.count == 4)
        #expect(parts.dropLast().allSatisfy { $0.fragment })
        #expect(parts.last?.fragment == false)
        #expect(parts.flatMap(\.events) == response.events)
        for part in parts {
            #expect(part.watchID == 7 && part.header.revision == 42)
            let bytes: [UInt8] = try part.serializedBytes()
            #expect(bytes.count < 1000)
        }
    }

    @Test func smallResponsesAndSingleEventsAreSentWhole() {
        let small = Self.response(events: 3, valueSize: 10)
        #expect(WatchService.fragments(of: small, limit: 1000) == [small])
        let single = Self.response(events: 1, valueSize: 5000)
        #expect(WatchService.fragments(of: single, limit: 1000) == [single])
        // An event larger than the limit goes in a piece of its own.
        let mixed = Self.response(events: 3, valueSize: 600)
        #expect(WatchService.fragments(of: mixed, limit: 500).map(\.events.count) == [1, 1, 1])
    }
}
