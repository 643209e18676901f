import CoreboxCore

// The store as bytes, so kvd can persist a snapshot and truncate its log.
// Layout (integers little-endian, byte strings as a UInt32 length then bytes):
//   "MVCCSNAP", UInt32 format version (1),
//   Int64 current revision, Int64 compacted revision,
//   UInt64 key count, per key in key order: key, UInt32 change count, per change:
//     Int64 main, Int64 sub, UInt8 kind (0 put, 1 tombstone),
//     and for a put: Int64 create revision, Int64 version, Int64 lease, value,
//   UInt64 lease count, per lease in ID order: Int64 ID, Int64 granted TTL,
//   UInt32 CRC-32C of everything before it.
// Lease expiries are not stored: like etcd, a restored lessor restarts each TTL.

public enum SnapshotError: Error, Hashable, Sendable {
    case notASnapshot
    case unsupportedVersion(UInt32)
    case checksumMismatch
    case truncated
    /// Well-formed bytes that do not describe a valid store.
    case inconsistent(String)
}

extension Store {
    static let snapshotMagic = Array("MVCCSNAP".utf8)
    static let snapshotVersion: UInt32 = 1

    public func snapshot() -> [UInt8] {
        var bytes: [UInt8] = []
        snapshot { bytes += $0 }
        return bytes
    }

    /// The same bytes as `snapshot()`, handed to `emit` in order in pieces of
    /// about `chunkSize`: a large store goes to a file without ever being one array.
    public func snapshot<E: Error>(chunkSize: Int = 1 << 20, _ emit: ([UInt8]) throws(E) -> Void) throws(E) {
        var out = SnapshotWriter()
        var crc = CRC32C()
        var failure: E?
        func flush() {
            crc.update(out.bytes)
            do { try emit(out.bytes) } catch { failure = error }
            out.bytes.removeAll(keepingCapacity: true)
        }
        out.bytes += Self.snapshotMagic
        out.integer(Self.snapshotVersion)
        out.integer(currentRevision)
        out.integer(compactedRevision)
        out.integer(UInt64(index.count))
        index.forEach(in: .from([])) { entry in
            out.byteString(entry.key)
            out.integer(UInt32(entry.value.changes.count))
            for change in entry.value.changes {
                out.integer(change.revision.main)
                out.integer(change.revision.sub)
                out.integer(UInt8(change.isTombstone ? 1 : 0))
                if !change.isTombstone {
                    out.integer(change.kv.createRevision)
                    out.integer(change.kv.version)
                    out.integer(change.kv.lease)
                    out.byteString(change.kv.value)
                }
            }
            if out.bytes.count >= chunkSize { flush() }
            return failure == nil
        }
        if let failure { throw failure }
        out.integer(UInt64(leases.count))
        for lease in leases.values.sorted(by: { $0.id < $1.id }) {
            out.integer(lease.id)
            out.integer(lease.ttl)
        }
        crc.update(out.bytes)
        out.integer(crc.value)
        try emit(out.bytes)
    }

    /// Restores a `snapshot()`; every lease's TTL restarts at `now`.
    public init(snapshot: [UInt8], now: MonotonicInstant, configuration: StoreConfiguration = StoreConfiguration()) throws(SnapshotError) {
        guard snapshot.count >= Self.snapshotMagic.count + 8, snapshot.starts(with: Self.snapshotMagic) else {
            throw .notASnapshot
        }
        var crc = CRC32C()
        crc.update(snapshot.dropLast(4))
        var trailer = SnapshotReader(bytes: snapshot[(snapshot.count - 4)...])
        guard try trailer.integer(UInt32.self) == crc.value else { throw .checksumMismatch }

        var input = SnapshotReader(bytes: snapshot[Self.snapshotMagic.count..<(snapshot.count - 4)])
        let version = try input.integer(UInt32.self)
        guard version == Self.snapshotVersion else { throw .unsupportedVersion(version) }
        self.init(configuration: configuration)
        currentRevision = try input.integer(Int64.self)
        compactedRevision = try input.integer(Int64.self)
        var previousKey: [UInt8]? = nil
        for _ in 0..<(try input.integer(UInt64.self)) {
            let key = try input.byteString()
            if let previousKey, compareBytes(previousKey, key) >= 0 { throw .inconsistent("keys out of order") }
            previousKey = key
            var history = KeyHistory(changes: [])
            for _ in 0..<(try input.integer(UInt32.self)) {
                let revision = Revision(main: try input.integer(Int64.self), sub: try input.integer(Int64.self))
                if let last = history.changes.last, last.revision >= revision { throw .inconsistent("revisions out of order") }
                if revision.main > currentRevision { throw .inconsistent("revision beyond the current one") }
                switch try input.integer(UInt8.self) {
                case 0:
                    let createRevision = try input.integer(Int64.self)
                    let version = try input.integer(Int64.self)
                    let lease = try input.integer(Int64.self)
                    let kv = KeyValue(
                        key: key, createRevision: createRevision, modRevision: revision.main, version: version,
                        value: try input.byteString(), lease: lease)
                    history.changes.append(Change(revision: revision, kv: kv, isTombstone: false))
                case 1:
                    history.changes.append(Change(revision: revision, kv: KeyValue(key: key, modRevision: revision.main), isTombstone: true))
                default:
                    throw .inconsistent("unknown change kind")
                }
            }
            if history.changes.isEmpty { throw .inconsistent("key without history") }
            logicalSize += history.changes.reduce(0) { $0 + Self.size(of: $1) }
            index.update(key, inserting: { history }) { _ in }
        }
        for _ in 0..<(try input.integer(UInt64.self)) {
            let id = try input.integer(Int64.self)
            let ttl = try input.integer(Int64.self)
            leases[id] = Lease(id: id, ttl: ttl, expiry: now.adding(seconds: ttl))
            logicalSize += Self.leaseOverhead
        }
        guard input.isAtEnd else { throw .inconsistent("trailing bytes") }
        index.forEach(in: .from([])) { entry in
            if let kv = entry.value.latest, kv.lease != 0 { leases[kv.lease]?.keys.insert(kv.key) }
            return true
        }
    }
}

private struct SnapshotWriter {
    var bytes: [UInt8] = []

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    mutating func byteString(_ value: [UInt8]) {
        integer(UInt32(value.count))
        bytes += value
    }
}

private struct SnapshotReader {
    var bytes: ArraySlice<UInt8>

    var isAtEnd: Bool { bytes.isEmpty }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(SnapshotError) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count >= size else { throw .truncated }
        var value: T = 0
        for (shift, byte) in bytes.prefix(size).enumerated() {
            value |= T(truncatingIfNeeded: byte) << (8 * shift)
        }
        bytes = bytes.dropFirst(size)
        return value
    }

    mutating func byteString() throws(SnapshotError) -> [UInt8] {
        let count = Int(try integer(UInt32.self))
        guard bytes.count >= count else { throw .truncated }
        defer { bytes = bytes.dropFirst(count) }
        return Array(bytes.prefix(count))
    }
}
