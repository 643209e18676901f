/// A point in the store's history: `main` is the revision a write transaction
/// makes, `sub` orders the changes inside that transaction (etcd's revision pair).
public struct Revision: Hashable, Comparable, Sendable {
    public var main: Int64
    public var sub: Int64

    public init(main: Int64, sub: Int64 = 0) {
        self.main = main
        self.sub = sub
    }

    public static func < (lhs: Revision, rhs: Revision) -> Bool {
        (lhs.main, lhs.sub) < (rhs.main, rhs.sub)
    }
}

/// mvccpb.KeyValue: a key's state as of one revision.
public struct KeyValue: Hashable, Sendable {
    public var key: [UInt8]
    /// Revision of the put that created this generation of the key.
    public var createRevision: Int64
    /// Revision of the last change; for a DELETE event, the deleting revision.
    public var modRevision: Int64
    /// 1 on create, +1 per put; a delete ends the generation.
    public var version: Int64
    public var value: [UInt8]
    /// Lease the key is attached to, 0 for none.
    public var lease: Int64

    public init(
        key: [UInt8], createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0,
        value: [UInt8] = [], lease: Int64 = 0
    ) {
        self.key = key
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.value = value
        self.lease = lease
    }
}

/// mvccpb.Event: one change made by a write, in the order the write made it.
public struct Event: Hashable, Sendable {
    public enum Kind: Int, Sendable {
        case put = 0
        case delete = 1
    }

    public var kind: Kind
    /// For a PUT the new state; for a DELETE only `key` and `modRevision` are set, as in etcd.
    public var kv: KeyValue
    /// The key's state just before this change, when history still holds it
    /// (a watcher asking for prev_kv gets it; etcd reads it at modRevision - 1).
    public var prevKv: KeyValue?

    public init(kind: Kind, kv: KeyValue, prevKv: KeyValue? = nil) {
        self.kind = kind
        self.kv = kv
        self.prevKv = prevKv
    }
}

/// The keys a request addresses, from etcd's (key, range_end) pair.
public enum KeyRange: Hashable, Sendable {
    /// range_end empty: exactly this key.
    case single([UInt8])
    /// range_end "\0": every key >= the key.
    case from([UInt8])
    /// [key, rangeEnd); empty when rangeEnd <= key.
    case between([UInt8], [UInt8])

    public init(key: [UInt8], rangeEnd: [UInt8]) {
        if rangeEnd.isEmpty {
            self = .single(key)
        } else if rangeEnd == [0] {
            self = .from(key)
        } else {
            self = .between(key, rangeEnd)
        }
    }

    /// The range_end that selects every key starting with `prefix` (etcd's
    /// GetPrefixRangeEnd): the prefix with its last byte below 0xff incremented.
    public static func prefix(_ prefix: [UInt8]) -> KeyRange {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return .between(prefix, end)
            }
            end.removeLast()
        }
        return .from(prefix)
    }

    public var lowerBound: [UInt8] {
        switch self {
        case .single(let key), .from(let key), .between(let key, _): return key
        }
    }

    public func contains(_ key: [UInt8]) -> Bool {
        switch self {
        case .single(let only): return key == only
        case .from(let start): return compareBytes(key, start) >= 0
        case .between(let start, let end): return compareBytes(key, start) >= 0 && compareBytes(key, end) < 0
        }
    }
}

/// Byte-wise lexicographic order (etcd's bytes.Compare), eight bytes at a time.
func compareBytes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int {
    lhs.withUnsafeBytes { a in
        rhs.withUnsafeBytes { b in
            let common = min(a.count, b.count)
            var offset = 0
            while offset + 8 <= common {
                let x = UInt64(bigEndian: a.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                let y = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                if x != y { return x < y ? -1 : 1 }
                offset += 8
            }
            while offset < common {
                if a[offset] != b[offset] { return a[offset] < b[offset] ? -1 : 1 }
                offset += 1
            }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        }
    }
}
