// Txn: validation as etcd's gRPC layer does it (v3rpc/key.go), then the apply
// as etcdserver/apply.go does it: every compare of every nested txn is decided
// against the state before the txn, the chosen ops are checked, then applied in
// order in one write, so reads inside the txn see its earlier writes.

extension TxnRequest {
    /// etcd's checkTxnRequest then checkIntervals on both branches.
    public func validate(maxOperations: Int) throws(MVCCError) {
        try checkOperations(budget: maxOperations)
        _ = try DuplicateKeyCheck.check(success)
        _ = try DuplicateKeyCheck.check(failure)
    }

    /// The op limit applies to the largest of the compare, success and failure lists;
    /// a nested txn gets what its parent left over.
    private func checkOperations(budget: Int) throws(MVCCError) {
        let operations = max(compare.count, success.count, failure.count)
        if operations > budget { throw .tooManyOperations }
        if compare.contains(where: { $0.key.isEmpty }) { throw .emptyKey }
        for op in success + failure {
            switch op {
            case .range(let range): try range.validate()
            case .put(let put): try put.validate()
            case .deleteRange(let delete): try delete.validate()
            case .txn(let txn): try txn.checkOperations(budget: budget - operations)
            }
        }
    }
}

/// etcd 3.4's rule for "a key may not be written twice": a put may not meet another
/// put or a delete of the same key in one op list or in the branches of the txns
/// nested in it, except that the two branches of one nested txn may put the same
/// key. Delete ranges are the half-open [key, range_end) byte intervals, so a
/// "from key" delete (range_end "\0") is an empty interval and never conflicts,
/// and a nested txn's puts are only checked against deletes seen before it; both
/// are etcd's behaviour, kept so the same requests pass or fail.
private enum DuplicateKeyCheck {
    struct Deletes {
        var intervals: [(start: [UInt8], end: [UInt8]?)] = []

        func contain(_ key: [UInt8]) -> Bool {
            intervals.contains { interval in
                guard let end = interval.end else { return interval.start == key }
                return compareBytes(interval.start, key) <= 0 && compareBytes(key, end) < 0
            }
        }
    }

    static func check(_ ops: [RequestOp]) throws(MVCCError) -> (puts: Set<[UInt8]>, deletes: Deletes) {
        var deletes = Deletes()
        for case .deleteRange(let delete) in ops {
            deletes.intervals.append((delete.key, delete.rangeEnd.isEmpty ? nil : delete.rangeEnd))
        }
        var puts: Set<[UInt8]> = []
        for case .txn(let nested) in ops {
            let then = try check(nested.success)
            let otherwise = try check(nested.failure)
            for key in then.puts {
                if puts.contains(key) || deletes.contain(key) { throw .duplicateKey }
                puts.insert(key)
            }
            for key in otherwise.puts {
                if puts.contains(key) && !then.puts.contains(key) { throw .duplicateKey }
                if deletes.contain(key) { throw .duplicateKey }
                puts.insert(key)
            }
            deletes.intervals += then.deletes.intervals + otherwise.deletes.intervals
        }
        for case .put(let put) in ops {
            if puts.contains(put.key) || deletes.contain(put.key) { throw .duplicateKey }
            puts.insert(put.key)
        }
        return (puts, deletes)
    }
}

/// A txn with its branches chosen: which compares held and the ops that will run.
private struct TxnPlan {
    enum Op {
        case range(RangeRequest)
        case put(PutRequest)
        case deleteRange(DeleteRangeRequest)
        case txn(TxnPlan)
    }

    var succeeded: Bool
    var ops: [Op]

    /// All ops of the chosen branches, nested ones included, in order.
    var flattened: [Op] {
        ops.flatMap { op -> [Op] in
            if case .txn(let nested) = op { return nested.flattened }
            return [op]
        }
    }
}

extension Store {
    /// KV.Txn: one revision for all its writes, none if it writes nothing.
    public mutating func txn(_ request: TxnRequest) throws(MVCCError) -> WriteResult<TxnResponse> {
        try checkQuota(Self.quotaCost(of: .txn(request)))
        try request.validate(maxOperations: configuration.maxTxnOperations)
        let plan = self.plan(request)
        // etcd checks every put of the chosen branches before any range.
        for case .put(let put) in plan.flattened {
            try checkIgnoredFieldsExist(put)
            try checkLeaseExists(put.lease)
        }
        for case .range(let range) in plan.flattened {
            _ = try readableRevision(range.revision, top: currentRevision)
        }
        var write = WriteContext(beginRevision: currentRevision)
        var response = apply(plan, in: &write)
        let events = commit(write)
        response.revision = currentRevision
        return WriteResult(response: response, events: events)
    }

    private func plan(_ request: TxnRequest) -> TxnPlan {
        let succeeded = request.compare.allSatisfy(holds)
        let ops = (succeeded ? request.success : request.failure).map { op -> TxnPlan.Op in
            switch op {
            case .range(let range): return .range(range)
            case .put(let put): return .put(put)
            case .deleteRange(let delete): return .deleteRange(delete)
            case .txn(let nested): return .txn(plan(nested))
            }
        }
        return TxnPlan(succeeded: succeeded, ops: ops)
    }

    /// A compare over a range holds when every key in it satisfies it; over no key at
    /// all, a VALUE compare fails and the others compare against zero (so "version
    /// == 0" and "create == 0" test that a key does not exist).
    func holds(_ compare: Compare) -> Bool {
        var matched = false
        var allHold = true
        index.forEach(in: KeyRange(key: compare.key, rangeEnd: compare.rangeEnd)) { entry in
            guard let kv = entry.value.latest else { return true }
            matched = true
            allHold = compare.holds(for: kv)
            return allHold
        }
        if matched { return allHold }
        if case .value = compare.target { return false }
        return compare.holds(for: KeyValue(key: compare.key))
    }

    private mutating func apply(_ plan: TxnPlan, in write: inout WriteContext) -> TxnResponse {
        let responses = plan.ops.map { op -> ResponseOp in
            switch op {
            case .range(let range):
                // Checked above against a revision no newer than this one: cannot fail.
                return .range(try! self.range(range, readingAt: write.readRevision))
            case .put(let put): return .put(apply(put, in: &write))
            case .deleteRange(let delete): return .deleteRange(apply(delete, in: &write))
            case .txn(let nested): return .txn(apply(nested, in: &write))
            }
        }
        return TxnResponse(revision: 0, succeeded: plan.succeeded, responses: responses)
    }
}

extension Compare {
    func holds(for kv: KeyValue) -> Bool {
        let order: Int
        switch target {
        case .version(let version): order = Self.order(kv.version, version)
        case .createRevision(let revision): order = Self.order(kv.createRevision, revision)
        case .modRevision(let revision): order = Self.order(kv.modRevision, revision)
        case .lease(let lease): order = Self.order(kv.lease, lease)
        case .value(let value): order = compareBytes(kv.value, value)
        }
        switch result {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .greater: return order > 0
        case .less: return order < 0
        }
    }

    private static func order(_ a: Int64, _ b: Int64) -> Int {
        a == b ? 0 : (a < b ? -1 : 1)
    }
}
