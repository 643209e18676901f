@testable import CloudConfig
import Foundation
import Testing

/// Runs real tools (gzip, diff, patch) on temporary files: the tests'
/// independent reference for the codecs.
enum ExternalTool {
    /// A fresh directory, removed by the caller through `defer`.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cloudconfig-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The tool's standard output and exit status.
    static func run(_ path: String, _ arguments: [String]) throws -> (output: [UInt8], status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ([UInt8](data), process.terminationStatus)
    }

    /// `bytes` as gzip(1) compresses them, with its header name field when `named`.
    static func gzip(_ bytes: [UInt8], named: Bool = false) throws -> [UInt8] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("data.txt")
        try Data(bytes).write(to: file)
        let (output, status) = try run("/usr/bin/gzip", ["-c", named ? "-N" : "-n", file.path])
        #expect(status == 0)
        return output
    }
}

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
        #expect(try Gzip.inflate(ExternalTool.gzip(data)) == data)
        #expect(try Gzip.inflate(ExternalTool.gzip(data, named: true)) == data)
    }

    @Test func inflatesBinaryData() throws {
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        #expect(try Gzip.inflate(ExternalTool.gzip(data)) == data)
    }

    /// Go's gzip.Reader (and gzip -d) read concatenated members as one stream.
    @Test func concatenatedMembersAreOneStream() throws {
        let first = Array("#cloud-config\n".utf8), second = Array("hostname: a\n".utf8)
        let joined = try ExternalTool.gzip(first) + ExternalTool.gzip([]) + ExternalTool.gzip(second)
        #expect(try Gzip.inflate(joined) == first + second)
    }

    @Test func everyTruncationIsAnError() throws {
        let whole = try ExternalTool.gzip(Self.sample(count: 3000, seed: 9))
        for length in 1..<whole.count {
            #expect(throws: ContentError.self, "cut at \(length)") { try Gzip.inflate(Array(whole.prefix(length))) }
        }
        #expect(throws: ContentError("gzip: unexpected end of data")) { try Gzip.inflate(Array(whole.dropLast())) }
        #expect(throws: ContentError("gzip: unexpected end of data")) { try Gzip.inflate(Array(whole.prefix(5))) }
        #expect(throws: ContentError("gzip: no data")) { try Gzip.inflate([]) }
    }

    @Test func corruptionIsNamed() throws {
        let whole = try ExternalTool.gzip(Array("hello, world\n".utf8))
        var badMagic = whole
        badMagic[1] = 0x8C
        #expect(throws: ContentError("gzip: invalid header")) { try Gzip.inflate(badMagic) }
        var badMethod = whole
        badMethod[2] = 7
        #expect(throws: ContentError("gzip: invalid header")) { try Gzip.inflate(badMethod) }
        var badCRC = whole
        badCRC[whole.count - 8] ^= 0xFF
        #expect(throws: ContentError("gzip: invalid checksum")) { try Gzip.inflate(badCRC) }
        var badLength = whole
        badLength[whole.count - 1] ^= 0x01
        #expect(throws: ContentError("gzip: invalid checksum")) { try Gzip.inflate(badLength) }
        // The first deflate block's header: final, with the reserved type 3.
        var badBlock = whole
        badBlock[10] = 0x07
        #expect(throws: ContentError("gzip: corrupt data (invalid block type)")) { try Gzip.inflate(badBlock) }
        // After a member, anything but another member is an error, as in Go.
        #expect(throws: ContentError("gzip: invalid header")) { try Gzip.inflate(whole + Array("trailing".utf8)) }
        #expect(throws: ContentError("gzip: invalid header")) { try Gzip.inflate(Array("#cloud-config\n".utf8)) }
    }

    @Test func errorsDescribeThemselves() {
        #expect(ContentError("gzip: invalid header").description == "gzip: invalid header")
        #expect(ContentError("multipart: no boundary in Content-Type", line: 3).description == "line 3: multipart: no boundary in Content-Type")
    }
}
