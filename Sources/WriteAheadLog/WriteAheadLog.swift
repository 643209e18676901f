import CoreboxCore
import CoreboxSystem
import Glibc

/// Why the log cannot be opened or written.
public enum WALError: Error, CustomStringConvertible, Equatable {
    case system(SystemError)
    /// Acknowledged data is damaged: starting anyway would lose it.
    case corrupt(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case .system(let error): "wal: \(error)"
        case .corrupt(let path, let offset, let reason): "wal: corrupt record in \(path) at offset \(offset): \(reason)"
        }
    }
}

/// An append-only log of records in preallocated segment files, durable once
/// `sync` returns.
///
/// Segments are named `SEQUENCE-FIRSTINDEX.wal` (16 hex digits each) and
/// chained by a rolling CRC-32C (see `Frame`). Appends are buffered and
/// `sync` writes them with one pwrite and one fdatasync: the caller batches
/// everything that became ready together (group commit) and acknowledges it
/// after `sync`. On open, a tail damaged by an interrupted write is cut off;
/// damage anywhere else stops the open with `WALError.corrupt`.
///
/// Not thread-safe: one owner appends and syncs.
public final class WriteAheadLog {
    struct Segment: Equatable {
        var sequence: UInt64
        var firstIndex: UInt64

        var name: String { sequence.paddedHex + "-" + firstIndex.paddedHex + ".wal" }

        init(sequence: UInt64, firstIndex: UInt64) {
            self.sequence = sequence
            self.firstIndex = firstIndex
        }

        /// Parses `SEQUENCE-FIRSTINDEX.wal`; nil for any other name.
        init?(name: String) {
            let parts = name.split(separator: "-")
            guard name.hasSuffix(".wal"), parts.count == 2, parts[0].count == 16, parts[1].count == 20,
                  let sequence = UInt64(parts[0], radix: 16),
                  let firstIndex = UInt64(parts[1].dropLast(4), radix: 16) else { return nil }
            self.init(sequence: sequence, firstIndex: firstIndex)
        }
    }

    public let directory: String
    /// Bytes preallocated per segment; a segment is cut when the next frame would not fit.
    public let segmentSize: Int

    private(set) var segments: [Segment]
    private var file: Int32
    /// Where the next frame goes in the current segment.
    private var offset: Int
    /// The crc of the last frame: the seed of the next.
    private var crc: UInt32
    /// Encoded frames not yet written.
    private var pending: [UInt8] = []
    /// The highest index appended, for naming the next segment.
    private var lastIndex: UInt64

    private init(directory: String, segmentSize: Int, segments: [Segment], file: Int32, offset: Int, crc: UInt32, lastIndex: UInt64) {
        self.directory = directory
        self.segmentSize = segmentSize
        self.segments = segments
        self.file = file
        self.offset = offset
        self.crc = crc
        self.lastIndex = lastIndex
    }

    deinit { Syscall.close(file) }

