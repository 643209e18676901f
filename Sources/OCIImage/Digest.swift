import CoreboxCore

/// A content digest, `sha256:<64 lower-case hex digits>`: the name a blob
/// is stored and verified under. Only SHA-256 is accepted: it is what
/// every image in practice uses, and the hex is checked strictly because a
/// digest becomes a file name (`blobs/sha256/<hex>`) and must not smuggle a path.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Codable {
    public let hex: String

    public init(parsing text: String) throws(ImageError) {
        guard let colon = text.firstIndex(of: ":") else { throw ImageError("invalid digest \"\(text)\"") }
        let algorithm = text[..<colon], hex = text[text.index(after: colon)...]
        guard algorithm == "sha256" else {
            throw ImageError("unsupported digest algorithm \"\(algorithm)\" in \"\(text)\" (only sha256)")
        }
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw ImageError("invalid sha256 digest \"\(text)\"")
        }
        self.hex = String(hex)
    }

    /// The digest of `bytes`.
    public init(of bytes: [UInt8]) { self.init(hashing: SHA256.hash(bytes)) }

    init(hashing sum: [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        hex = String(decoding: sum.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    public var description: String { "sha256:\(hex)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try Digest(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Hashes a blob as it streams past and checks it against its descriptor
/// at the end: a mismatch in size or digest is an error naming the blob.
struct BlobVerifier {
    let expected: Digest
    let expectedSize: Int64?
    private var sha = SHA256()
    private(set) var size: Int64 = 0

    init(expected: Digest, size: Int64?) {
        self.expected = expected
        expectedSize = size
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        size += Int64(bytes.count)
        if let expectedSize, size > expectedSize {
            throw ImageError("blob \(expected): larger than its descriptor's size \(expectedSize)")
        }
        sha.update(bytes)
    }

    consuming func finish() throws(ImageError) {
        if let expectedSize, size != expectedSize {
            throw ImageError("blob \(expected): size \(size), its descriptor says \(expectedSize)")
        }
        let actual = Digest(hashing: sha.finalize())
        guard actual == expected else { throw ImageError("blob \(expected): content has digest \(actual)") }
    }
}
