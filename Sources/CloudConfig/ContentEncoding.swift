import CoreboxCore

/// Content that cannot be decoded: bad base64, bad gzip, broken multipart.
public struct ContentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What failed, in Go's words where coreos-cloudinit would print Go's
    /// ("illegal base64 data at input byte 12", "gzip: invalid header").
    public var message: String
    /// The 1-based line of the user-data it concerns, when it concerns one.
    public var line: Int?

    public init(_ message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }

    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}

/// A `write_files` entry's `encoding`, with exactly the names
/// coreos-cloudinit accepts (config/decode.go); any other name is its
/// "Unsupported encoding" error, so `init?(name:)` fails.
public enum ContentEncoding: Equatable, Sendable {
    case none
    case base64
    case gzip
    case gzipBase64

    public init?(name: String) {
        switch name {
        case "": self = .none
        case "b64", "base64": self = .base64
        case "gz", "gzip": self = .gzip
        case "gz+base64", "gzip+base64", "gz+b64", "gzip+b64": self = .gzipBase64
        default: return nil
        }
    }

    /// The bytes `text` stands for.
    public func decode(_ text: String) throws(ContentError) -> [UInt8] {
        try decode(bytes: Array(text.utf8))
    }

    /// The bytes `content` stands for (content that a `!!binary` scalar
    /// already turned into bytes, which need not be UTF-8).
    public func decode(bytes content: [UInt8]) throws(ContentError) -> [UInt8] {
        switch self {
        case .none: content
        case .base64: try Base64.decode(content)
        case .gzip: try Gzip.inflateContent(content)
        case .gzipBase64: try Gzip.inflateContent(Base64.decode(content))
        }
    }
}

/// Go's `base64.StdEncoding.DecodeString`, which coreos-cloudinit decodes
/// with: the standard alphabet, padding required, CR and LF skipped
/// anywhere, bits left over in the last quantum ignored, and any other byte
/// an error at its offset (offsets count the skipped CR and LF too).
enum Base64 {
    static func decode(_ input: [UInt8]) throws(ContentError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            index = try decodeQuantum(input, from: index, into: &output)
        }
        return output
    }

    private static func illegal(at offset: Int) -> ContentError {
        ContentError("illegal base64 data at input byte \(offset)")
    }

    private static func isNewline(_ byte: UInt8) -> Bool { byte == 0x0A || byte == 0x0D }

    private static func sextet(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(byte - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    /// One group of four symbols from `start`, appended to `output`; the index
    /// after it. Go reports errors at the same offsets, which the tests pin.
    private static func decodeQuantum(_ input: [UInt8], from start: Int, into output: inout [UInt8]) throws(ContentError) -> Int {
        let pad = UInt8(ascii: "=")
        var index = start
        var bits: UInt32 = 0
        var symbols = 0
        while symbols < 4 {
            guard index < input.count else {
                if symbols == 0 { return index }
                // Padding is required: a quantum cut short is an error.
                throw illegal(at: index - symbols)
            }
            let byte = input[index]
            index += 1
            if let value = sextet(byte) {
                bits = bits << 6 | value
                symbols += 1
                continue
            }
            if isNewline(byte) { continue }
            guard byte == pad, symbols >= 2 else { throw illegal(at: index - 1) }
            if symbols == 2 {
                // "xx" needs "==": the second "=" may come after newlines.
                while index < input.count, isNewline(input[index]) { index += 1 }
                guard index < input.count else { throw illegal(at: input.count) }
                guard input[index] == pad else { throw illegal(at: index - 1) }
                index += 1
            }
            while index < input.count, isNewline(input[index]) { index += 1 }
            if index < input.count { throw illegal(at: index) }
            break
        }
        // 6 bits a symbol: 2 symbols carry one byte, 3 two, 4 three.
        bits <<= 6 * UInt32(4 - symbols)
        let bytes = [UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 8), UInt8(truncatingIfNeeded: bits)]
        output += bytes[..<(symbols - 1)]
        return index
    }
}

extension Gzip {
    /// CoreboxCore's inflate with its error as a content error, the one
    /// cloud-config reports for every encoding.
    static func inflateContent(_ bytes: [UInt8]) throws(ContentError) -> [UInt8] {
        do { return try inflate(bytes) } catch { throw ContentError(error.message) }
    }
}
