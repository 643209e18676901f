import CoreboxCore
import Foundation
import Testing

struct GzipTests {
    /// Bytes that compress a little, like text, and are not one repeated byte.
    static func sample(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 59) + UInt8(ascii: "a")
        }
    }

    @Test(arguments: [0, 1, 100, 70_000, 1_000_000])
    func inflatesWhatGzipMade(count: Int) throws {
        let data = Self.sample(count: count, seed: UInt64(count))
        #expect(try Gzip.inflate(Gzip.gzip(data)) == data)
        #expect(try Gzip.inflate(Gzip.gzip(data, named: true)) == data)
    }

    @Test func inflatesBinaryData() throws {
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        #expect(try Gzip.inflate(Gzip.gzip(data)) == data)
    }

    /// Go's gzip.Reader (and gzip -d) read concatenated members as one stream.
    @Test func concatenatedMembersAreOneStream() throws {
        let first = Array("#cloud-config\n".utf8), second = Array("hostname: a\n".utf8)
        let joined = try Gzip.gzip(first) + Gzip.gzip([]) + Gzip.gzip(second)
        #expect(try Gzip.inflate(joined) == first + second)
    }

    @Test func everyTruncationIsAnError() throws {
        let whole = try Gzip.gzip(Self.sample(count: 3000, seed: 9))
        for length in 1..<whole.count {
            #expect(throws: GzipError.self, "cut at \(length)") { try Gzip.inflate(Array(whole.prefix(length))) }
        }
        #expect(throws: GzipError("gzip: unexpected end of data")) { try Gzip.inflate(Array(whole.dropLast())) }
        #expect(throws: GzipError("gzip: unexpected end of data")) { try Gzip.inflate(Array(whole.prefix(5))) }
        #expect(throws: GzipError("gzip: no data")) { try Gzip.inflate([]) }
    }

    @Test func corruptionIsNamed() throws {
        let whole = try Gzip.gzip(Array("hello, world\n".utf8))
        var badMagic = whole
        badMagic[1] = 0x8C
        #expect(throws: GzipError("gzip: invalid header")) { try Gzip.inflate(badMagic) }
        var badMethod = whole
        badMethod[2] = 7
        #expect(throws: GzipError("gzip: invalid header")) { try Gzip.inflate(badMethod) }
        var badCRC = whole
        badCRC[whole.count - 8] ^= 0xFF
        #expect(throws: GzipError("gzip: invalid checksum")) { try Gzip.inflate(badCRC) }
        var badLength = whole
        badLength[whole.count - 1] ^= 0x01
        #expect(throws: GzipError("gzip: invalid checksum")) { try Gzip.inflate(badLength) }
        // The first deflate block's header: final, with the reserved type 3.
        var badBlock = whole
        badBlock[10] = 0x07
        #expect(throws: GzipError("gzip: corrupt data (invalid block type)")) { try Gzip.inflate(badBlock) }
        // After a member, anything but another member is an error, as in Go.
        #expect(throws: GzipError("gzip: invalid header")) { try Gzip.inflate(whole + Array("trailing".utf8)) }
        #expect(throws: GzipError("gzip: invalid header")) { try Gzip.inflate(Array("#cloud-config\n".utf8)) }
    }

    /// A layer arrives in pieces of any size; the decoder's output is the same
    /// whatever the cuts, and a cut stream is still an error at the end.
    @Test func decodesInPieces() throws {
        let data = Self.sample(count: 300_000, seed: 5)
        let whole = try Gzip.gzip(data) + Gzip.gzip(Array("tail".utf8))
        for piece in [1, 7, 512, 65_536, whole.count] {
            let decoder = try GzipDecoder()
            var output: [UInt8] = []
            var offset = 0
            while offset < whole.count {
                let end = min(offset + piece, whole.count)
                try whole[offset..<end].withUnsafeBytes { bytes in
                    try decoder.decode(bytes) { output += $0 }
                }
                offset = end
            }
            try decoder.finish()
            #expect(output == data + Array("tail".utf8), "pieces of \(piece)")
        }
        let cut = try GzipDecoder()
        try Array(whole.prefix(1000)).withUnsafeBytes { bytes in try cut.decode(bytes) { _ in } }
        #expect(throws: GzipError("gzip: unexpected end of data")) { try cut.finish() }
    }

    @Test func errorsDescribeThemselves() {
        #expect(GzipError("gzip: invalid header").description == "gzip: invalid header")
    }
}

extension Gzip {
    /// `bytes` as gzip(1) compresses them, with its header name field when `named`.
    static func gzip(_ bytes: [UInt8], named: Bool = false) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("data.txt")
        try Data(bytes).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = ["-c", named ? "-N" : "-n", file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return [UInt8](data)
    }
}
