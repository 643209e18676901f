import EtcdAPI
import GRPCWire
import MVCC
import SwiftProtobuf
import Synchronization

/// etcd's Watch service: one bidirectional stream multiplexes a client's watchers.
///
/// Every reply goes through one AsyncStream to a single writer task, since the
/// request loop, each watcher's forwarding task and the progress ticker all answer.
struct WatchService: Sendable {
    let node: ReplicatedNode<KVStateMachine>
    let hub: WatchHub
    /// The cluster and member IDs for response headers; the term is filled per response.
    let identity: ResponseHeaderContext
    /// How often progress_notify watchers get an empty response (etcd: 10 minutes).
    var progressInterval: Duration = .seconds(600)
    /// A watcher created with `fragment` gets larger responses in pieces of about this size.
    var maxRequestBytes = KVDConfiguration().maxRequestBytes

    func register(in methods: inout GRPCMethods) {
        methods.streaming("/etcdserverpb.Watch/Watch", watch)
    }

    func watch(
        request: GRPCRequests<Etcdserverpb_WatchRequest>,
        response: GRPCWriter<Etcdserverpb_WatchResponse>
    ) async throws {
        let (replies, sink) = AsyncStream.makeStream(of: Etcdserverpb_WatchResponse.self)
        let session = Session()
        // However the stream ends, its watchers go with it.
        defer {
            for hubID in session.removeAll() { hub.cancel(hubID) }
            sink.finish()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await reply in replies { response.write(reply) }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: progressInterval)
                    let ids = session.progressWatchers()
                    guard !ids.isEmpty else { continue }
                    let revision = try await node.currentRevision()
                    for id in ids { sink.yield(reply(id, revision: revision)) }
                }
            }
            for try await message in request {
                switch message.requestUnion {
                case .createRequest(let create):
                    guard let (watchID, subscription) = try await self.create(create, session: session, sink: sink) else { continue }
                    group.addTask {
                        for await batch in subscription.batches {
                            // A canceled watcher's buffered events are not sent after its canceled reply.
                            guard session.contains(watchID) else { break }
                            let response = reply(watchID, revision: batch.revision) {
                                $0.events = batch.events.map { Mvccpb_Event($0, prevKv: create.prevKv) }
                            }
                            for part in create.fragment ? Self.fragments(of: response, limit: maxRequestBytes) : [response] {
                                sink.yield(part)
                            }
                        }
                    }
                case .cancelRequest(let cancel):
                    guard let hubID = session.remove(cancel.watchID) else { continue }
                    hub.cancel(hubID)
                    let revision = try await node.currentRevision()
                    sink.yield(reply(cancel.watchID, revision: revision) { $0.canceled = true })
                case .progressRequest:
                    // Not tied to one watcher: etcd answers with watch_id -1.
                    sink.yield(reply(-1, revision: try await node.currentRevision()))
                case nil:
                    continue
                }
            }
            group.cancelAll()
        }
    }

    /// Registers a watcher and sends its created reply (then its cancel, for a
    /// duplicate ID or a compacted start); nil when it was not kept.
    private func create(
        _ create: Etcdserverpb_WatchCreateRequest, session: Session, sink: AsyncStream<Etcdserverpb_WatchResponse>.Continuation
    ) async throws -> (Int64, WatchHub.Subscription)? {
        guard let watchID = session.reserve(create.watchID, progressNotify: create.progressNotify) else {
            let revision = try await node.currentRevision()
            sink.yield(reply(create.watchID, revision: revision) {
                $0.created = true
                $0.canceled = true
                $0.cancelReason = "mvcc: duplicate watch ID provided on the WatchStream"
            })
            return nil
        }
        let filters = WatchHub.Filters(noPut: create.filters.contains(.noput), noDelete: create.filters.contains(.nodelete))
        let keys = KeyRange(key: Array(create.key), rangeEnd: Array(create.rangeEnd))
        do {
            let subscription = try await replicated {
                try await hub.watch(keys: keys, from: create.startRevision, filters: filters) { body in try await node.query { try body($0.store) } }
            }
            session.bind(watchID, to: subscription.id)
            // Created goes out before the forwarding task starts, so before any event.
            sink.yield(reply(watchID, revision: subscription.revision) { $0.created = true })
            return (watchID, subscription)
        } catch let compacted as WatchHub.Compacted {
            _ = session.remove(watchID)
            sink.yield(reply(watchID, revision: compacted.currentRevision) { $0.created = true })
            sink.yield(reply(watchID, revision: compacted.currentRevision) {
                $0.canceled = true
                $0.compactRevision = compacted.compactRevision
            })
            return nil
        } catch {
            _ = session.remove(watchID)
            throw error
        }
    }

    /// etcd's sendFragments: a response of `limit` bytes or more with several
    /// events goes out as consecutive responses of at most `limit` bytes (or
    /// one event), each but the last marked `fragment`.
    static func fragments(of response: Etcdserverpb_WatchResponse, limit: Int) -> [Etcdserverpb_WatchResponse] {
        guard response.events.count >= 2, size(of: response) >= limit else { return [response] }
        var empty = response
        empty.events = []
        empty.fragment = true
        let baseSize = size(of: empty)
        var parts: [Etcdserverpb_WatchResponse] = []
        var current = empty
        var currentSize = baseSize
        for event in response.events {
            // An event is field 11: a tag byte, its length as a varint, then the event.
            let eventSize = size(of: event)
            let cost = 1 + varintSize(eventSize) + eventSize
            if !current.events.isEmpty, currentSize + cost >= limit {
                parts.append(current)
                current = empty
                currentSize = baseSize
            }
            current.events.append(event)
            currentSize += cost
        }
        current.fragment = false
        parts.append(current)
        return parts
    }

    private static func size(of message: some SwiftProtobuf.Message) -> Int {
        // Encoding a message we built cannot fail.
        (try! message.serializedBytes() as [UInt8]).count
    }

    private static func varintSize(_ value: Int) -> Int {
        var size = 1
        var rest = value >> 7
        while rest > 0 { size += 1; rest >>= 7 }
        return size
    }

    private func reply(
        _ watchID: Int64, revision: Int64, fill: (inout Etcdserverpb_WatchResponse) -> Void = { _ in }
    ) -> Etcdserverpb_WatchResponse {
        var response = Etcdserverpb_WatchResponse()
        var context = identity
        context.raftTerm = node.currentStatistics.term
        response.header = context.header(revision: revision)
        response.watchID = watchID
        fill(&response)
        return response
    }

    /// One stream's watchers: the client's watch IDs and the hub's IDs behind them.
    private final class Session: Sendable {
        private struct Entry {
            var hubID: UInt64?
            var progressNotify: Bool
        }

        private struct State: ~Copyable {
            /// etcd's first automatic watch ID is 0.
            var nextID: Int64 = 0
            var watchers: [Int64: Entry] = [:]
        }

        private let state = Mutex(State())

        /// Claims `requested`, or the next free ID when it is 0 (etcd's AutoWatchID); nil if taken.
        func reserve(_ requested: Int64, progressNotify: Bool) -> Int64? {
            state.withLock { state in
                var id = requested
                if id == 0 {
                    while state.watchers[state.nextID] != nil { state.nextID += 1 }
                    id = state.nextID
                    state.nextID += 1
                } else if state.watchers[id] != nil {
                    return nil
                }
                state.watchers[id] = Entry(hubID: nil, progressNotify: progressNotify)
                return id
            }
        }

        func bind(_ id: Int64, to hubID: UInt64) {
            state.withLock { $0.watchers[id]?.hubID = hubID }
        }

        func contains(_ id: Int64) -> Bool {
            state.withLock { $0.watchers[id] != nil }
        }

        /// Forgets a watcher, returning its hub ID when it had one.
        func remove(_ id: Int64) -> UInt64? {
            state.withLock { $0.watchers.removeValue(forKey: id)?.hubID }
        }

        func removeAll() -> [UInt64] {
            state.withLock { state in
                defer { state.watchers.removeAll() }
                return state.watchers.values.compactMap(\.hubID)
            }
        }

        func progressWatchers() -> [Int64] {
            state.withLock { state in state.watchers.filter { $0.value.progressNotify && $0.value.hubID != nil }.map(\.key) }
        }
    }
}
