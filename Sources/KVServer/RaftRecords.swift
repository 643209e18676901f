import Raft
import WriteAheadLog

/// How Raft's durable state is written into the log: one record per entry
/// (its term and data; the record's index is the entry's), one per hard
/// state, and one marker per snapshot taken.
enum RaftRecord: Equatable {
    case entry(Entry)
    case hardState(HardState)
    case snapshot(SnapshotMetadata)

    enum Kind: UInt8 {
        case entry = 1
        case hardState = 2
        case snapshot = 3
    }

    var walRecord: WALRecord {
        var payload = ByteWriter()
        switch self {
        case .entry(let entry):
            payload.append(entry.term)
            payload.bytes += entry.data
            return WALRecord(kind: Kind.entry.rawValue, index: entry.index, payload: payload.bytes)
        case .hardState(let state):
            payload.append(state.term)
            payload.append(state.vote ?? 0)
            payload.append(state.commit)
            return WALRecord(kind: Kind.hardState.rawValue, payload: payload.bytes)
        case .snapshot(let metadata):
            metadata.encode(into: &payload)
            return WALRecord(kind: Kind.snapshot.rawValue, index: metadata.index, payload: payload.bytes)
        }
    }

    /// Decodes a record; nil when its kind or size is not one of ours.
    init?(_ record: WALRecord) {
        var reader = ByteReader(record.payload)
        switch Kind(rawValue: record.kind) {
        case .entry:
            guard let term = reader.uint64() else { return nil }
            self = .entry(Entry(term: term, index: record.index, data: reader.rest()))
        case .hardState:
            guard let term = reader.uint64(), let vote = reader.uint64(), let commit = reader.uint64(), reader.isAtEnd else { return nil }
            self = .hardState(HardState(term: term, vote: vote == 0 ? nil : vote, commit: commit))
        case .snapshot:
            guard let metadata = SnapshotMetadata(reading: &reader), metadata.index == record.index, reader.isAtEnd else { return nil }
            self = .snapshot(metadata)
        case nil:
            return nil
        }
    }
}

extension SnapshotMetadata {
    /// `index u64 | term u64 | voter count u64 | voters u64...`
    func encode(into writer: inout ByteWriter) {
        writer.append(index)
        writer.append(term)
        writer.append(UInt64(voters.count))
        for voter in voters { writer.append(voter) }
    }

    init?(reading reader: inout ByteReader) {
        guard let index = reader.uint64(), let term = reader.uint64(), let count = reader.uint64() else { return nil }
        var voters: [NodeID] = []
        for _ in 0..<min(count, 1 << 16) {
            guard let voter = reader.uint64() else { return nil }
            voters.append(voter)
        }
        guard voters.count == count else { return nil }
        self.init(index: index, term: term, voters: voters)
    }
}

/// Little-endian fixed-width fields, appended.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}

/// Little-endian fixed-width fields, read in order; nil past the end.
struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func uint64() -> UInt64? { integer() }

    mutating func uint32() -> UInt32? { integer() }

    private mutating func integer<T: FixedWidthInteger>() -> T? {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { return nil }
        defer { offset += size }
        return bytes[offset..<offset + size].reversed().reduce(0) { $0 << 8 | T($1) }
    }

    mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }
}
