/// Limits the server configures; the defaults are etcd 3.4's.
public struct StoreConfiguration: Hashable, Sendable {
    /// etcd's --max-txn-ops.
    public var maxTxnOperations: Int
    /// Lease TTLs below this are raised to it: etcd derives it from the election
    /// timeout, ceil(1.5 * election timeout) seconds, 2 with the default 1000 ms.
    public var minLeaseTTL: Int64
    /// etcd's --quota-backend-bytes: writes that would take the store past it
    /// fail with NOSPACE; negative for no quota.
    public var quotaBytes: Int64

    public init(maxTxnOperations: Int = 128, minLeaseTTL: Int64 = 2, quotaBytes: Int64 = 2 << 30) {
        self.maxTxnOperations = maxTxnOperations
        self.minLeaseTTL = minLeaseTTL
        self.quotaBytes = quotaBytes
    }
}

/// The multi-version key-value state machine of an etcd 3.4 server, as a value.
/// The server applies Raft-committed requests to it in log order and answers
/// clients from the results; nothing here reads a clock, a disk or randomness,
/// so every replica that applies the same requests holds the same store.
public struct Store: Sendable {
    public let configuration: StoreConfiguration
    /// The revision of the last write; a fresh store is at 1.
    public internal(set) var currentRevision: Int64 = 1
    /// Reads below this revision fail; -1 until the first compaction (etcd's compactMainRev).
    public internal(set) var compactedRevision: Int64 = -1
    /// Bytes of retained history and leases, see `logicalSize`.
    public internal(set) var logicalSize: Int64 = 0
    var index = OrderedKeyIndex<KeyHistory>()
    var leases: [Int64: Lease] = [:]

    public init(configuration: StoreConfiguration = StoreConfiguration()) {
        self.configuration = configuration
    }

    /// Keys alive at the current revision.
    public var keyCount: Int {
        var live = 0
        index.forEach(in: .from([])) { entry in
            if entry.value.latest != nil { live += 1 }
            return true
        }
        return live
    }

    // MARK: Range

    /// Serves a Range at its requested revision (KV.Range outside a txn).
    public func range(_ request: RangeRequest) throws(MVCCError) -> RangeResponse {
        try request.validate()
        return try range(request, readingAt: currentRevision)
    }

    /// etcd's applierV3backend.Range over a view whose newest revision is `top`.
    func range(_ request: RangeRequest, readingAt top: Int64) throws(MVCCError) -> RangeResponse {
        let revision = try readableRevision(request.revision, top: top)
        let keys = KeyRange(key: request.key, rangeEnd: request.rangeEnd)
        let filtered = request.minModRevision != 0 || request.maxModRevision != 0
            || request.minCreateRevision != 0 || request.maxCreateRevision != 0
        // Without sorting or filters the store can stop one past the limit (enough
        // to know there is more) but still counts every key, as etcd does.
        let fetchLimit = request.sortOrder == .none && !filtered && request.limit > 0 ? Int(request.limit) + 1 : Int.max
        var count: Int64 = 0
        var kvs: [KeyValue] = []
        index.forEach(in: keys) { entry in
            guard let kv = entry.value.value(at: revision) else { return true }
            count += 1
            if !request.countOnly && kvs.count < fetchLimit { kvs.append(kv) }
            return true
        }
        if filtered { kvs.removeAll { !request.admits($0) } }
        kvs = request.sorted(kvs)
        var more = false
        if request.limit > 0 && Int64(kvs.count) > request.limit {
            kvs.removeSubrange(Int(request.limit)...)
            more = true
        }
        if request.keysOnly {
            for i in kvs.indices { kvs[i].value = [] }
        }
        return RangeResponse(revision: top, kvs: kvs, more: more, count: count)
    }

    /// The revision a read of `requested` (0 = newest) sees, in a view whose newest is `top`.
    func readableRevision(_ requested: Int64, top: Int64) throws(MVCCError) -> Int64 {
        if requested > top { throw .futureRevision }
        let revision = requested <= 0 ? top : requested
        if revision < compactedRevision { throw .compacted }
        return revision
    }

