/// One retained change to a key: a put (the full new state) or a tombstone.
struct Change: Hashable, Sendable {
    var revision: Revision
    /// For a tombstone only `key` and `modRevision` are set, which is also the DELETE event's kv.
    var kv: KeyValue
    var isTombstone: Bool

    var liveValue: KeyValue? { isTombstone ? nil : kv }
}

/// A key's retained changes, oldest first, revisions strictly increasing.
/// It plays the role of etcd's keyIndex generations: a tombstone ends a
/// generation, and the next put starts a new one with version 1.
struct KeyHistory: Sendable {
    var changes: [Change]

    /// The key's state as of `revision` (nil when absent or deleted then).
    func value(at revision: Int64) -> KeyValue? {
        // Reads at the current revision are the common case: check the newest first.
        guard let newest = changes.last else { return nil }
        if newest.revision.main <= revision { return newest.liveValue }
        guard let index = lastIndex(atOrBefore: revision) else { return nil }
        return changes[index].liveValue
    }

    var latest: KeyValue? { changes.last?.liveValue }

    private func lastIndex(atOrBefore revision: Int64) -> Int? {
        var low = 0
        var high = changes.count
        while low < high {
            let middle = (low + high) / 2
            if changes[middle].revision.main <= revision { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }

    /// Drops what a compaction at `revision` makes unreachable: everything older than
    /// the newest change at or before it, and that one too when it is a tombstone
    /// (etcd's keyIndex.compact). Returns false when nothing is left.
    mutating func compact(at revision: Int64) -> Bool {
        guard let index = lastIndex(atOrBefore: revision) else { return true }
        let firstKept = changes[index].isTombstone ? index + 1 : index
        changes.removeFirst(firstKept)
        return !changes.isEmpty
    }

    /// The change a compaction at `revision` would keep among those at or before it
    /// (etcd's keyIndex.keep, used by HashKV).
    func keptByCompaction(at revision: Int64) -> Revision? {
        guard let index = lastIndex(atOrBefore: revision), !changes[index].isTombstone else { return nil }
        return changes[index].revision
    }

    /// Changes at revision >= `revision`, each with the state before it when that
    /// is still readable (its revision - 1 not below `compactedRevision`).
    func events(from revision: Int64, compactedRevision: Int64) -> [(Revision, Event)] {
        var result: [(Revision, Event)] = []
        let start = (lastIndex(atOrBefore: revision - 1) ?? -1) + 1
        for index in start..<changes.count {
            let change = changes[index]
            var prevKv: KeyValue? = nil
            if index > 0, change.revision.main - 1 >= compactedRevision {
                prevKv = changes[index - 1].liveValue
            }
            let event = Event(kind: change.isTombstone ? .delete : .put, kv: change.kv, prevKv: prevKv)
            result.append((change.revision, event))
        }
        return result
    }
}
