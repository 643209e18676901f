public enum StorageError: Error, Hashable, Sendable {
    /// The requested index lies before the first entry; it was folded into a snapshot.
    case compacted
    /// The requested index lies after the last entry.
    case unavailable
    /// The snapshot being applied or created is not newer than the one held.
    case snapshotOutOfDate
    /// The snapshot is being produced; the leader retries on a later round.
    case snapshotTemporarilyUnavailable
}

/// The durable log as the node reads it. The application writes to it (entries, hard state,
/// snapshots from `Ready`) and compacts it; the node only reads, so a storage whose reads are
/// served from memory (with its own write-ahead log behind it) fits naturally.
///
/// Indexes follow one convention: the entry at `firstIndex - 1` is the last one folded into
/// the snapshot, and `term(of: firstIndex - 1)` still answers (the log-matching check needs it).
public protocol RaftStorage {
    /// The hard state saved last, or the zero value on a fresh start.
    func initialState() -> HardState
    /// Entries with indexes in `range`, all of them; `range` lies within `firstIndex...lastIndex + 1`.
    func entries(in range: Range<UInt64>) throws(StorageError) -> [Entry]
    /// The term of the entry at `index`, for `index` in `firstIndex - 1 ... lastIndex`.
    func term(of index: UInt64) throws(StorageError) -> UInt64
    var firstIndex: UInt64 { get }
    var lastIndex: UInt64 { get }
    /// The most recent snapshot, sent to followers that need compacted entries.
    func snapshot() throws(StorageError) -> Snapshot
}

/// A `RaftStorage` held in memory. It is a class because the node and the application share
/// it: the application writes what `Ready` hands it and the node reads it back. Like the node,
/// it belongs to one isolation domain.
public final class MemoryStorage: RaftStorage {
    public private(set) var hardState = HardState()
    private var currentSnapshot = Snapshot()
    /// `log[0]` stands for the last compacted entry (index and term only), so that
    /// `term(of: firstIndex - 1)` answers without a special case.
    private var log = [Entry(term: 0, index: 0)]

    public init() {}

    public func initialState() -> HardState { hardState }

    public var firstIndex: UInt64 { log[0].index + 1 }
    public var lastIndex: UInt64 { log[0].index + UInt64(log.count - 1) }

    public func entries(in range: Range<UInt64>) throws(StorageError) -> [Entry] {
        guard range.lowerBound > log[0].index else { throw .compacted }
        precondition(range.upperBound <= lastIndex + 1, "entries \(range) beyond last index \(lastIndex)")
        return Array(log[position(of: range.lowerBound)..<position(of: range.upperBound)])
    }

    public func term(of index: UInt64) throws(StorageError) -> UInt64 {
        guard index >= log[0].index else { throw .compacted }
        guard index <= lastIndex else { throw .unavailable }
        return log[position(of: index)].term
    }

    public func snapshot() throws(StorageError) -> Snapshot { currentSnapshot }

    public func setHardState(_ state: HardState) {
        hardState = state
    }

    /// Appends `entries`, first dropping any suffix they replace: a follower's uncommitted
    /// entries from an old term are overwritten by the leader's. Compacted entries are skipped.
    public func append(_ entries: [Entry]) {
        let newEntries = entries.drop { $0.index <= log[0].index }
        guard let first = newEntries.first else { return }
        precondition(first.index <= lastIndex + 1, "gap: appending \(first.index) after \(lastIndex)")
        log.removeSubrange(position(of: first.index)...)
        log.append(contentsOf: newEntries)
    }

    /// Replaces the whole log by `snapshot`, as a follower does when the leader sends one.
    public func applySnapshot(_ snapshot: Snapshot) throws(StorageError) {
        guard snapshot.metadata.index > currentSnapshot.metadata.index else { throw .snapshotOutOfDate }
        currentSnapshot = snapshot
        log = [Entry(term: snapshot.metadata.term, index: snapshot.metadata.index)]
    }

    /// Records a snapshot of the application's state at `index` (an applied index), which the
    /// leader then sends to followers whose entries were compacted away.
    @discardableResult
    public func createSnapshot(at index: UInt64, voters: [NodeID], data: [UInt8]) throws(StorageError) -> Snapshot {
        guard index > currentSnapshot.metadata.index else { throw .snapshotOutOfDate }
        let metadata = SnapshotMetadata(index: index, term: try term(of: index), voters: voters)
        currentSnapshot = Snapshot(metadata: metadata, data: data)
        return currentSnapshot
    }

    /// Discards entries up to and including `index`. Call only for applied indexes covered by
    /// a snapshot, or a lagging follower could not be caught up.
    public func compact(upTo index: UInt64) throws(StorageError) {
        guard index > log[0].index else { throw .compacted }
        precondition(index <= lastIndex, "compact \(index) beyond last index \(lastIndex)")
        let position = position(of: index)
        log[position].data = []
        log.removeFirst(position)
    }

    private func position(of index: UInt64) -> Int { Int(index - log[0].index) }
}
