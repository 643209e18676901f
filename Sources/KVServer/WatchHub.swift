import MVCC
import Synchronization

/// The registry of watchers behind every Watch stream.
///
/// `publish` runs on the node's loop thread for each applied write; it only
/// appends to per-watcher AsyncStreams (unbounded buffers), so a slow client
/// never holds up applying. A watcher that starts in the past is registered
/// before its history is read: live batches that arrive meanwhile wait in
/// `pending`, and those the history already covers are dropped, so it sees
/// every revision once, in order.
final class WatchHub: Sendable {
    /// The matching events of one revision: etcd sends a revision's events together.
    struct Batch: Sendable, Equatable {
        var revision: Int64
        var events: [Event]
    }

    /// etcd's NOPUT and NODELETE filters.
    struct Filters: Sendable, Equatable {
        var noPut = false
        var noDelete = false

        func passes(_ event: Event) -> Bool {
            switch event.kind {
            case .put: !noPut
            case .delete: !noDelete
            }
        }
    }

    /// A registered watcher: its batches, history first, then live ones.
    struct Subscription: Sendable {
        let id: UInt64
        let batches: AsyncStream<Batch>
        /// The store's revision when the watcher was synced, for the created reply's header.
        let revision: Int64
    }

    /// The start revision was compacted away: etcd cancels such a watcher with its compact_revision.
    struct Compacted: Error, Equatable {
        let compactRevision: Int64
        let currentRevision: Int64
    }

    private struct Watcher {
        var keys: KeyRange
        var filters: Filters
        var continuation: AsyncStream<Batch>.Continuation
        /// Revisions at or below it are already delivered; nil while catching up.
        var floor: Int64?
        var pending: [Batch] = []

        func matching(_ events: [Event], revision: Int64) -> Batch? {
            let matched = events.filter { keys.contains($0.kv.key) && filters.passes($0) }
            return matched.isEmpty ? nil : Batch(revision: revision, events: matched)
        }
    }

    private struct State: ~Copyable {
        var nextID: UInt64 = 1
        var watchers: [UInt64: Watcher] = [:]
    }

    private let state = Mutex(State())

    /// Hands the events of one applied write (all at `revision`) to the matching watchers.
    func publish(_ events: [Event], revision: Int64) {
        guard !events.isEmpty else { return }
        state.withLock { state in
            for id in Array(state.watchers.keys) {
                guard let watcher = state.watchers[id], let batch = watcher.matching(events, revision: revision) else { continue }
                if let floor = watcher.floor {
                    if revision > floor { watcher.continuation.yield(batch) }
                } else {
                    state.watchers[id]!.pending.append(batch)
                }
            }
        }
    }

    /// What a new watcher needs from the store: the revisions it already holds
    /// from the start asked for, as batches, and its current revision.
    struct History: Sendable {
        var batches: [Batch] = []
        var currentRevision: Int64

        /// Throws `Compacted` when `start` is below the compacted revision.
        init(_ store: Store, keys: KeyRange, from start: Int64, filters: Filters) throws(Compacted) {
            currentRevision = store.currentRevision
            guard start > 0 && start <= store.currentRevision else { return }
            do { batches = WatchHub.batches(try store.events(in: keys, from: start), filters: filters) } catch {
                throw Compacted(compactRevision: store.compactedRevision, currentRevision: store.currentRevision)
            }
        }
    }

    /// Runs a `History` computation against the store where it lives (the
    /// node's loop), so no copy of the store escapes.
    typealias StoreReader = (_ body: @escaping @Sendable (Store) throws -> History) async throws -> History

    /// Registers a watcher of `keys` from `start` (0: from now), serving the
    /// revisions the store already holds first.
    /// Throws `Compacted` when `start` is below the compacted revision.
    func watch(keys: KeyRange, from start: Int64, filters: Filters, read: StoreReader) async throws -> Subscription {
        let (batches, continuation) = AsyncStream.makeStream(of: Batch.self)
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.watchers[id] = Watcher(keys: keys, filters: filters, continuation: continuation)
            return id
        }
        // A consumer that goes away unregisters its watcher.
        continuation.onTermination = { [weak self] _ in self?.cancel(id) }
        do {
            let history = try await read { store in try History(store, keys: keys, from: start, filters: filters) }
            let floor = max(history.currentRevision, start - 1)
            state.withLock { state in
                guard var watcher = state.watchers[id] else { return }
                for batch in history.batches { continuation.yield(batch) }
                for batch in watcher.pending where batch.revision > floor { continuation.yield(batch) }
                watcher.pending = []
                watcher.floor = floor
                state.watchers[id] = watcher
            }
            return Subscription(id: id, batches: batches, revision: history.currentRevision)
        } catch {
            cancel(id)
            throw error
        }
    }

    /// Unregisters a watcher and ends its stream once drained.
    func cancel(_ id: UInt64) {
        // Finished outside the lock: finishing runs onTermination, which comes back here.
        let removed = state.withLock { $0.watchers.removeValue(forKey: id) }
        removed?.continuation.finish()
    }

    /// How many watchers are registered: streams that end must leave none behind.
    var watcherCount: Int { state.withLock { $0.watchers.count } }

    /// History events (in revision order) grouped per revision, filtered.
    private static func batches(_ events: [Event], filters: Filters) -> [Batch] {
        var batches: [Batch] = []
        for event in events where filters.passes(event) {
            let revision = event.kv.modRevision
            if batches.last?.revision == revision {
                batches[batches.count - 1].events.append(event)
            } else {
                batches.append(Batch(revision: revision, events: [event]))
            }
        }
        return batches
    }
}
