/// JSON as Go's encoding/json writes it (what `etcdctl -w json` prints):
/// object members in declaration order, `omitempty` members left out when
/// zero, integers in decimal, []byte in standard base64, strings with HTML
/// characters escaped.
import CoreboxCore

struct GoJSON {
    private(set) var bytes: [UInt8] = []
    /// Per open object or array: whether a member has been written.
    private var separated: [Bool] = []

    init() {}

    // MARK: Structure

    mutating func object(_ body: (inout GoJSON) -> Void) {
        element()
        bytes.append(UInt8(ascii: "{"))
        separated.append(false)
        body(&self)
        separated.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func array<Elements: Sequence>(_ elements: Elements, _ body: (inout GoJSON, Elements.Element) -> Void) {
        element()
        bytes.append(UInt8(ascii: "["))
        separated.append(false)
        for item in elements { body(&self, item) }
        separated.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    /// A member's name; its value must follow.
    mutating func key(_ name: String) {
        comma()
        appendString(Array(name.utf8))
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// Set between a member's name and its value.
    private var afterKey = false

    /// Before a value: the comma that separates it from the previous array
    /// element (a member's value has had its comma before its name).
    private mutating func element() {
        if afterKey {
            afterKey = false
        } else {
            comma()
        }
    }

    private mutating func comma() {
        guard let last = separated.last else { return }
        if last { bytes.append(UInt8(ascii: ",")) }
        separated[separated.count - 1] = true
    }

    // MARK: Values

    mutating func null() { raw("null") }
    mutating func bool(_ value: Bool) { raw(value ? "true" : "false") }
    mutating func number(_ value: Int64) { raw(String(value)) }
    mutating func number(_ value: UInt64) { raw(String(value)) }

    mutating func string(_ value: String) {
        element()
        appendString(Array(value.utf8))
    }

    /// A Go []byte: base64 in a string, `null` when nil (callers decide nil).
    mutating func base64(_ value: some Collection<UInt8>) {
        element()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: Self.base64Encoded(Array(value)))
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func raw(_ text: String) {
        element()
        bytes.append(contentsOf: text.utf8)
    }

    // MARK: omitempty members

    mutating func member(_ name: String, _ value: Int64, omitEmpty: Bool = true) {
        if omitEmpty && value == 0 { return }
        key(name)
        number(value)
    }

    mutating func member(_ name: String, _ value: UInt64, omitEmpty: Bool = true) {
        if omitEmpty && value == 0 { return }
        key(name)
        number(value)
    }

    mutating func member(_ name: String, _ value: Bool, omitEmpty: Bool = true) {
        if omitEmpty && !value { return }
        key(name)
        bool(value)
    }

    mutating func member(_ name: String, _ value: String, omitEmpty: Bool = true) {
        if omitEmpty && value.isEmpty { return }
        key(name)
        string(value)
    }

    mutating func member(_ name: String, bytes value: some Collection<UInt8>) {
        if value.isEmpty { return }
        key(name)
        base64(value)
    }

    mutating func member(_ name: String, strings value: [String]) {
        if value.isEmpty { return }
        key(name)
        array(value) { $0.string($1) }
    }

    // MARK: Encoding

    private mutating func appendString(_ value: [UInt8]) {
        JSONString.append(value, to: &bytes)
    }

    static func base64Encoded(_ input: [UInt8]) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int(chunk >> UInt32(shift) & 63)]) }
            index += 3
        }
        let left = input.count - index
        if left > 0 {
            let chunk = UInt32(input[index]) << 16 | (left == 2 ? UInt32(input[index + 1]) << 8 : 0)
            out.append(alphabet[Int(chunk >> 18 & 63)])
            out.append(alphabet[Int(chunk >> 12 & 63)])
            out.append(left == 2 ? alphabet[Int(chunk >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return out
    }
}
