import CoreboxCore

/// One thing wrong in a document, at the path of the value it is about
/// (`linux.namespaces[2].type`; empty for the document as a whole).
public struct Problem: Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Everything wrong with one file, found in one pass, in document order:
/// one line per problem, each starting with the file's name.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var problems: [Problem]

    public init(file: String, problems: [Problem]) {
        self.file = file
        self.problems = problems
    }

    public var description: String { problems.map { "\(file): \($0)" }.joined(separator: "\n") }
}

/// Where the walk over a document collects problems; a reference so every
/// cursor of one walk adds to the same list.
final class ProblemList {
    var problems: [Problem] = []
}

/// A place in a document: the value there (nil when absent; a JSON null
/// counts as absent, as Go's decoder treats it) and its path.
struct Cursor {
    let value: JSONValue?
    let path: String
    let list: ProblemList

    func report(_ message: String) {
        list.problems.append(Problem(path: path, message: message))
    }

    /// `expected WHAT, got VALUE`.
    func mismatch(_ expected: String) {
        report("expected \(expected), got \(value?.summary ?? "nothing")")
    }

    var isPresent: Bool {
        switch value {
        case nil, .null?: false
        default: true
        }
    }

    /// An object's member; the last one when a key repeats, as in Go.
    subscript(key: String) -> Cursor {
        var member: JSONValue?
        if case let .object(members)? = value { member = members.last { $0.key == key }?.value }
        return Cursor(value: member, path: path.isEmpty ? key : "\(path).\(key)", list: list)
    }

    subscript(index: Int) -> Cursor {
        var element: JSONValue?
        if case let .array(elements)? = value, elements.indices.contains(index) { element = elements[index] }
        return Cursor(value: element, path: "\(path)[\(index)]", list: list)
    }

    /// Parses `bytes` and decodes a `T` from it, or throws every problem found.
    static func decode<T: JSONCodable>(_ type: T.Type, from bytes: [UInt8], file: String) throws(ConfigError) -> T {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw ConfigError(file: file, problems: [Problem(path: "", message: error.located(in: bytes))])
        }
        let list = ProblemList()
        let value = T.decode(Cursor(value: document, path: "", list: list))
        guard let value, list.problems.isEmpty else { throw ConfigError(file: file, problems: list.problems) }
        return value
    }
}

/// A value a document field can hold.
protocol JSONCodable {
    /// The value at `cursor` (which is present), or nil after reporting why
    /// there is none. Problems inside a value are reported, and the rest of
    /// it is still read.
    static func decode(_ cursor: Cursor) -> Self?
    var json: JSONValue { get }
    /// What Go's `omitempty` leaves out: false, 0, "", nil, no elements.
    var isEmpty: Bool { get }
}

extension String: JSONCodable {
    static func decode(_ cursor: Cursor) -> String? {
        guard case let .string(text)? = cursor.value else { cursor.mismatch("a string"); return nil }
        return text
    }

    var json: JSONValue { .string(self) }
}

extension Bool: JSONCodable {
    static func decode(_ cursor: Cursor) -> Bool? {
        guard case let .bool(value)? = cursor.value else { cursor.mismatch("true or false"); return nil }
        return value
    }

    var json: JSONValue { .bool(self) }
    var isEmpty: Bool { !self }
}

/// Integers are read from the number's text, so 64-bit values (an
/// unlimited rlimit is 2^64-1) keep every digit.
protocol JSONInteger: JSONCodable, FixedWidthInteger {}

extension JSONInteger {
    static func decode(_ cursor: Cursor) -> Self? {
        guard case let .number(text)? = cursor.value, let value = Self(text) else {
            cursor.mismatch("an integer from \(Self.min) to \(Self.max)")
            return nil
        }
        return value
    }

    var json: JSONValue { .number(String(self)) }
    var isEmpty: Bool { self == 0 }
}

extension Int: JSONInteger {}
extension Int64: JSONInteger {}
extension UInt: JSONInteger {}
extension UInt16: JSONInteger {}
extension UInt32: JSONInteger {}
extension UInt64: JSONInteger {}

extension Optional: JSONCodable where Wrapped: JSONCodable {
    static func decode(_ cursor: Cursor) -> Wrapped?? { Wrapped.decode(cursor).map { .some($0) } }
    var json: JSONValue { self?.json ?? .null }
    var isEmpty: Bool { self == nil }
}

