import CSystemd
import CoreboxCore
import Glibc

/// One D-Bus value with its type, so messages can be built and read without
/// sd-bus's variadic format-string API (which Swift cannot call).
///
/// Arrays carry their element signature so an empty array still has a type.
/// A dictionary is an array of `dictEntry` values, as on the wire:
/// `a{sv}` is `.array(elementSignature: "{sv}", [.dictEntry(.string(k), .variant(v)), ...])`.
/// Unix file descriptors (`h`) are not supported.
public indirect enum BusValue: Hashable, Sendable {
    case byte(UInt8)
    case bool(Bool)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case objectPath(String)
    case signature(String)
    case variant(BusValue)
    case array(elementSignature: String, [BusValue])
    case structure([BusValue])
    case dictEntry(BusValue, BusValue)

    /// The D-Bus type signature of this value, e.g. `a{sv}`.
    public var signature: String {
        switch self {
        case .byte: "y"
        case .bool: "b"
        case .int16: "n"
        case .uint16: "q"
        case .int32: "i"
        case .uint32: "u"
        case .int64: "x"
        case .uint64: "t"
        case .double: "d"
        case .string: "s"
        case .objectPath: "o"
        case .signature: "g"
        case .variant: "v"
        case .array(let element, _): "a" + element
        case .structure(let fields): "(" + fields.map(\.signature).joined() + ")"
        case .dictEntry(let key, let value): "{" + key.signature + value.signature + "}"
        }
    }

    /// An `a{sv}`, the shape of D-Bus property sets and option bags; keys are
    /// sorted so the same dictionary always marshals the same way.
    public static func properties(_ values: [String: BusValue]) -> BusValue {
        .array(
            elementSignature: "{sv}",
            values.keys.sorted().map { .dictEntry(.string($0), .variant(values[$0]!)) }
        )
    }

    /// The contents of an `a{sv}` with the variants unwrapped; nil for any other value.
    public var propertyValues: [String: BusValue]? {
        guard case .array(elementSignature: "{sv}", let entries) = self else { return nil }
        var result: [String: BusValue] = [:]
        for case .dictEntry(.string(let key), .variant(let value)) in entries {
            result[key] = value
        }
        return result
    }
}

// MARK: - Marshalling

/// sd-bus names types by their signature character.
private func typeCode(_ character: Unicode.Scalar) -> CChar {
    CChar(bitPattern: UInt8(ascii: character))
}

/// Turns an sd-bus return value (negative errno on failure) into a thrown error.
@discardableResult
func checkBus(_ result: Int32, _ operation: String, _ subject: String? = nil) throws(SystemError) -> Int32 {
    if result < 0 { throw SystemError(errno: -result, operation: operation, path: subject) }
    return result
}

extension BusValue {
    /// Appends the value at the message's current write position.
    ///
    /// An array element whose type differs from the array's element signature
    /// is a programmer error and traps; values sd-bus rejects (an object path
    /// that is not one, say) throw.
    func append(to message: OpaquePointer) throws(SystemError) {
        switch self {
        case .byte(let value): try appendBasic(message, value)
        case .bool(let value): try appendBasic(message, Int32(value ? 1 : 0))
        case .int16(let value): try appendBasic(message, value)
        case .uint16(let value): try appendBasic(message, value)
        case .int32(let value): try appendBasic(message, value)
        case .uint32(let value): try appendBasic(message, value)
        case .int64(let value): try appendBasic(message, value)
        case .uint64(let value): try appendBasic(message, value)
        case .double(let value): try appendBasic(message, value)
        case .string(let text), .objectPath(let text), .signature(let text):
            // String types are passed as the pointer itself, not a pointer to it.
            let type = typeCode(signature.unicodeScalars.first!)
            let result = text.withCString { sd_bus_message_append_basic(message, type, $0) }
            // A malformed object path or signature is named in the error; a string is not (it may be long).
            try checkBus(result, "sd_bus_message_append_basic", signature == "s" ? signature : text)
        case .variant(let inner):
            try container(message, "v", inner.signature) { () throws(SystemError) in try inner.append(to: message) }
        case .array(let element, let items):
            try container(message, "a", element) { () throws(SystemError) in
                for item in items {
                    precondition(item.signature == element, "BusValue: an array of \(element) holds a \(item.signature)")
                    try item.append(to: message)
                }
            }
        case .structure(let fields):
            precondition(!fields.isEmpty, "BusValue: D-Bus has no empty structures")
            let inner = String(signature.dropFirst().dropLast())
            try container(message, "r", inner) { () throws(SystemError) in
                for field in fields { try field.append(to: message) }
            }
        case .dictEntry(let key, let value):
            try container(message, "e", key.signature + value.signature) { () throws(SystemError) in
                try key.append(to: message)
                try value.append(to: message)
            }
        }
    }

