import CoreboxCore
import YAML

/// What a scalar means under YAML 1.1's implicit types, as coreos-cloudinit's
/// YAML library resolves them. Only plain scalars without a tag are typed
/// this way; quoted and block scalars are strings. The schema decides
/// whether the meaning or the literal text is used: a string key keeps the
/// text (`0644`, `off`), a bool key wants a bool.
enum Scalar: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)

    init(_ text: String, plain: Bool, tag: String?) {
        switch tag {
        case nil where plain: self = Scalar.resolve(text)
        case "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:null":
            self = Scalar.resolve(text)
        default: self = .string(text)
        }
    }

    static let trueWords: Set = ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"]
    static let falseWords: Set = ["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"]

    private static func resolve(_ text: String) -> Scalar {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case _ where trueWords.contains(text): return .bool(true)
        case _ where falseWords.contains(text): return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        // Only a digit, a sign or a point can start a number: most text stops here.
        guard let first = text.utf8.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) || "+-.".utf8.contains(first) else {
            return .string(text)
        }
        let digits = text.contains("_") ? text.replacing("_", with: "") : text
        if let integer = try? GoSyntax.parseInt(digits, base: 0), let value = Int(exactly: integer) { return .int(value) }
        if isFloat(digits), let number = Double(digits) { return .float(number) }
        return .string(text)
    }

    /// YAML's float form: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
    private static func isFloat(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let whole = rest.prefix(while: \.isASCIIDigit)
        rest = rest.dropFirst(whole.count)
        if rest.first == "." {
            rest = rest.dropFirst()
            let fraction = rest.prefix(while: \.isASCIIDigit)
            guard !whole.isEmpty || !fraction.isEmpty else { return false }
            rest = rest.dropFirst(fraction.count)
        } else if whole.isEmpty {
            return false
        }
        if rest.first == "e" || rest.first == "E" {
            rest = rest.dropFirst()
            if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
            guard !rest.isEmpty, rest.allSatisfy(\.isASCIIDigit) else { return false }
            return true
        }
        return rest.isEmpty
    }
}

extension Scalar {
    /// A node's meaning; nil for a collection.
    init?(_ node: YAMLNode) {
        guard case let .scalar(text, plain) = node.kind else { return nil }
        self.init(text, plain: plain, tag: node.tag)
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): the
/// shortest digits that round-trip, in exponent form when the exponent is
/// below -4 or at least 6, with at least two exponent digits (`1e+06`).
func goFloatText(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
    if value == 0 { return value.sign == .minus ? "-0" : "0" }
    // Swift's description has the same shortest digits; take them apart.
    var text = "\(value.magnitude)"
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exponent = Int(text[text.index(after: e)...]) ?? 0
        text = String(text[..<e])
    }
    let point = text.firstIndex(of: ".") ?? text.endIndex
    let whole = text[..<point]
    let fraction = point < text.endIndex ? text[text.index(after: point)...] : ""
    var digits = Array(whole + fraction)
    var decimalPoint = whole.count + exponent
    while digits.first == "0", digits.count > 1 { digits.removeFirst(); decimalPoint -= 1 }
    while digits.last == "0", digits.count > 1 { digits.removeLast() }
    let sign = value < 0 ? "-" : ""
    let goExponent = decimalPoint - 1
    if goExponent < -4 || goExponent >= 6 {
        var mantissa = String(digits[0])
        if digits.count > 1 { mantissa += "." + String(digits[1...]) }
        let magnitude = String(abs(goExponent))
        return sign + mantissa + "e" + (goExponent < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" + magnitude : magnitude)
    }
    if decimalPoint <= 0 { return sign + "0." + String(repeating: "0", count: -decimalPoint) + String(digits) }
    if decimalPoint >= digits.count { return sign + String(digits) + String(repeating: "0", count: decimalPoint - digits.count) }
    return sign + String(digits[..<decimalPoint]) + "." + String(digits[decimalPoint...])
}
