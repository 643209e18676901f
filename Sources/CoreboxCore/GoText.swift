// Text as Go writes it, for outputs that must match Go programs byte for
// byte (etcd's JSON answers, etcdctl's output).

/// Walks bytes as UTF-8: each step is a scalar, or nil for one byte that
/// does not start a valid sequence.
public struct UTF8Decoder {
    private let bytes: [UInt8]
    private var index = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func next() -> (Unicode.Scalar?, Int, Int)? {
        guard index < bytes.count else { return nil }
        let start = index
        let lead = bytes[index]
        let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
        if length == 0 || start + length > bytes.count {
            index += 1
            return (nil, 1, start)
        }
        var decoder = Unicode.UTF8()
        var iterator = bytes[start..<start + length].makeIterator()
        if case .scalarValue(let scalar) = decoder.decode(&iterator), String(scalar).utf8.count == length {
            index += length
            return (scalar, length, start)
        }
        index += 1
        return (nil, 1, start)
    }
}

/// JSON strings as Go's encoding/json writes them.
public enum JSONString {
    /// encoding/json's string: `"`, `\` and control characters escaped
    /// (`\n`, `\r`, `\t`, else `\u00xx`), `<`, `>`, `&`, U+2028 and U+2029
    /// as `\u` escapes, invalid UTF-8 as `\ufffd`.
    public static func append(_ value: [UInt8], to bytes: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        var decoder = UTF8Decoder(value)
        while let (scalar, length, start) = decoder.next() {
            guard let scalar else {
                bytes.append(contentsOf: "\\ufffd".utf8)
                continue
            }
            switch scalar.value {
            case 0x22: bytes.append(contentsOf: "\\\"".utf8)
            case 0x5C: bytes.append(contentsOf: "\\\\".utf8)
            case 0x0A: bytes.append(contentsOf: "\\n".utf8)
            case 0x0D: bytes.append(contentsOf: "\\r".utf8)
            case 0x09: bytes.append(contentsOf: "\\t".utf8)
            case 0..<0x20, 0x3C, 0x3E, 0x26:
                let byte = UInt8(scalar.value)
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 15)])
            case 0x2028: bytes.append(contentsOf: "\\u2028".utf8)
            case 0x2029: bytes.append(contentsOf: "\\u2029".utf8)
            default: bytes.append(contentsOf: value[start..<start + length])
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `text` as a JSON string literal.
    public static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        append(Array(text.utf8), to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
