import CoreboxCore

/// etcd's v2 keys API, the subset locksmith uses (GET/PUT/DELETE of single keys
/// with `value`, `ttl`, `prevExist`, `prevIndex`, `prevValue`), kept in the v3
/// store. Everything here is pure: a request and the key's current node give a
/// write or an answer; `HTTPGateway` does the reading, writing and sending.
///
/// Indexes are the store's revisions. As in the v3 store, a `set` over a key
/// keeps its `createdIndex` (etcd's v2 store gives the replaced node a new one).
enum V2Keys {
    /// v2 keys live under this prefix in the MVCC store: apart from v3 keys, which never start with a NUL in practice.
    static let storePrefix = "\u{0}v2/keys"

    struct Node: Equatable, Sendable {
        var key: String
        /// nil in a delete's node, as etcd leaves it out.
        var value: String?
        var modifiedIndex: Int64
        var createdIndex: Int64
        /// Seconds left on the key's lease; nil for a permanent key.
        var ttl: Int64?
    }

    enum Action: String, Sendable {
        case get, set, create, update, compareAndSwap, delete, compareAndDelete
    }

    struct Event: Equatable, Sendable {
        var action: Action
        var node: Node
        var prevNode: Node?
        /// X-Etcd-Index: the store's revision after the request.
        var index: Int64

        /// 201 for a node that did not exist before, as etcd answers.
        var status: Int { action == .create || (action == .set && prevNode == nil) ? 201 : 200 }
    }

    /// A v2 error (etcd's v2error codes, messages and statuses).
    struct Failure: Error, Equatable, Sendable {
        var code: Int
        var cause: String
        var index: Int64 = 0

        static let keyNotFound = 100, testFailed = 101, nodeExists = 105
        static let prevValueRequired = 201, ttlNaN = 202, indexNaN = 203, invalidField = 209, invalidForm = 210
        static let raftInternal = 300

        var message: String {
            switch code {
            case Self.keyNotFound: "Key not found"
            case Self.testFailed: "Compare failed"
            case Self.nodeExists: "Key already exists"
            case Self.prevValueRequired: "PrevValue is Required in POST form"
            case Self.ttlNaN: "The given TTL in POST form is not a number"
            case Self.indexNaN: "The given index in POST form is not a number"
            case Self.invalidField: "Invalid field"
            case Self.invalidForm: "Invalid POST form"
            default: "Raft Internal Error"
            }
        }

        var status: Int {
            switch code {
            case Self.keyNotFound: 404
            case Self.testFailed, Self.nodeExists: 412
            case Self.raftInternal: 500
            default: 400
            }
        }
    }

    enum Method: String, Sendable { case get = "GET", put = "PUT", delete = "DELETE" }

    struct Request: Equatable, Sendable {
        var method: Method
        /// Cleaned, with a leading slash: "/coreos.com/updateengine/rebootlock/semaphore".
        var key: String
        var value = ""
        var ttl: Int64?
        var prevExist: Bool?
        /// 0: not compared.
        var prevIndex: Int64 = 0
        /// "": not compared.
        var prevValue = ""
    }

    /// A write to make: `value` nil deletes the key. It applies only while the
    /// key's mod revision is still `expectedModRevision` (0: the key is absent),
    /// so a change between the read and the write makes the caller start over.
    struct Write: Equatable, Sendable {
        var action: Action
        var value: String?
        var ttl: Int64?
        var expectedModRevision: Int64
    }

    enum Plan: Equatable, Sendable {
        case answer(Event)
        case write(Write)
    }

    // MARK: Parsing

