import CoreboxCore

public struct HashKVResponse: Hashable, Sendable {
    /// The store's revision when hashed (the response header's).
    public var revision: Int64
    public var hash: UInt32
    public var compactRevision: Int64
}

extension Store {
    /// Maintenance.HashKV: the CRC-32C etcd computes over its key bucket up to
    /// `revision` (0 = current), so members can compare histories. The input is
    /// the bucket name "key", then for each retained change in revision order the
    /// bolt key (8-byte big-endian main, "_", 8-byte big-endian sub, "t" for a
    /// tombstone) and the protobuf-encoded mvccpb.KeyValue. Changes at or below
    /// the compacted revision count only if a compaction at `revision` would keep
    /// them (unless it would keep none), as in etcd's HashByRev.
    public func hashKV(revision requested: Int64) throws(MVCCError) -> HashKVResponse {
        if requested > 0 && requested <= compactedRevision { throw .compacted }
        if requested > currentRevision { throw .futureRevision }
        let revision = requested == 0 ? currentRevision : requested
        var kept: Set<Revision> = []
        var changes: [Change] = []
        index.forEach(in: .from([])) { entry in
            if let keep = entry.value.keptByCompaction(at: revision) { kept.insert(keep) }
            changes += entry.value.changes.prefix { $0.revision.main <= revision }
            return true
        }
        changes.sort { $0.revision < $1.revision }
        var crc = CRC32C()
        crc.update("key".utf8)
        for change in changes where change.revision.main > compactedRevision || kept.isEmpty || kept.contains(change.revision) {
            crc.update(Self.boltKey(change))
            crc.update(ProtobufKeyValue.encode(change.kv))
        }
        return HashKVResponse(revision: currentRevision, hash: crc.value, compactRevision: compactedRevision)
    }

    private static func boltKey(_ change: Change) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(18)
        withUnsafeBytes(of: UInt64(bitPattern: change.revision.main).bigEndian) { key += $0 }
        key.append(UInt8(ascii: "_"))
        withUnsafeBytes(of: UInt64(bitPattern: change.revision.sub).bigEndian) { key += $0 }
        if change.isTombstone { key.append(UInt8(ascii: "t")) }
        return key
    }
}

/// mvccpb.KeyValue in protobuf wire format, zero fields omitted, as gogo-protobuf
/// marshals it (fields 1 key, 2 create_revision, 3 mod_revision, 4 version, 5 value, 6 lease).
enum ProtobufKeyValue {
    static func encode(_ kv: KeyValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(kv.key.count + kv.value.count + 40)
        appendBytes(1, kv.key, to: &out)
        appendVarint(2, kv.createRevision, to: &out)
        appendVarint(3, kv.modRevision, to: &out)
        appendVarint(4, kv.version, to: &out)
        appendBytes(5, kv.value, to: &out)
        appendVarint(6, kv.lease, to: &out)
        return out
    }

    private static func appendBytes(_ field: UInt64, _ bytes: [UInt8], to out: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        appendRaw(field << 3 | 2, to: &out)
        appendRaw(UInt64(bytes.count), to: &out)
        out += bytes
    }

    private static func appendVarint(_ field: UInt64, _ value: Int64, to out: inout [UInt8]) {
        guard value != 0 else { return }
        appendRaw(field << 3, to: &out)
        appendRaw(UInt64(bitPattern: value), to: &out)
    }

    private static func appendRaw(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }
}