extension Array: JSONCodable where Element: JSONCodable {
    /// The elements read without a problem; the others are reported and
    /// left out, so rules over the whole list (duplicates) see only good ones.
    static func decode(_ cursor: Cursor) -> [Element]? {
        guard case let .array(elements)? = cursor.value else { cursor.mismatch("an array"); return nil }
        return elements.indices.compactMap { index in
            let element = cursor[index]
            guard element.isPresent else { element.mismatch("a value"); return nil }
            let known = cursor.list.problems.count
            let value = Element.decode(element)
            return cursor.list.problems.count == known ? value : nil
        }
    }

    var json: JSONValue { .array(map(\.json)) }
}

/// A JSON object with arbitrary keys (annotations, sysctl, unified); Go
/// writes its keys sorted.
extension Dictionary: JSONCodable where Key == String, Value: JSONCodable {
    static func decode(_ cursor: Cursor) -> [String: Value]? {
        guard case let .object(members)? = cursor.value else { cursor.mismatch("an object"); return nil }
        var result: [String: Value] = [:]
        for member in members {
            let child = cursor[member.key]
            if let value = child.isPresent ? Value.decode(child) : nil { result[member.key] = value }
        }
        return result
    }

    var json: JSONValue { .object(keys.sorted().map { ($0, self[$0]!.json) }) }
}

/// A string from a fixed list: anything else is `unknown NOUN "text"`.
protocol JSONEnum: JSONCodable, RawRepresentable<String>, CaseIterable {
    static var noun: String { get }
}

extension JSONEnum {
    static func decode(_ cursor: Cursor) -> Self? {
        guard let text = String.decode(cursor) else { return nil }
        guard let value = Self(rawValue: text) else {
            cursor.report("unknown \(noun) \(quoted(text))")
            return nil
        }
        return value
    }

    var json: JSONValue { .string(rawValue) }
    var isEmpty: Bool { false }
}

/// A struct read from and written as a JSON object through one table of
/// fields, in the order Go's structs declare them (the order they print in).
protocol JSONObject: JSONCodable {
    init()
    static var fields: [Field<Self>] { get }
    /// Rules that look at several fields together; `cursor` is the object.
    /// They run only when the fields were read without a problem, so a bad
    /// or missing value does not raise a second, misleading one.
    func check(_ cursor: Cursor)
}

extension JSONObject {
    static func decode(_ cursor: Cursor) -> Self? {
        guard case .object? = cursor.value else { cursor.mismatch("an object"); return nil }
        var value = Self()
        let known = cursor.list.problems.count
        for field in fields { field.decode(&value, cursor) }
        if cursor.list.problems.count == known { value.check(cursor) }
        return value
    }

    func check(_ cursor: Cursor) {}

    var json: JSONValue { .object(Self.fields.compactMap { $0.encode(self) }) }
    var isEmpty: Bool { false }
}

/// One member of a `JSONObject`: its key, where it is stored, whether it
/// must be there, whether Go omits it when empty, and a rule for its value.
struct Field<Root> {
    let decode: (inout Root, Cursor) -> Void
    let encode: (Root) -> (key: String, value: JSONValue)?

    @inline(__always) init<Value: JSONCodable>(
        _ key: String, _ path: WritableKeyPath<Root, Value>, required: Bool = false, omitEmpty: Bool = true,
        check: ((Value, Cursor) -> Void)? = nil
    ) {
        // Reads the property, after storing a new value when given one. Only
        // this closure holds the key path, so once the initializer is inlined
        // into a `fields` table the optimizer makes it a plain property access
        // and no KeyPath object is built at run time (that cost every exec
        // ~0.4 ms of a container's life cycle); captured by two closures, the
        // key path stays an object.
        let property: (inout Root, Value?) -> Value = { root, newValue in
            if let newValue { root[keyPath: path] = newValue }
            return root[keyPath: path]
        }
        decode = { root, object in
            let cursor = object[key]
            guard cursor.isPresent else {
                if required { cursor.report("is required") }
                return
            }
            guard let value = Value.decode(cursor) else { return }
            _ = property(&root, value)
            check?(value, cursor)
        }
        encode = { root in
            var copy = root
            let value = property(&copy, nil)
            return omitEmpty && value.isEmpty ? nil : (key, value.json)
        }
    }

    /// An optional member whose rule applies to the value when it is there.
    @inline(__always) init<Value: JSONCodable>(_ key: String, _ path: WritableKeyPath<Root, Value?>, check: @escaping (Value, Cursor) -> Void) {
        self.init(key, path, check: { (value: Value?, cursor: Cursor) in value.map { check($0, cursor) } })
    }
}

/// Go's `%q`: how messages quote a value, as runc's do.
func quoted(_ text: String) -> String { GoSyntax.quote(text) }