    /// The request for `path` (under /v2/keys) with its form, etcd's parseKeyRequest checks included.
    static func parse(method: Method, path: String, form: Form) throws(Failure) -> Request {
        let rawKey = path.hasPrefix("/v2/keys") ? String(path.dropFirst("/v2/keys".count)) : path
        guard let decodedKey = Form.unescape(rawKey, plusIsSpace: false) else {
            throw Failure(code: Failure.invalidForm, cause: "invalid URL escape in path")
        }
        var request = Request(method: method, key: clean(decodedKey))
        for unsupported in ["wait", "recursive", "dir", "refresh"] where form.first(unsupported).map(parseBool) == true {
            throw Failure(code: Failure.invalidField, cause: "\"\(unsupported)\" is not supported by kvd")
        }
        if let prevIndex = form.first("prevIndex"), !prevIndex.isEmpty {
            guard let index = UInt64(prevIndex), index <= Int64.max else {
                throw Failure(code: Failure.indexNaN, cause: "invalid value for \"prevIndex\"")
            }
            request.prevIndex = Int64(index)
        }
        if let prevValue = form.first("prevValue") {
            guard !prevValue.isEmpty else { throw Failure(code: Failure.prevValueRequired, cause: "\"prevValue\" cannot be empty") }
            request.prevValue = prevValue
        }
        if let ttl = form.first("ttl"), !ttl.isEmpty {
            guard let seconds = UInt64(ttl), seconds <= Int64.max else {
                throw Failure(code: Failure.ttlNaN, cause: "invalid value for \"ttl\"")
            }
            request.ttl = Int64(seconds)
        }
        if let prevExist = form.first("prevExist") {
            guard let exists = parseBool(prevExist) else { throw Failure(code: Failure.invalidField, cause: "invalid value for prevExist") }
            request.prevExist = exists
        }
        request.value = form.first("value") ?? ""
        return request
    }

