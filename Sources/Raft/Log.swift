/// The tail of the log the application has not yet persisted: entries, and possibly a
/// snapshot received from the leader. Everything here appears in the next `Ready`.
struct UnstableLog {
    var snapshot: Snapshot?
    var entries: [Entry] = []
    /// The index of `entries.first`, kept when `entries` is empty.
    var offset: UInt64

    var firstIndex: UInt64? { snapshot.map { $0.metadata.index + 1 } }

    var lastIndex: UInt64? {
        entries.isEmpty ? snapshot?.metadata.index : offset + UInt64(entries.count) - 1
    }

    func term(of index: UInt64) -> UInt64? {
        guard index >= offset else {
            return snapshot?.metadata.index == index ? snapshot?.metadata.term : nil
        }
        guard index < offset + UInt64(entries.count) else { return nil }
        return entries[Int(index - offset)].term
    }

    func slice(_ range: Range<UInt64>) -> ArraySlice<Entry> {
        entries[Int(range.lowerBound - offset)..<Int(range.upperBound - offset)]
    }

    /// Forgets entries the application has persisted, unless they were replaced meanwhile
    /// (the term no longer matches).
    mutating func markStable(through index: UInt64, term: UInt64) {
        guard index >= offset, self.term(of: index) == term else { return }
        entries.removeFirst(Int(index - offset) + 1)
        offset = index + 1
    }

    mutating func markSnapshotStable(at index: UInt64) {
        if snapshot?.metadata.index == index { snapshot = nil }
    }

    mutating func restore(_ snapshot: Snapshot) {
        self.snapshot = snapshot
        entries = []
        offset = snapshot.metadata.index + 1
    }

    /// Appends `newEntries`, replacing whatever they overlap from their first index on.
    mutating func truncateAndAppend(_ newEntries: [Entry]) {
        let start = newEntries[0].index
        if start <= offset {
            // Replaces every unstable entry, and possibly stable ones: storage overwrites those
            // when these are persisted.
            offset = start
            entries = newEntries
        } else {
            entries.removeSubrange(Int(start - offset)...)
            entries.append(contentsOf: newEntries)
        }
    }
}

/// The node's view of the log: the persisted part in storage followed by the unstable part,
/// with the commit and apply positions.
struct RaftLog {
    let storage: any RaftStorage
    var unstable: UnstableLog
    /// The highest index known to be stored on a quorum.
    var committed: UInt64
    /// The highest index the application has applied, as reported through `advance`.
    var applied: UInt64

    init(storage: any RaftStorage) {
        self.storage = storage
        unstable = UnstableLog(offset: storage.lastIndex + 1)
        committed = storage.firstIndex - 1
        applied = storage.firstIndex - 1
    }

    var firstIndex: UInt64 { unstable.firstIndex ?? storage.firstIndex }
    var lastIndex: UInt64 { unstable.lastIndex ?? storage.lastIndex }
    var lastTerm: UInt64 { knownTerm(of: lastIndex) }

    func term(of index: UInt64) throws(StorageError) -> UInt64 {
        guard index >= firstIndex - 1 else { throw .compacted }
        guard index <= lastIndex else { throw .unavailable }
        if let term = unstable.term(of: index) { return term }
        return try storage.term(of: index)
    }

    /// The term at an index the caller knows to be in the log.
    func knownTerm(of index: UInt64) -> UInt64 {
        do { return try term(of: index) } catch { preconditionFailure("term of \(index): \(error)") }
    }

    func matchesTerm(at index: UInt64, _ term: UInt64) -> Bool {
        (try? self.term(of: index)) == term
    }

    /// Entries from `index` on, at most `maxCount`; throws `.compacted` if `index` is gone.
    func entries(from index: UInt64, maxCount: Int) throws(StorageError) -> [Entry] {
        guard index <= lastIndex else { return [] }
        return try slice(index..<min(lastIndex + 1, index + UInt64(maxCount)))
    }

    func slice(_ range: Range<UInt64>) throws(StorageError) -> [Entry] {
        guard range.lowerBound >= firstIndex else { throw .compacted }
        precondition(range.upperBound <= lastIndex + 1, "slice \(range) beyond last index \(lastIndex)")
        var result: [Entry] = []
        if range.lowerBound < unstable.offset {
            result = try storage.entries(in: range.lowerBound..<min(range.upperBound, unstable.offset))
        }
        if range.upperBound > unstable.offset {
            result += unstable.slice(max(range.lowerBound, unstable.offset)..<range.upperBound)
        }
        return result
    }

    func snapshot() throws(StorageError) -> Snapshot {
        if let snapshot = unstable.snapshot { return snapshot }
        return try storage.snapshot()
    }

    /// Raft's election restriction: a candidate must hold every committed entry, which a
    /// voter can only judge by comparing last terms, then lengths.
    func isUpToDate(lastIndex candidateIndex: UInt64, lastTerm candidateTerm: UInt64) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    /// The largest index at or below `index` whose term is at most `term`, with that term;
    /// the term is 0 where it is unknown (compacted), meaning "possibly a match".
    func lastIndex(atOrBefore index: UInt64, withTermAtMost term: UInt64) -> (index: UInt64, term: UInt64) {
        var candidate = index
        while candidate > 0 {
            guard let candidateTerm = try? self.term(of: candidate) else { return (candidate, 0) }
            if candidateTerm <= term { return (candidate, candidateTerm) }
            candidate -= 1
        }
        return (0, 0)
    }

    var hasPendingSnapshot: Bool { unstable.snapshot != nil }

    /// Whether committed entries await applying. None do while a snapshot waits to be
    /// persisted: it must be applied first, and the entries it covers are gone.
    var hasEntriesToApply: Bool { !hasPendingSnapshot && committed > applied }

    func entriesToApply() -> [Entry] {
        guard hasEntriesToApply else { return [] }
        do { return try slice(applied + 1..<committed + 1) } catch {
            preconditionFailure("applying \(applied + 1)...\(committed): \(error)")
        }
    }

    /// The follower's side of the consistency check: if the leader's entry before `entries`
    /// matches ours, take `entries` (replacing a conflicting suffix) and return the last index
    /// now known to match the leader's log.
    mutating func appendIfConsistent(_ request: AppendRequest) -> UInt64? {
        guard matchesTerm(at: request.previousIndex, request.previousTerm) else { return nil }
        let lastNewIndex = request.previousIndex + UInt64(request.entries.count)
        if let conflict = request.entries.firstIndex(where: { !matchesTerm(at: $0.index, $0.term) }) {
            append(Array(request.entries[conflict...]))
        }
        commit(to: min(request.commit, lastNewIndex))
        return lastNewIndex
    }

    mutating func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        precondition(first.index > committed, "overwriting committed entry \(first.index) (committed \(committed))")
        unstable.truncateAndAppend(entries)
    }

    mutating func commit(to index: UInt64) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
        committed = index
    }

    /// The leader's commit rule: only an entry of the current term is committed by counting
    /// replicas; earlier ones follow with it (Raft §5.4.2).
    mutating func commitIfCurrentTerm(_ index: UInt64, term: UInt64) -> Bool {
        guard index > committed, matchesTerm(at: index, term) else { return false }
        committed = index
        return true
    }

    mutating func markApplied(through index: UInt64) {
        guard index > applied else { return }
        precondition(index <= committed, "applied \(index) beyond commit \(committed)")
        applied = index
    }

    mutating func restore(_ snapshot: Snapshot) {
        committed = snapshot.metadata.index
        unstable.restore(snapshot)
    }
}
