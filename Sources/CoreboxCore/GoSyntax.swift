import Glibc

/// etcdctl and coreos-cloudinit are Go programs: their flags take Go's
/// number, boolean and duration syntax, and their messages quote values and
/// print durations and sizes the way Go's standard library does. These are
/// those rules, so kvctl and cloud-init accept and print the same text.
public enum GoSyntax {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String

        public init(description: String) { self.description = description }
    }

    // MARK: Numbers (strconv.ParseInt)

    /// Go's `strconv.ParseInt(text, base, 64)`. Base 0 reads a `0x`, `0o`,
    /// `0b` or leading-`0` prefix and allows underscores between digits.
    public static func parseInt(_ text: String, base: Int) throws(ParseError) -> Int64 {
        func failure(_ reason: String) -> ParseError {
            ParseError(description: "strconv.ParseInt: parsing \(quote(text)): \(reason)")
        }
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        var radix = base
        var underscores = false
        if base == 0 {
            radix = 10
            if digits.first == "0" {
                let next = digits.dropFirst().first?.lowercased()
                switch next {
                case "x": radix = 16; digits = digits.dropFirst(2)
                case "o": radix = 8; digits = digits.dropFirst(2)
                case "b": radix = 2; digits = digits.dropFirst(2)
                default: radix = 8; digits = digits.dropFirst()
                    if digits.isEmpty { return 0 }
                }
            }
            underscores = true
        }
        if underscores, digits.contains("_") {
            guard underscoresAreWellPlaced(text) else { throw failure("invalid syntax") }
            digits = digits.filter { $0 != "_" }
        }
        guard !digits.isEmpty else { throw failure("invalid syntax") }
        var magnitude: UInt64 = 0
        var overflow = false
        for character in digits {
            guard let digit = character.hexDigitValue, digit < radix else { throw failure("invalid syntax") }
            let (shifted, o1) = magnitude.multipliedReportingOverflow(by: UInt64(radix))
            let (sum, o2) = shifted.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { overflow = true }
            magnitude = sum
        }
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        if overflow || magnitude > limit { throw failure("value out of range") }
        return negative ? Int64(bitPattern: 0 &- magnitude) : Int64(magnitude)
    }

    /// Go's rule for base-0 literals: an underscore only between digits, or
    /// after the base prefix.
    private static func underscoresAreWellPlaced(_ text: String) -> Bool {
        var characters = Array(text.lowercased())
        if let first = characters.first, first == "-" || first == "+" { characters.removeFirst() }
        var hex = false
        var previous: Character = "^"
        if characters.count >= 2, characters[0] == "0", "xbo".contains(characters[1]) {
            hex = characters[1] == "x"
            characters.removeFirst(2)
            previous = "0"
        }
        for character in characters {
            if character.isNumber || (hex && character.isHexDigit) {
                previous = "0"
                continue
            }
            if character == "_" {
                if previous != "0" { return false }
            } else if previous == "_" {
                return false
            }
            previous = character
        }
        return previous != "_"
    }

    // MARK: Booleans (strconv.ParseBool)

    public static func parseBool(_ text: String) throws(ParseError) -> Bool {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": return true
        case "0", "f", "F", "FALSE", "false", "False": return false
        default: throw ParseError(description: "strconv.ParseBool: parsing \(quote(text)): invalid syntax")
        }
    }

    // MARK: Durations (time.ParseDuration, Duration.String)

    private static let units: [String: UInt64] = [
        "ns": 1, "us": 1_000, "\u{00B5}s": 1_000, "\u{03BC}s": 1_000, "ms": 1_000_000,
        "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]

    /// Go's `time.ParseDuration`: a signed sequence of decimal numbers, each
    /// with an optional fraction and a unit ("300ms", "1.5h", "2h45m").
    public static func parseDuration(_ text: String) throws(ParseError) -> Duration {
        let invalid = ParseError(description: "time: invalid duration \(quote(text))")
        var rest = Substring(text).unicodeScalars[...]
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if String(rest) == "0" { return .zero }
        if rest.isEmpty { throw invalid }
        var total: UInt64 = 0
        func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 48 && scalar.value <= 57 }
        while !rest.isEmpty {
            guard let first = rest.first, first == "." || isDigit(first) else { throw invalid }
            var whole: UInt64 = 0
            let integerDigits = rest.prefix(while: isDigit)
            for digit in integerDigits {
                let (shifted, o1) = whole.multipliedReportingOverflow(by: 10)
                let (sum, o2) = shifted.addingReportingOverflow(UInt64(digit.value - 48))
                if o1 || o2 || sum > 1 << 63 { throw invalid }
                whole = sum
            }
            rest = rest.dropFirst(integerDigits.count)
            var fraction: UInt64 = 0
            var scale: Double = 1
            var fractionDigits = 0
            if rest.first == "." {
                rest = rest.dropFirst()
                let digits = rest.prefix(while: isDigit)
                fractionDigits = digits.count
                var overflowed = false
                for digit in digits where !overflowed {
                    if fraction > (1 << 63 - 1) / 10 {
                        overflowed = true
                        continue
                    }
                    fraction = fraction * 10 + UInt64(digit.value - 48)
                    scale *= 10
                }
                rest = rest.dropFirst(digits.count)
            }
            if integerDigits.isEmpty && fractionDigits == 0 { throw invalid }
            let unitText = rest.prefix { $0 != "." && !isDigit($0) }
            if unitText.isEmpty { throw ParseError(description: "time: missing unit in duration \(quote(text))") }
            rest = rest.dropFirst(unitText.count)
            guard let unit = units[String(unitText)] else {
                throw ParseError(description: "time: unknown unit \(quote(String(unitText))) in duration \(quote(text))")
            }
            let (scaled, overflow) = whole.multipliedReportingOverflow(by: unit)
            if overflow || scaled > 1 << 63 { throw invalid }
            var value = scaled
            if fraction > 0 {
                value += UInt64(Double(fraction) * (Double(unit) / scale))
                if value > 1 << 63 { throw invalid }
            }
            total += value
            if total > 1 << 63 { throw invalid }
        }
        if !negative && total > UInt64(Int64.max) { throw invalid }
        let nanoseconds = negative ? -Int64(truncatingIfNeeded: total) : Int64(total)
        return .nanoseconds(nanoseconds)
    }

    /// Go's `Duration.String`: "0s", "812ns", "917.228µs", "1.5ms", "2m3.5s".
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        let negative = nanoseconds < 0
        var value = nanoseconds.magnitude
        var text: String
        if value < 1_000_000_000 {
            if value == 0 { return "0s" }
            let (precision, unit): (Int, String) = value < 1_000 ? (0, "ns") : value < 1_000_000 ? (3, "\u{00B5}s") : (6, "ms")
            let (fraction, whole) = fractionDigits(value, precision)
            text = "\(whole)\(fraction)\(unit)"
        } else {
            let (fraction, whole) = fractionDigits(value, 9)
            value = whole
            text = "\(value % 60)\(fraction)s"
            value /= 60
            if value > 0 {
                text = "\(value % 60)m" + text
                value /= 60
                if value > 0 { text = "\(value)h" + text }
            }
        }
        return negative ? "-" + text : text
    }

    /// The fraction of `value / 10^precision` as ".ddd" without trailing
    /// zeros (empty when it is zero), and the whole part.
    private static func fractionDigits(_ value: UInt64, _ precision: Int) -> (String, UInt64) {
        var value = value
        var digits: [Character] = []
        var printing = false
        for _ in 0..<precision {
            let digit = value % 10
            printing = printing || digit != 0
            if printing { digits.append(Character(Unicode.Scalar(UInt8(48 + digit)))) }
            value /= 10
        }
        return (digits.isEmpty ? "" : "." + String(digits.reversed()), value)
    }

    // MARK: Sizes (go-humanize's Bytes)

    /// go-humanize's `Bytes`: SI units, one decimal below 10 ("20 kB", "1.3 MB").
    public static func humanBytes(_ size: UInt64) -> String {
        if size < 10 { return "\(size) B" }
        let suffixes = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        let exponent = floor(log(Double(size)) / log(1000))
        let value = floor(Double(size) / pow(1000, exponent) * 10 + 0.5) / 10
        return printf(value < 10 ? "%.1f" : "%.0f", value) + " " + suffixes[Int(exponent)]
    }

    /// C's printf for one double: glibc rounds exactly as Go's fmt does.
    public static func printf(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Quoting (strconv.Quote, strconv.Unquote)

    /// Go's `%q` of a string: double quotes, Go escapes for what is not printable.
    public static func quote(_ text: String) -> String {
        quote(bytes: Array(text.utf8))
    }

    public static func quote(bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef")
        var out = "\""
        var decoder = UTF8Decoder(bytes)
        while let (scalar, length, start) = decoder.next() {
            guard let scalar else {
                for byte in bytes[start..<start + length] { out += "\\x" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)]) }
                continue
            }
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                let value = scalar.value
                if value < 0x20 || value == 0x7F {
                    out += "\\x" + String(hex[Int(value >> 4)]) + String(hex[Int(value & 15)])
                } else if value >= 0x80 && !isPrintable(scalar) {
                    let digits = String(value, radix: 16)
                    out += value <= 0xFFFF
                        ? "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
                        : "\\U" + String(repeating: "0", count: 8 - digits.count) + digits
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Go's unicode.IsPrint, near enough for the characters keys and
    /// messages hold: letters, marks, numbers, punctuation, symbols and the
    /// ASCII space.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// Go's `strconv.Unquote` for a double-quoted or back-quoted string;
    /// the result is bytes (`\xff` need not be UTF-8).
    public static func unquote(_ text: Substring) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, let quote = bytes.first, bytes.last == quote else { return nil }
        let body = bytes[1..<bytes.count - 1]
        if quote == UInt8(ascii: "`") {
            return body.contains(quote) ? nil : body.filter { $0 != UInt8(ascii: "\r") }
        }
        guard quote == UInt8(ascii: "\"") else { return nil }
        var out: [UInt8] = []
        var index = body.startIndex
        func hexValue(_ count: Int) -> UInt32? {
            guard body.endIndex - index >= count else { return nil }
            var value: UInt32 = 0
            for byte in body[index..<index + count] {
                guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
                value = value * 16 + UInt32(digit)
            }
            index += count
            return value
        }
        while index < body.endIndex {
            let byte = body[index]
            index += 1
            if byte == quote || byte == UInt8(ascii: "\n") { return nil }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            guard index < body.endIndex else { return nil }
            let escape = body[index]
            index += 1
            switch escape {
            case UInt8(ascii: "a"): out.append(7)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "v"): out.append(11)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "x"):
                guard let value = hexValue(2) else { return nil }
                out.append(UInt8(value))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                guard let value = hexValue(escape == UInt8(ascii: "u") ? 4 : 8), let scalar = Unicode.Scalar(value) else { return nil }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard body.endIndex - index >= 2 else { return nil }
                var value = UInt32(escape - 48)
                for digit in body[index..<index + 2] {
                    guard digit >= 48 && digit <= 55 else { return nil }
                    value = value * 8 + UInt32(digit - 48)
                }
                guard value <= 255 else { return nil }
                index += 2
                out.append(UInt8(value))
            default:
                return nil
            }
        }
        return out
    }
}
