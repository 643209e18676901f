// Space accounting for the backend quota. etcd compares its bolt file size
// plus a request's estimated cost with --quota-backend-bytes; this store has no
// file, so it counts the bytes its retained history needs, with etcd's own
// per-entry overheads, and leaves the alarm policy to the server.

extension Store {
    /// etcd's kvOverhead: the estimated bytes one stored revision costs besides key and value.
    public static var kvOverhead: Int64 { 256 }
    /// etcd's leaseOverhead.
    public static var leaseOverhead: Int64 { 64 }

    static func size(of change: Change) -> Int64 {
        kvOverhead + Int64(change.kv.key.count + change.kv.value.count)
    }

    /// etcd's backendQuota.Cost: what a put adds, the larger branch for a txn, 0 for others.
    public static func quotaCost(of request: RequestOp) -> Int64 {
        switch request {
        case .put(let put): return kvOverhead + Int64(put.key.count + put.value.count)
        case .txn(let txn):
            let success = txn.success.reduce(0) { $0 + putCost($1) }
            let failure = txn.failure.reduce(0) { $0 + putCost($1) }
            return max(success, failure)
        case .range, .deleteRange: return 0
        }
    }

    /// Only direct puts count inside a txn, as in etcd.
    private static func putCost(_ op: RequestOp) -> Int64 {
        if case .put = op { return quotaCost(of: op) }
        return 0
    }

    /// etcd's backendQuota.Available, checked before a put, a txn or a
    /// LeaseGrant (which costs `leaseOverhead`) changes anything: NOSPACE
    /// when the write would not fit; the server then raises the alarm.
    func checkQuota(_ cost: Int64) throws(MVCCError) {
        guard configuration.quotaBytes < 0 || cost == 0 || logicalSize + cost < configuration.quotaBytes else { throw .noSpace }
    }
}