    /// A key's state at the current revision.
    func latest(_ key: [UInt8]) -> KeyValue? {
        index[key]?.latest
    }

    // MARK: Put and DeleteRange

    public mutating func put(_ request: PutRequest) throws(MVCCError) -> WriteResult<PutResponse> {
        try checkQuota(Self.quotaCost(of: .put(request)))
        try request.validate()
        try checkLeaseExists(request.lease)
        try checkIgnoredFieldsExist(request)
        var write = WriteContext(beginRevision: currentRevision)
        let response = apply(request, in: &write)
        return WriteResult(response: response, events: commit(write))
    }

    public mutating func deleteRange(_ request: DeleteRangeRequest) throws(MVCCError) -> WriteResult<DeleteRangeResponse> {
        try request.validate()
        var write = WriteContext(beginRevision: currentRevision)
        let response = apply(request, in: &write)
        return WriteResult(response: response, events: commit(write))
    }

    func checkLeaseExists(_ lease: Int64) throws(MVCCError) {
        if lease != 0 && leases[lease] == nil { throw .leaseNotFound }
    }

    /// ignore_value and ignore_lease reuse the key's current fields, so the key must exist.
    func checkIgnoredFieldsExist(_ request: PutRequest) throws(MVCCError) {
        if (request.ignoreValue || request.ignoreLease) && latest(request.key) == nil { throw .keyNotFound }
    }

    /// A write in progress: every change gets revision `beginRevision + 1` and the
    /// next sub-revision; the store's revision moves only if something changed.
    struct WriteContext {
        let beginRevision: Int64
        var events: [Event] = []

        var revision: Int64 { beginRevision + 1 }
        /// What reads inside the write see: its own changes once there are any.
        var readRevision: Int64 { events.isEmpty ? beginRevision : beginRevision + 1 }
        var nextRevision: Revision { Revision(main: revision, sub: Int64(events.count)) }
    }

    /// Applies a validated and checked put (etcd's storeTxnWrite.put).
    mutating func apply(_ request: PutRequest, in write: inout WriteContext) -> PutResponse {
        let previous = latest(request.key)
        let kv = KeyValue(
            key: request.key,
            createRevision: previous?.createRevision ?? write.revision,
            modRevision: write.revision,
            version: (previous?.version ?? 0) + 1,
            value: request.ignoreValue ? previous?.value ?? [] : request.value,
            lease: request.ignoreLease ? previous?.lease ?? 0 : request.lease
        )
        record(Change(revision: write.nextRevision, kv: kv, isTombstone: false), previous: previous)
        write.events.append(Event(kind: .put, kv: kv, prevKv: previous))
        return PutResponse(revision: write.revision, prevKv: request.prevKv ? previous : nil)
    }

    /// Applies a validated delete (etcd's storeTxnWrite.deleteRange): tombstones every
    /// key alive at the write's read revision.
    mutating func apply(_ request: DeleteRangeRequest, in write: inout WriteContext) -> DeleteRangeResponse {
        var doomed: [KeyValue] = []
        let readRevision = write.readRevision
        index.forEach(in: KeyRange(key: request.key, rangeEnd: request.rangeEnd)) { entry in
            if let kv = entry.value.value(at: readRevision) { doomed.append(kv) }
            return true
        }
        for previous in doomed {
            deleteKey(previous, in: &write)
        }
        let revision = doomed.isEmpty && write.events.isEmpty ? write.beginRevision : write.revision
        return DeleteRangeResponse(
            revision: revision, deleted: Int64(doomed.count), prevKvs: request.prevKv ? doomed : [])
    }

