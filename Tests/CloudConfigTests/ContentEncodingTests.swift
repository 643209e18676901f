@testable import CloudConfig
import Foundation
import Testing

/// write_files' encodings, with coreos-cloudinit's names and Go's base64.
struct ContentEncodingTests {
    @Test func namesAreCoreosCloudinits() {
        #expect(ContentEncoding(name: "") == ContentEncoding.none)
        for name in ["b64", "base64"] { #expect(ContentEncoding(name: name) == .base64) }
        for name in ["gz", "gzip"] { #expect(ContentEncoding(name: name) == .gzip) }
        for name in ["gz+base64", "gzip+base64", "gz+b64", "gzip+b64"] { #expect(ContentEncoding(name: name) == .gzipBase64) }
        for name in ["GZIP", "Base64", "base64+gzip", "b64+gz", "gzip ", " b64", "base32", "raw", "none"] {
            #expect(ContentEncoding(name: name) == nil, "\(name)")
        }
    }

    @Test func plainTextIsItsBytes() throws {
        #expect(try ContentEncoding.none.decode("héllo\n") == Array("héllo\n".utf8))
    }

    /// The gzip+base64 sample of coreos-cloudinit's own test data: "42".
    @Test func gzipBase64() throws {
        #expect(try ContentEncoding.gzipBase64.decode("H4sIAGUfoFQC/zMxAgCIsCQyAgAAAA==") == Array("42".utf8))
        #expect(throws: ContentError("illegal base64 data at input byte 4")) { try ContentEncoding.gzipBase64.decode("H4sI!") }
        #expect(throws: ContentError("gzip: invalid header")) { try ContentEncoding.gzipBase64.decode("NDI=") }
    }

    @Test func gzipIsTheStringsBytes() throws {
        #expect(throws: ContentError("gzip: invalid header")) { try ContentEncoding.gzip.decode("42") }
        #expect(throws: ContentError("gzip: no data")) { try ContentEncoding.gzip.decode("") }
    }

    /// Go's `base64.StdEncoding` offsets for corrupt input (its own
    /// TestDecodeCorrupt table), and a few with line breaks; nil is valid.
    @Test(arguments: [
        ("", nil), ("\n", nil), ("AAA=\n", nil), ("AAAA\n", nil), ("!!!!", 0), ("====", 0), ("x===", 1),
        ("=AAA", 0), ("A=AA", 1), ("AA=A", 2), ("AA==A", 4), ("AAA=AAAA", 4), ("AAAAA", 4), ("AAAAAA", 4),
        ("A=", 1), ("A==", 1), ("AA=", 3), ("AA==", nil), ("AAA=", nil), ("AAAA", nil), ("AAAAAA=", 7),
        ("YWJjZA=====", 8), ("A!\n", 1), ("A=\n", 1),
        ("AA=\n", 4), ("AA\r\n=\n=\r\n", nil), ("AB\nC", 1), ("AAAA AAAA", 4), ("AAAA\tAAAA", 4), ("AA-_", 2),
    ] as [(String, Int?)])
    func base64ErrorsAtGosOffsets(input: String, offset: Int?) throws {
        if let offset {
            #expect(throws: ContentError("illegal base64 data at input byte \(offset)")) { try ContentEncoding.base64.decode(input) }
        } else {
            #expect(throws: Never.self) { try ContentEncoding.base64.decode(input) }
        }
    }

    @Test func base64Values() throws {
        #expect(try ContentEncoding.base64.decode("NDI=") == Array("42".utf8))
        #expect(try ContentEncoding.base64.decode("Zm9vYmFy") == Array("foobar".utf8))
        #expect(try ContentEncoding.base64.decode("Zm9v\r\nYmE=") == Array("fooba".utf8))
        #expect(try ContentEncoding.base64.decode("Zg==\n") == Array("f".utf8))
        // Leftover bits in the last quantum are ignored (StdEncoding is not strict).
        #expect(try ContentEncoding.base64.decode("Zh==") == Array("f".utf8))
        #expect(try ContentEncoding.base64.decode("") == [])
    }

    /// Against coreutils' encoder, whose output wraps at 76 columns.
    @Test func base64RoundTripsCoreutils() throws {
        let directory = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for count in [0, 1, 2, 3, 4, 57, 58, 1000, 4099] {
            let data = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ count) }
            let file = directory.appendingPathComponent("data")
            try Data(data).write(to: file)
            let (encoded, status) = try ExternalTool.run("/usr/bin/base64", [file.path])
            #expect(status == 0)
            #expect(try ContentEncoding.base64.decode(String(decoding: encoded, as: UTF8.self)) == data, "\(count) bytes")
            let crlf = String(decoding: encoded, as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n")
            #expect(try ContentEncoding.base64.decode(crlf) == data, "\(count) bytes, CRLF")
        }
    }

    @Test func gzipBase64OfWhatGzipMade() throws {
        let text = String(repeating: "[Unit]\nDescription=x\n", count: 50)
        let encoded = try Data(ExternalTool.gzip(Array(text.utf8))).base64EncodedString(options: .lineLength76Characters)
        #expect(try ContentEncoding.gzipBase64.decode(encoded) == Array(text.utf8))
    }
}

struct ContentErrorTests {
    /// Bad gzip is reported in CoreboxCore's words, as a content error.
    @Test func gzipFailuresAreContentErrors() throws {
        #expect(throws: ContentError("gzip: invalid header")) { try ContentEncoding.gzip.decode("not gzip") }
        #expect(throws: ContentError("gzip: no data")) { try ContentEncoding.gzip.decode("") }
        let text = "#cloud-config\n"
        #expect(try ContentEncoding.gzip.decode(bytes: ExternalTool.gzip(Array(text.utf8))) == Array(text.utf8))
    }

    @Test func errorsDescribeThemselves() {
        #expect(ContentError("gzip: invalid header").description == "gzip: invalid header")
        #expect(ContentError("multipart: no boundary in Content-Type", line: 3).description == "line 3: multipart: no boundary in Content-Type")
    }
}
