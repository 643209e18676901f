import CoreboxCore

/// One record of the log. `kind` is the caller's (0 is the log's own), and
/// `index` the Raft index the record belongs to, 0 when none: it decides
/// which segments a snapshot makes obsolete.
public struct WALRecord: Equatable, Sendable {
    public var kind: UInt8
    public var index: UInt64
    public var payload: [UInt8]

    public init(kind: UInt8, index: UInt64 = 0, payload: [UInt8]) {
        precondition(kind != Frame.chainKind, "WAL record kind 0 is reserved")
        self.kind = kind
        self.index = index
        self.payload = payload
    }

    init(unchecked kind: UInt8, index: UInt64, payload: [UInt8]) {
        self.kind = kind
        self.index = index
        self.payload = payload
    }
}

/// The on-disk framing of records, pure: encoding and decoding of a segment's bytes.
///
/// A frame is `length: u32 LE | crc: u32 LE | body`, zero-padded to a multiple
/// of 8 bytes; the body is `kind: u8 | index: u64 LE | payload` and `length`
/// its size. `crc` is the CRC-32C of the body seeded with the previous frame's
/// crc (a rolling checksum). Each segment opens with a chain frame (kind 0)
/// whose payload is the crc the previous segment ended with, and whose own crc
/// is seeded with it. Segments are preallocated, so eight zero bytes where a
/// header should be mark the end of the log.
enum Frame {
    static let chainKind: UInt8 = 0
    static let headerSize = 8
    static let bodyHeaderSize = 9
    /// The unit a disk writes atomically; a torn write leaves whole sectors of zeros.
    static let sectorSize = 512

    static func paddedSize(bodyLength: Int) -> Int {
        (headerSize + bodyLength + 7) & ~7
    }

    /// Appends the frame of `record` to `buffer`; returns its crc, the next seed.
    static func encode(_ record: WALRecord, seed: UInt32, into buffer: inout [UInt8]) -> UInt32 {
        var body: [UInt8] = []
        body.reserveCapacity(bodyHeaderSize + record.payload.count)
        body.append(record.kind)
        appendLittleEndian(record.index, to: &body)
        body += record.payload
        let crc = CRC32C.checksum(body, seed: seed)
        appendLittleEndian(UInt32(body.count), to: &buffer)
        appendLittleEndian(crc, to: &buffer)
        buffer += body
        buffer += repeatElement(0, count: paddedSize(bodyLength: body.count) - headerSize - body.count)
        return crc
    }

    /// The chain frame that opens a segment after one that ended with `previousCRC`.
    static func chain(previousCRC: UInt32) -> (bytes: [UInt8], crc: UInt32) {
        var payload: [UInt8] = []
        appendLittleEndian(previousCRC, to: &payload)
        var bytes: [UInt8] = []
        let crc = encode(WALRecord(unchecked: chainKind, index: 0, payload: payload), seed: previousCRC, into: &bytes)
        return (bytes, crc)
    }

    /// What a segment's bytes hold: the records up to the first frame that does
    /// not decode, and what stopped the reading there.
    struct Scan: Equatable {
        var records: [WALRecord] = []
        /// The crc of the last good frame: the seed of the next one.
        var crc: UInt32
        /// Where the good frames end: the next frame goes here.
        var end: Int
        /// nil when the log simply ends (zeros, or the end of the file).
        var damage: Damage?
    }

    struct Damage: Equatable {
        var offset: Int
        var reason: String
        /// The damage is an interrupted write: frames after the last fdatasync,
        /// never acknowledged, which recovery may cut off. Anything else is
        /// corruption of data that was acknowledged, and recovery must stop.
        var torn: Bool
    }

    /// Reads the frames of a segment from its start; `seed` is the crc the
    /// previous segment ended with (the chain frame is returned as a record of
    /// kind 0 for the caller to check).
    static func scan(_ bytes: [UInt8], seed: UInt32) -> Scan {
        var scan = Scan(crc: seed, end: 0)
        while true {
            let offset = scan.end
            guard offset + headerSize <= bytes.count else {
                if !bytes[offset...].allSatisfy({ $0 == 0 }) {
                    scan.damage = Damage(offset: offset, reason: "truncated header", torn: true)
                }
                return scan
            }
            let length = Int(readLittleEndian(bytes, at: offset, as: UInt32.self))
            let storedCRC = readLittleEndian(bytes, at: offset + 4, as: UInt32.self)
            if length == 0 && storedCRC == 0 {
                // The end of the log, unless intact frames follow a zeroed stretch.
                if intactFramesFollow(bytes, after: offset) {
                    scan.damage = Damage(offset: offset, reason: "zeroed frame header before further records", torn: false)
                }
                return scan
            }
            let end = offset + paddedSize(bodyLength: length)
            let reason: String
            if length < bodyHeaderSize || end > bytes.count {
                reason = "frame length \(length) does not fit the segment"
            } else {
                let body = offset + headerSize..<offset + headerSize + length
                let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[body]), seed: scan.crc) }
                if crc == storedCRC {
                    scan.records.append(WALRecord(
                        unchecked: bytes[body.lowerBound],
                        index: readLittleEndian(bytes, at: body.lowerBound + 1, as: UInt64.self),
                        payload: Array(bytes[body.lowerBound + bodyHeaderSize..<body.upperBound])
                    ))
                    scan.crc = crc
                    scan.end = end
                    continue
                }
                reason = "checksum mismatch"
            }
            let torn = hasZeroSector(bytes, offset..<min(end, bytes.count)) && !intactFramesFollow(bytes, after: offset)
            scan.damage = Damage(offset: offset, reason: reason, torn: torn)
            return scan
        }
    }

    /// Whether a whole sector overlapping `range` is zero: the mark of a write
    /// that stopped before it reached the disk (segments are preallocated with zeros).
    static func hasZeroSector(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        var sector = range.lowerBound / sectorSize * sectorSize
        while sector < range.upperBound {
            let sectorEnd = min(sector + sectorSize, bytes.count)
            if bytes[sector..<sectorEnd].allSatisfy({ $0 == 0 }) { return true }
            sector += sectorSize
        }
        return false
    }

    /// Whether two consecutive, chained frames stand anywhere after `offset`:
    /// the second's crc checks out seeded with the first's. Data after a torn
    /// write is zeros; intact records there mean acknowledged data would be
    /// lost by cutting the log at `offset`.
    static func intactFramesFollow(_ bytes: [UInt8], after offset: Int) -> Bool {
        func frame(at position: Int) -> (body: Range<Int>, crc: UInt32, end: Int)? {
            guard position + headerSize <= bytes.count else { return nil }
            let length = Int(readLittleEndian(bytes, at: position, as: UInt32.self))
            let end = position + paddedSize(bodyLength: length)
            guard length >= bodyHeaderSize, end <= bytes.count else { return nil }
            return (position + headerSize..<position + headerSize + length, readLittleEndian(bytes, at: position + 4, as: UInt32.self), end)
        }
        // Zeros (the preallocated rest of a segment) hold no frame: stop at the last other byte.
        guard let last = bytes.lastIndex(where: { $0 != 0 }), last > offset else { return false }
        var position = offset + 8
        while position <= last {
            if let first = frame(at: position), let second = frame(at: first.end),
               bytes.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[second.body]), seed: first.crc) }) == second.crc {
                return true
            }
            position += 8
        }
        return false
    }
}

func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { buffer += $0 }
}

func readLittleEndian<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as type: T.Type) -> T {
    bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
}