    mutating func deleteKey(_ previous: KeyValue, in write: inout WriteContext) {
        let tombstone = KeyValue(key: previous.key, modRevision: write.revision)
        record(Change(revision: write.nextRevision, kv: tombstone, isTombstone: true), previous: previous)
        write.events.append(Event(kind: .delete, kv: tombstone, prevKv: previous))
    }

    /// Adds a change to the key's history, moving lease attachments and size along.
    private mutating func record(_ change: Change, previous: KeyValue?) {
        index.update(change.kv.key, inserting: { KeyHistory(changes: []) }) { $0.changes.append(change) }
        logicalSize += Self.size(of: change)
        if let oldLease = previous?.lease, oldLease != 0 {
            leases[oldLease]?.keys.remove(change.kv.key)
        }
        if !change.isTombstone && change.kv.lease != 0 {
            leases[change.kv.lease]?.keys.insert(change.kv.key)
        }
    }

    /// Ends a write: one new revision if it changed anything.
    mutating func commit(_ write: WriteContext) -> [Event] {
        if !write.events.isEmpty { currentRevision = write.revision }
        return write.events
    }

    // MARK: Compaction

    /// Forgets history before `revision`, keeping each key's state at it (KV.Compact).
    /// The work is done before returning, so etcd's `physical` flag changes nothing.
    public mutating func compact(_ revision: Int64) throws(MVCCError) -> CompactionResponse {
        if revision <= compactedRevision { throw .compacted }
        if revision > currentRevision { throw .futureRevision }
        compactedRevision = revision
        var size: Int64 = 0
        index.compactMap { entry in
            var history = entry.value
            guard history.compact(at: revision) else { return nil }
            for change in history.changes { size += Self.size(of: change) }
            return history
        }
        logicalSize = size + Int64(leases.count) * Self.leaseOverhead
        return CompactionResponse(revision: currentRevision)
    }
}

extension RangeRequest {
    func validate() throws(MVCCError) {
        if key.isEmpty { throw .emptyKey }
    }

    /// The min/max mod and create revision filters; 0 means unset.
    func admits(_ kv: KeyValue) -> Bool {
        (maxModRevision == 0 || kv.modRevision <= maxModRevision)
            && (minModRevision == 0 || kv.modRevision >= minModRevision)
            && (maxCreateRevision == 0 || kv.createRevision <= maxCreateRevision)
            && (minCreateRevision == 0 || kv.createRevision >= minCreateRevision)
    }

    /// etcd sorts only when asked, and a non-key target with no order means ascending.
    /// Ties keep key order in both directions, as etcd's sort does for small results.
    func sorted(_ kvs: [KeyValue]) -> [KeyValue] {
        let order = sortTarget != .key && sortOrder == .none ? .ascend : sortOrder
        if order == .none { return kvs }
        let descending = order == .descend
        let target = sortTarget
        return kvs.enumerated().sorted { a, b in
            let comparison = Self.compare(a.element, b.element, by: target)
            if comparison != 0 { return descending ? comparison > 0 : comparison < 0 }
            return a.offset < b.offset
        }.map(\.element)
    }

    private static func compare(_ a: KeyValue, _ b: KeyValue, by target: SortTarget) -> Int {
        switch target {
        case .key: return compareBytes(a.key, b.key)
        case .value: return compareBytes(a.value, b.value)
        case .version: return a.version == b.version ? 0 : (a.version < b.version ? -1 : 1)
        case .create: return a.createRevision == b.createRevision ? 0 : (a.createRevision < b.createRevision ? -1 : 1)
        case .mod: return a.modRevision == b.modRevision ? 0 : (a.modRevision < b.modRevision ? -1 : 1)
        }
    }
}

extension PutRequest {
    func validate() throws(MVCCError) {
        if key.isEmpty { throw .emptyKey }
        if ignoreValue && !value.isEmpty { throw .valueProvided }
        if ignoreLease && lease != 0 { throw .leaseProvided }
    }
}

extension DeleteRangeRequest {
    func validate() throws(MVCCError) {
        if key.isEmpty { throw .emptyKey }
    }
}
