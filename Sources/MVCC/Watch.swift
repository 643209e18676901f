extension Store {
    /// The retained changes to keys in `keys` at revision >= `revision`, in revision
    /// order, for a watcher that starts in the past; live watchers are fed from the
    /// `events` of each write instead. Like etcd, a start below the compacted
    /// revision fails, a start at it is served from what compaction kept there
    /// (puts survive, a delete at exactly that revision does not), and prevKv is
    /// present only when the state at the event's revision - 1 is still readable.
    public func events(in keys: KeyRange, from revision: Int64) throws(MVCCError) -> [Event] {
        if revision < compactedRevision { throw .compacted }
        var found: [(Revision, Event)] = []
        index.forEach(in: keys) { entry in
            found += entry.value.events(from: revision, compactedRevision: compactedRevision)
            return true
        }
        found.sort { $0.0 < $1.0 }
        return found.map(\.1)
    }
}
