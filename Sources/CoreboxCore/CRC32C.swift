import CCRC32C

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of
/// WAL records, snapshot files and etcd's HashKV. The CPU's `crc32`
/// instruction computes it where there is one, slicing-by-8 tables elsewhere.
public struct CRC32C: Sendable {
    /// The checksum of everything given to `update` so far.
    public private(set) var value: UInt32 = 0

    public init() {}

    public mutating func update(_ bytes: some Collection<UInt8>) {
        value = bytes.withContiguousStorageIfAvailable { Self.checksum(UnsafeRawBufferPointer($0), seed: value) }
            ?? Self.checksum(Array(bytes), seed: value)
    }

    /// The checksum of `bytes` continued from `seed` (0 to start afresh): a
    /// record's seed is the previous record's checksum, so the chain breaks
    /// when a record goes missing or moves.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard hardware, let base = bytes.baseAddress else { return tableChecksum(bytes, seed: seed) }
        return ~corebox_crc32c_update(~seed, base, bytes.count)
    }

    /// The CPU computes it (SSE 4.2) about ten times faster than the tables.
    static let hardware = corebox_crc32c_available() != 0

    /// The same checksum from the tables, eight bytes a step.
    static func tableChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        var offset = 0
        tables.withUnsafeBufferPointer { t in
            while offset + 8 <= bytes.count {
                let low = crc ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
                let high = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int(low >> 8 & 0xFF)]
                    ^ t[5 * 256 + Int(low >> 16 & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int(high >> 8 & 0xFF)]
                    ^ t[1 * 256 + Int(high >> 16 & 0xFF)] ^ t[Int(high >> 24)]
                offset += 8
            }
            while offset < bytes.count {
                crc = t[Int((crc ^ UInt32(bytes[offset])) & 0xFF)] ^ (crc >> 8)
                offset += 1
            }
        }
        return ~crc
    }

    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// Eight tables of 256 entries, one after the other: table k gives the
    /// CRC of a byte followed by k zero bytes.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[byte] = crc
        }
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = tables[(slice - 1) * 256 + byte]
                tables[slice * 256 + byte] = tables[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return tables
    }()
}
