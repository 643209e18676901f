import CoreboxCore
import Foundation
import Testing

struct SHA256Tests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// FIPS 180-4 examples.
    @Test func standardVectors() {
        #expect(Self.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// A message fed in uneven pieces across block boundaries, from arrays,
    /// slices, raw buffers and a non-contiguous collection.
    @Test func piecesAcrossBlockBoundaries() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var pieces = SHA256()
        var offset = 0
        var turn = 0
        let sizes = [1, 63, 64, 65, 1000, 55, 56, 57]
        while offset < million.count {
            let end = min(offset + sizes[turn % sizes.count], million.count)
            switch turn % 3 {
            case 0: pieces.update(million[offset..<end])
            case 1: million[offset..<end].withUnsafeBytes { pieces.update($0) }
            default: pieces.update(million[offset..<end].lazy.map { $0 })
            }
            offset = end
            turn += 1
        }
        #expect(Self.hex(pieces.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Every length around the padding boundaries, against sha256sum.
    @Test func paddingBoundariesMatchSha256sum() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var files: [String] = []
        var expected: [String] = []
        for length in [55, 56, 57, 63, 64, 65, 119, 120, 128, 129] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ length) }
            let file = directory.appendingPathComponent("\(length)").path
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            files.append(file)
            expected.append(Self.hex(SHA256.hash(bytes)))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = files
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(output.split(separator: "\n").map { String($0.prefix(64)) } == expected)
    }
}
