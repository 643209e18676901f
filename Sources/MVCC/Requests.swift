// Requests and responses named after etcd's etcdserverpb messages, as plain
// values: the server maps its protobuf types onto these and back.

public struct RangeRequest: Hashable, Sendable {
    public enum SortOrder: Int, Sendable { case none = 0, ascend = 1, descend = 2 }
    public enum SortTarget: Int, Sendable { case key = 0, version = 1, create = 2, mod = 3, value = 4 }

    public var key: [UInt8]
    public var rangeEnd: [UInt8]
    public var limit: Int64
    /// 0 reads the current revision.
    public var revision: Int64
    public var sortOrder: SortOrder
    public var sortTarget: SortTarget
    public var keysOnly: Bool
    public var countOnly: Bool
    public var minModRevision: Int64
    public var maxModRevision: Int64
    public var minCreateRevision: Int64
    public var maxCreateRevision: Int64

    public init(
        key: [UInt8], rangeEnd: [UInt8] = [], limit: Int64 = 0, revision: Int64 = 0,
        sortOrder: SortOrder = .none, sortTarget: SortTarget = .key, keysOnly: Bool = false,
        countOnly: Bool = false, minModRevision: Int64 = 0, maxModRevision: Int64 = 0,
        minCreateRevision: Int64 = 0, maxCreateRevision: Int64 = 0
    ) {
        self.key = key
        self.rangeEnd = rangeEnd
        self.limit = limit
        self.revision = revision
        self.sortOrder = sortOrder
        self.sortTarget = sortTarget
        self.keysOnly = keysOnly
        self.countOnly = countOnly
        self.minModRevision = minModRevision
        self.maxModRevision = maxModRevision
        self.minCreateRevision = minCreateRevision
        self.maxCreateRevision = maxCreateRevision
    }
}

public struct RangeResponse: Hashable, Sendable {
    /// Header revision: the revision the range was served at the top of (etcd's curRev).
    public var revision: Int64
    public var kvs: [KeyValue]
    /// More keys matched than `limit` let through.
    public var more: Bool
    /// Keys in the range at the read revision, before filters and limit (etcd's rule).
    public var count: Int64
}

public struct PutRequest: Hashable, Sendable {
    public var key: [UInt8]
    public var value: [UInt8]
    public var lease: Int64
    public var prevKv: Bool
    public var ignoreValue: Bool
    public var ignoreLease: Bool

    public init(
        key: [UInt8], value: [UInt8] = [], lease: Int64 = 0, prevKv: Bool = false,
        ignoreValue: Bool = false, ignoreLease: Bool = false
    ) {
        self.key = key
        self.value = value
        self.lease = lease
        self.prevKv = prevKv
        self.ignoreValue = ignoreValue
        self.ignoreLease = ignoreLease
    }
}

public struct PutResponse: Hashable, Sendable {
    public var revision: Int64
    public var prevKv: KeyValue?
}

public struct DeleteRangeRequest: Hashable, Sendable {
    public var key: [UInt8]
    public var rangeEnd: [UInt8]
    public var prevKv: Bool

    public init(key: [UInt8], rangeEnd: [UInt8] = [], prevKv: Bool = false) {
        self.key = key
        self.rangeEnd = rangeEnd
        self.prevKv = prevKv
    }
}

public struct DeleteRangeResponse: Hashable, Sendable {
    public var revision: Int64
    public var deleted: Int64
    public var prevKvs: [KeyValue]
}

public struct Compare: Hashable, Sendable {
    public enum Result: Int, Sendable { case equal = 0, greater = 1, less = 2, notEqual = 3 }

    /// The field compared and the operand (etcd's target plus target_union).
    public enum Target: Hashable, Sendable {
        case version(Int64)
        case createRevision(Int64)
        case modRevision(Int64)
        case value([UInt8])
        case lease(Int64)
    }

    public var result: Result
    public var target: Target
    public var key: [UInt8]
    /// Non-empty: every key in [key, rangeEnd) must satisfy the comparison.
    public var rangeEnd: [UInt8]

    public init(key: [UInt8], rangeEnd: [UInt8] = [], target: Target, result: Result) {
        self.key = key
        self.rangeEnd = rangeEnd
        self.target = target
        self.result = result
    }
}

public enum RequestOp: Hashable, Sendable {
    case range(RangeRequest)
    case put(PutRequest)
    case deleteRange(DeleteRangeRequest)
    case txn(TxnRequest)
}

public enum ResponseOp: Hashable, Sendable {
    case range(RangeResponse)
    case put(PutResponse)
    case deleteRange(DeleteRangeResponse)
    case txn(TxnResponse)
}

public struct TxnRequest: Hashable, Sendable {
    public var compare: [Compare]
    public var success: [RequestOp]
    public var failure: [RequestOp]

    public init(compare: [Compare] = [], success: [RequestOp] = [], failure: [RequestOp] = []) {
        self.compare = compare
        self.success = success
        self.failure = failure
    }
}

public struct TxnResponse: Hashable, Sendable {
    /// etcd 3.4 leaves the header of a nested txn's response unset, so it is 0 there.
    public var revision: Int64
    public var succeeded: Bool
    public var responses: [ResponseOp]
}

public struct CompactionResponse: Hashable, Sendable {
    public var revision: Int64
}

public struct LeaseGrantResponse: Hashable, Sendable {
    public var revision: Int64
    public var id: Int64
    /// The granted TTL in seconds, raised to the minimum TTL.
    public var ttl: Int64
}

public struct LeaseRevokeResponse: Hashable, Sendable {
    public var revision: Int64
}

public struct LeaseTimeToLiveResponse: Hashable, Sendable {
    public var id: Int64
    /// Remaining seconds, truncated toward zero as etcd does.
    public var ttl: Int64
    public var grantedTTL: Int64
    /// Attached keys in byte order (etcd returns them unordered).
    public var keys: [[UInt8]]
}

/// What a write applied: the response for the client and the events for watchers.
public struct WriteResult<Response: Sendable>: Sendable {
    public var response: Response
    /// The changes made at the new revision, in sub-revision order; empty when
    /// nothing changed (and no revision was made).
    public var events: [Event]
}