    /// Go's strconv.ParseBool, which etcd uses for form flags.
    static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False": false
        default: nil
        }
    }

    /// Go's path.Clean of "/" + key: no empty, "." or ".." elements, no trailing slash.
    static func clean(_ key: String) -> String {
        var elements: [Substring] = []
        for element in key.split(separator: "/", omittingEmptySubsequences: true) {
            switch element {
            case ".": continue
            case "..": _ = elements.popLast()
            default: elements.append(element)
            }
        }
        return "/" + elements.joined(separator: "/")
    }

    // MARK: Deciding

    /// What `request` does given the key's `current` node, at store revision `index`
    /// (etcd's applierV2store Put/Delete and its store's checks).
    static func plan(_ request: Request, current: Node?, index: Int64) -> Result<Plan, Failure> {
        let notFound = Failure(code: Failure.keyNotFound, cause: request.key, index: index)
        let compares = request.prevIndex > 0 || !request.prevValue.isEmpty
        func write(_ action: Action, _ value: String?, ttl: Int64? = nil) -> Result<Plan, Failure> {
            .success(.write(Write(action: action, value: value, ttl: ttl, expectedModRevision: current?.modifiedIndex ?? 0)))
        }
        switch request.method {
        case .get:
            guard let current else { return .failure(notFound) }
            return .success(.answer(Event(action: .get, node: current, index: index)))
        case .put:
            switch (request.prevExist, compares) {
            case (false?, _):
                if current != nil { return .failure(Failure(code: Failure.nodeExists, cause: request.key, index: index)) }
                return write(.create, request.value, ttl: request.ttl)
            case (true?, false):
                guard current != nil else { return .failure(notFound) }
                return write(.update, request.value, ttl: request.ttl)
            case (_, true):
                guard let current else { return .failure(notFound) }
                if let failure = compareFailure(request, current, index: index) { return .failure(failure) }
                return write(.compareAndSwap, request.value, ttl: request.ttl)
            case (nil, false):
                return write(.set, request.value, ttl: request.ttl)
            }
        case .delete:
            guard let current else { return .failure(notFound) }
            if compares {
                if let failure = compareFailure(request, current, index: index) { return .failure(failure) }
                return write(.compareAndDelete, nil)
            }
            return write(.delete, nil)
        }
    }

    /// etcd's cause names what differed: "[prevValue != value]", "[prevIndex != modifiedIndex]", or both.
    private static func compareFailure(_ request: Request, _ node: Node, index: Int64) -> Failure? {
        let valueDiffers = !request.prevValue.isEmpty && request.prevValue != node.value
        let indexDiffers = request.prevIndex > 0 && request.prevIndex != node.modifiedIndex
        let valueCause = "[\(request.prevValue) != \(node.value ?? "")]"
        let indexCause = "[\(request.prevIndex) != \(node.modifiedIndex)]"
        let cause = switch (valueDiffers, indexDiffers) {
        case (false, false): String?.none
        case (true, false): valueCause
        case (false, true): indexCause
        case (true, true): valueCause + " " + indexCause
        }
        return cause.map { Failure(code: Failure.testFailed, cause: $0, index: index) }
    }

    /// The event for `write` once it applied at `revision`, with the lease TTL it got.
    static func event(after write: Write, key: String, current: Node?, revision: Int64, ttl: Int64?) -> Event {
        let node = Node(key: key, value: write.value, modifiedIndex: revision,
                        createdIndex: current?.createdIndex ?? revision,
                        ttl: write.value == nil ? nil : ttl)
        return Event(action: write.action, node: node, prevNode: current, index: revision)
    }

    // MARK: Rendering

    /// The event as etcd's v2 JSON; `wallNanoseconds` (Unix time) turns TTLs into expirations.
    static func json(_ event: Event, wallNanoseconds: Int64) -> String {
        var fields = ["\"action\":" + JSONString.quoted(event.action.rawValue), "\"node\":" + json(event.node, wallNanoseconds)]
        if let prevNode = event.prevNode { fields.append("\"prevNode\":" + json(prevNode, wallNanoseconds)) }
        return "{" + fields.joined(separator: ",") + "}\n"
    }

    static func json(_ failure: Failure) -> String {
        "{\"errorCode\":\(failure.code),\"message\":\(JSONString.quoted(failure.message)),\"cause\":\(JSONString.quoted(failure.cause)),\"index\":\(failure.index)}\n"
    }

    /// etcd's NodeExtern field order; zero and absent fields are left out as its omitempty does.
    private static func json(_ node: Node, _ wallNanoseconds: Int64) -> String {
        var fields = ["\"key\":" + JSONString.quoted(node.key)]
        if let value = node.value { fields.append("\"value\":" + JSONString.quoted(value)) }
        if let ttl = node.ttl {
            fields.append("\"expiration\":" + JSONString.quoted(rfc3339(nanoseconds: wallNanoseconds + ttl * 1_000_000_000)))
            fields.append("\"ttl\":\(ttl)")
        }
        fields.append("\"modifiedIndex\":\(node.modifiedIndex)")
        fields.append("\"createdIndex\":\(node.createdIndex)")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Go's RFC3339Nano in UTC: "2006-01-02T15:04:05.999999999Z", trailing zeros of the fraction dropped.
    static func rfc3339(nanoseconds: Int64) -> String {
        let (seconds, fraction) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        // Days to a civil date (Howard Hinnant's algorithm), for dates after 1970.
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T"
            + "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if fraction > 0 {
            var digits = pad(fraction, 9)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }
}

/// An application/x-www-form-urlencoded form (or URL query), as Go's url.ParseQuery reads it.
struct Form: Equatable, Sendable {
    private(set) var pairs: [(String, String)] = []

    init() {}

    /// nil for a malformed form (a bad % escape, or Go's refused ";" separator).
    init?(_ encoded: String) {
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            guard !pair.contains(";") else { return nil }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.unescape(String(parts[0]), plusIsSpace: true),
                  let value = Self.unescape(parts.count > 1 ? String(parts[1]) : "", plusIsSpace: true) else { return nil }
            pairs.append((name, value))
        }
    }

    /// The first value of `name`, nil when the form does not have it.
    func first(_ name: String) -> String? {
        pairs.first { $0.0 == name }?.1
    }

    /// Values of `self` first, then those of `other` (Go puts the body's before the query's).
    func merged(with other: Form) -> Form {
        var form = self
        form.pairs += other.pairs
        return form
    }

    static func unescape(_ text: String, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func == (lhs: Form, rhs: Form) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs) { $0 == $1 }
    }
}