    /// Opens the log in `directory` (created when missing) and returns every
    /// record it holds, in order.
    public static func open(directory: String, segmentSize: Int = 64 << 20) throws(WALError) -> (log: WriteAheadLog, records: [WALRecord]) {
        do {
            try Files.makeDirectories(directory, mode: 0o700)
            var segments: [Segment] = []
            for name in try Syscall.listDirectory(directory) {
                if name.hasSuffix(".wal.tmp") {
                    // A cut that did not finish: the segment never held a record.
                    try Syscall.unlink(directory + "/" + name)
                } else if let segment = Segment(name: name) {
                    segments.append(segment)
                }
            }
            segments.sort { $0.sequence < $1.sequence }
            guard !segments.isEmpty else {
                let first = Segment(sequence: 0, firstIndex: 0)
                let (file, crc) = try create(first, in: directory, size: segmentSize, previousCRC: 0)
                let log = WriteAheadLog(directory: directory, segmentSize: segmentSize, segments: [first], file: file,
                                        offset: Frame.chain(previousCRC: 0).bytes.count, crc: crc, lastIndex: 0)
                return (log, [])
            }
            return try recover(segments, in: directory, segmentSize: segmentSize)
        } catch let error as SystemError {
            throw .system(error)
        } catch let error as WALError {
            throw error
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    private static func recover(_ segments: [Segment], in directory: String, segmentSize: Int) throws -> (log: WriteAheadLog, records: [WALRecord]) {
        var records: [WALRecord] = []
        var previous: (segment: Segment, crc: UInt32)?
        var last: (path: String, scan: Frame.Scan)!
        for (position, segment) in segments.enumerated() {
            let path = directory + "/" + segment.name
            if let previous, previous.segment.sequence + 1 != segment.sequence {
                throw WALError.corrupt(path: path, offset: 0, reason: "segment \(previous.segment.sequence + 1) is missing")
            }
            let bytes = try Files.read(path)
            let chainPayload = Frame.headerSize + Frame.bodyHeaderSize
            guard bytes.count >= chainPayload + 4 else {
                throw WALError.corrupt(path: path, offset: 0, reason: "no chain record")
            }
            let seed = readLittleEndian(bytes, at: chainPayload, as: UInt32.self)
            let scan = Frame.scan(bytes, seed: seed)
            guard scan.records.first?.kind == Frame.chainKind else {
                throw WALError.corrupt(path: path, offset: 0, reason: "no chain record")
            }
            if let previous, previous.crc != seed {
                throw WALError.corrupt(path: path, offset: 0, reason: "does not continue the checksum chain of the previous segment")
            }
            let isLast = position == segments.count - 1
            if let damage = scan.damage, !(isLast && damage.torn) {
                throw WALError.corrupt(path: path, offset: damage.offset, reason: damage.reason)
            }
            records += scan.records.dropFirst()
            previous = (segment, scan.crc)
            last = (path, scan)
        }
        let file = try Syscall.open(last.path, O_RDWR)
        if last.scan.damage != nil {
            // Cut the torn frames off and restore the zeros that mark the end.
            try Syscall.ftruncate(file, last.scan.end, path: last.path)
            try Syscall.fallocate(file, length: segmentSize, path: last.path)
            try Syscall.fsync(file, path: last.path)
        }
        let lastIndex = records.map(\.index).max() ?? 0
        let log = WriteAheadLog(directory: directory, segmentSize: segmentSize, segments: segments, file: file,
                                offset: last.scan.end, crc: last.scan.crc, lastIndex: lastIndex)
        return (log, records)
    }

    /// Creates a segment beside the others: preallocated, its chain frame
    /// written and synced under a temporary name, then renamed into place.
    private static func create(_ segment: Segment, in directory: String, size: Int, previousCRC: UInt32) throws(SystemError) -> (file: Int32, crc: UInt32) {
        let path = directory + "/" + segment.name
        let temporary = path + ".tmp"
        let file = try Syscall.open(temporary, O_RDWR | O_CREAT | O_EXCL, 0o600)
        do throws(SystemError) {
            let chain = Frame.chain(previousCRC: previousCRC)
            try Syscall.fallocate(file, length: size, path: temporary)
            try Syscall.pwriteAll(file, chain.bytes, at: 0, path: temporary)
            try Syscall.fsync(file, path: temporary)
            try Syscall.rename(temporary, path)
            try Files.syncDirectory(directory)
            return (file, chain.crc)
        } catch {
            Syscall.close(file)
            _ = Glibc.unlink(temporary)
            throw error
        }
    }

    /// Buffers `record`; it is durable once `sync` returns. Cuts a new segment
    /// (writing and syncing what the current one holds) when it would not fit.
    public func append(_ record: WALRecord) throws(WALError) {
        let size = Frame.paddedSize(bodyLength: Frame.bodyHeaderSize + record.payload.count)
        let chainSize = Frame.chain(previousCRC: 0).bytes.count
        if offset + pending.count + size > segmentSize, offset + pending.count > chainSize {
            try sync()
            try cut(firstIndex: record.index != 0 ? record.index : lastIndex + 1)
        }
        crc = Frame.encode(record, seed: crc, into: &pending)
        lastIndex = max(lastIndex, record.index)
    }

    /// Writes what was appended and waits until it is on disk.
    public func sync() throws(WALError) {
        guard !pending.isEmpty else { return }
        let path = directory + "/" + segments.last!.name
        do {
            try Syscall.pwriteAll(file, pending, at: offset, path: path)
            try Syscall.fdatasync(file, path: path)
        } catch {
            throw .system(error)
        }
        offset += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    private func cut(firstIndex: UInt64) throws(WALError) {
        let next = Segment(sequence: segments.last!.sequence + 1, firstIndex: firstIndex)
        do {
            let (file, crc) = try Self.create(next, in: directory, size: segmentSize, previousCRC: crc)
            Syscall.close(self.file)
            self.file = file
            self.crc = crc
            offset = Frame.chain(previousCRC: 0).bytes.count
            segments.append(next)
        } catch {
            throw .system(error)
        }
    }

    /// Deletes the segments that hold only records with indexes up to
    /// `index`, once a snapshot covers them. The current segment stays; so
    /// must, in a later segment, every record the caller still needs (its
    /// latest hard state, the snapshot's marker).
    public func releaseSegments(through index: UInt64) throws(WALError) {
        // A segment is obsolete when the next one starts at or before index + 1.
        let limit = index < .max ? index + 1 : .max
        var released = 0
        while released + 1 < segments.count, segments[released + 1].firstIndex <= limit {
            released += 1
        }
        guard released > 0 else { return }
        do {
            // Oldest first, so a crash midway leaves a contiguous run of segments.
            for segment in segments[..<released] {
                try Syscall.unlink(directory + "/" + segment.name)
            }
            try Files.syncDirectory(directory)
        } catch {
            throw .system(error)
        }
        segments.removeFirst(released)
    }
}