    private func appendBasic<T>(_ message: OpaquePointer, _ value: T) throws(SystemError) {
        let type = typeCode(signature.unicodeScalars.first!)
        let result = withUnsafePointer(to: value) { sd_bus_message_append_basic(message, type, $0) }
        try checkBus(result, "sd_bus_message_append_basic", signature)
    }

    private func container(
        _ message: OpaquePointer, _ type: Unicode.Scalar, _ contents: String,
        _ body: () throws(SystemError) -> Void
    ) throws(SystemError) {
        try checkBus(sd_bus_message_open_container(message, typeCode(type), contents), "sd_bus_message_open_container", signature)
        try body()
        try checkBus(sd_bus_message_close_container(message), "sd_bus_message_close_container", signature)
    }

    /// Every value from the read position to the end of the current container
    /// (for a whole message: all its arguments).
    static func readAll(from message: OpaquePointer) throws(SystemError) -> [BusValue] {
        var values: [BusValue] = []
        while let value = try read(from: message) { values.append(value) }
        return values
    }

    /// The value at the read position, or nil at the end of the current container.
    private static func read(from message: OpaquePointer) throws(SystemError) -> BusValue? {
        var type: CChar = 0
        var contentsPointer: UnsafePointer<CChar>?
        if try checkBus(sd_bus_message_peek_type(message, &type, &contentsPointer), "sd_bus_message_peek_type") == 0 {
            return nil
        }
        let code = Unicode.Scalar(UInt8(bitPattern: type))
        switch code {
        case "y": return .byte(try readBasic(message, code, UInt8(0)))
        case "b": return .bool(try readBasic(message, code, Int32(0)) != 0)
        case "n": return .int16(try readBasic(message, code, Int16(0)))
        case "q": return .uint16(try readBasic(message, code, UInt16(0)))
        case "i": return .int32(try readBasic(message, code, Int32(0)))
        case "u": return .uint32(try readBasic(message, code, UInt32(0)))
        case "x": return .int64(try readBasic(message, code, Int64(0)))
        case "t": return .uint64(try readBasic(message, code, UInt64(0)))
        case "d": return .double(try readBasic(message, code, Double(0)))
        case "s", "o", "g":
            let text = String(cString: try readBasic(message, code, UnsafePointer<CChar>?.none)!)
            return code == "s" ? .string(text) : code == "o" ? .objectPath(text) : .signature(text)
        case "a", "r", "e", "v":
            // The contents signature points into the message: copy it before moving on.
            let contents = String(cString: contentsPointer!)
            try checkBus(sd_bus_message_enter_container(message, type, contents), "sd_bus_message_enter_container", contents)
            let inner = try readAll(from: message)
            try checkBus(sd_bus_message_exit_container(message), "sd_bus_message_exit_container", contents)
            switch code {
            case "a": return .array(elementSignature: contents, inner)
            case "r": return .structure(inner)
            case "e": return .dictEntry(inner[0], inner[1])
            default: return .variant(inner[0])
            }
        default:
            throw SystemError(errno: EOPNOTSUPP, operation: "sd_bus_message_read_basic", path: String(code))
        }
    }

    private static func readBasic<T>(_ message: OpaquePointer, _ code: Unicode.Scalar, _ initial: T) throws(SystemError) -> T {
        var value = initial
        let result = withUnsafeMutablePointer(to: &value) { sd_bus_message_read_basic(message, typeCode(code), $0) }
        try checkBus(result, "sd_bus_message_read_basic", String(code))
        return value
    }
}
