import Testing
@testable import WriteAheadLog

@Suite struct FrameTests {
    static func records(_ count: Int, size: Int = 100) -> [WALRecord] {
        (1...count).map { n in
            WALRecord(kind: 1 + UInt8(n % 3), index: UInt64(n), payload: (0..<size + n).map { UInt8(truncatingIfNeeded: n &* 7 &+ $0 | 1) })
        }
    }

    /// A segment's bytes as the log writes them: chain frame, records, zeros.
    static func segment(_ records: [WALRecord], size: Int = 64 * 1024) -> (bytes: [UInt8], offsets: [Int]) {
        var (bytes, crc) = Frame.chain(previousCRC: 0x1234_5678)
        var offsets: [Int] = []
        for record in records {
            offsets.append(bytes.count)
            crc = Frame.encode(record, seed: crc, into: &bytes)
        }
        return (bytes + [UInt8](repeating: 0, count: size - bytes.count), offsets)
    }

    @Test func framesAreAlignedAndRoundTrip() {
        let records = Self.records(20)
        let (bytes, offsets) = Self.segment(records)
        #expect(offsets.allSatisfy { $0 % 8 == 0 })
        let scan = Frame.scan(bytes, seed: 0x1234_5678)
        #expect(scan.damage == nil)
        #expect(Array(scan.records.dropFirst()) == records)
        #expect(scan.records.first?.kind == 0)
        #expect(scan.end == offsets.last! + Frame.paddedSize(bodyLength: Frame.bodyHeaderSize + records.last!.payload.count))
    }

    @Test func aWrongSeedBreaksTheChain() {
        let (bytes, _) = Self.segment(Self.records(3))
        let scan = Frame.scan(bytes, seed: 0x1234_5679)
        #expect(scan.records.isEmpty)
        #expect(scan.damage?.reason == "checksum mismatch")
    }

    /// A power cut leaves whole sectors unwritten (zeros): at every sector
    /// boundary the scan yields a prefix of the records and calls the rest torn.
    @Test func everySectorAlignedTearIsATornTail() {
        let records = Self.records(40, size: 150)
        let (bytes, _) = Self.segment(records)
        let written = Frame.scan(bytes, seed: 0x1234_5678).end
        for cut in stride(from: 512, through: written, by: 512) {
            var torn = bytes
            for index in cut..<torn.count { torn[index] = 0 }
            let scan = Frame.scan(torn, seed: 0x1234_5678)
            let recovered = Array(scan.records.dropFirst())
            #expect(recovered == Array(records.prefix(recovered.count)), "cut at \(cut)")
            #expect(scan.damage == nil || scan.damage!.torn, "cut at \(cut): \(String(describing: scan.damage))")
            #expect(scan.end <= cut)
        }
    }

    @Test func aFlippedByteBeforeIntactRecordsIsCorruption() {
        let records = Self.records(10)
        let (bytes, offsets) = Self.segment(records)
        for victim in [offsets[2] + 20, offsets[5] + 4, offsets[0]] {
            var corrupted = bytes
            corrupted[victim] ^= 0x40
            let scan = Frame.scan(corrupted, seed: 0x1234_5678)
            let damaged = offsets.firstIndex { $0 > victim }! - 1
            #expect(scan.damage?.offset == offsets[damaged], "byte \(victim)")
            #expect(scan.damage?.torn == false, "byte \(victim)")
            #expect(Array(scan.records.dropFirst()) == Array(records.prefix(damaged)))
        }
    }

    @Test func aFlippedByteInTheLastRecordIsCorruptionNotATear() {
        let records = Self.records(5)
        let (bytes, offsets) = Self.segment(records)
        var corrupted = bytes
        corrupted[offsets[4] + 30] ^= 1
        let damage = Frame.scan(corrupted, seed: 0x1234_5678).damage
        #expect(damage?.offset == offsets[4])
        #expect(damage?.torn == false)
    }

    @Test func aZeroedSectorBeforeIntactRecordsIsCorruption() {
        let records = Self.records(30, size: 600)
        let (bytes, offsets) = Self.segment(records)
        var corrupted = bytes
        let sector = (offsets[3] / 512 + 1) * 512
        for index in sector..<sector + 512 { corrupted[index] = 0 }
        let damage = Frame.scan(corrupted, seed: 0x1234_5678).damage
        #expect(damage != nil)
        #expect(damage?.torn == false)
    }

    @Test func aGarbageLengthBeforeIntactRecordsIsCorruption() {
        let (bytes, offsets) = Self.segment(Self.records(10))
        var corrupted = bytes
        corrupted[offsets[3] + 2] = 0x7F // length in the megabytes: past the segment
        let damage = Frame.scan(corrupted, seed: 0x1234_5678).damage
        #expect(damage?.reason.hasPrefix("frame length") == true)
        #expect(damage?.torn == false)
    }
}
