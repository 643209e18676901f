@testable import CoreboxCore
import Testing

@Suite struct CRC32CTests {
    /// Check values of the Castagnoli polynomial (RFC 3720, appendix B.4, and the usual "123456789").
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0...31)) == 0x46DD_794E)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func seedingContinuesTheChecksum() {
        let bytes = Array("rolling checksums chain records together".utf8)
        for split in [0, 1, 7, 8, 9, 20, bytes.count] {
            let first = CRC32C.checksum(Array(bytes[..<split]))
            #expect(CRC32C.checksum(Array(bytes[split...]), seed: first) == CRC32C.checksum(bytes))
            var running = CRC32C()
            running.update(bytes[..<split])
            running.update(bytes[split...].lazy.map { $0 })
            #expect(running.value == CRC32C.checksum(bytes))
        }
    }
}

extension CRC32CTests {
    /// The CPU's instruction and the tables give the same checksums, at every
    /// length around the eight-byte steps and from any seed.
    @Test func theInstructionAndTheTablesAgree() {
        #if arch(x86_64)
        #expect(CRC32C.hardware, "x86-64 machines here have SSE 4.2")
        #endif
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4099).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in Array(0...33) + [1000, 4096, 4099] {
            let seed = UInt32.random(in: 0...UInt32.max, using: &generator)
            bytes.prefix(length).withUnsafeBytes { buffer in
                #expect(CRC32C.checksum(buffer, seed: seed) == CRC32C.tableChecksum(buffer, seed: seed), "length \(length)")
            }
        }
    }
}
