/// Where a container is in its life (runtime-spec "State").
public enum ContainerStatus: String, JSONEnum, Sendable {
    case creating, created, running, paused, stopped
    static let noun = "status"
}

/// A container's state: the runtime-spec's fields, plus the `rootfs`,
/// `created` and `owner` that `runc state` also prints.
public struct ContainerState: Equatable, Sendable, JSONObject {
    public var ociVersion = ""
    public var id = ""
    /// The container's init as the host sees it; 0 once stopped.
    public var pid = 0
    public var status = ContainerStatus.creating
    /// The bundle's absolute path.
    public var bundle = ""
    public var rootfs = ""
    public var created = Timestamp()
    public var annotations: [String: String] = [:]
    public var owner = ""

    public init() {}

    public init(
        ociVersion: String = OCIVersion.runtime, id: String, pid: Int, status: ContainerStatus, bundle: String,
        rootfs: String, created: Timestamp, annotations: [String: String] = [:], owner: String = ""
    ) {
        self.ociVersion = ociVersion
        self.id = id
        self.pid = pid
        self.status = status
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = created
        self.annotations = annotations
        self.owner = owner
    }

    /// runc's `containerState`, in its order.
    static var fields: [Field<Self>] {
        [
            Field("ociVersion", \.ociVersion, required: true, omitEmpty: false),
            Field("id", \.id, required: true, omitEmpty: false),
            Field("pid", \.pid, omitEmpty: false),
            Field("status", \.status, required: true, omitEmpty: false),
            Field("bundle", \.bundle, required: true, omitEmpty: false),
            Field("rootfs", \.rootfs, omitEmpty: false),
            Field("created", \.created, omitEmpty: false),
            Field("annotations", \.annotations),
            Field("owner", \.owner, omitEmpty: false),
        ]
    }

    /// Reads either form: `runc state`'s, or the runtime-spec's that hooks get.
    public static func decode(_ bytes: [UInt8], file: String = "state.json") throws(ConfigError) -> ContainerState {
        try Cursor.decode(ContainerState.self, from: bytes, file: file)
    }

    /// What `runc state` prints: two-space indent, no final newline.
    public var runcJSON: String { json.text(indent: "  ") }

    /// The same fields compact, as `runc list --format json` writes each.
    public var compactJSON: String { json.text() }

    /// The runtime-spec's state, as hooks read it on stdin: compact, in the
    /// spec's order, pid left out when 0 and annotations when empty.
    public var specJSON: String {
        var members: [(key: String, value: JSONValue)] = [
            ("ociVersion", ociVersion.json), ("id", id.json), ("status", status.json),
        ]
        if pid != 0 { members.append(("pid", pid.json)) }
        members.append(("bundle", bundle.json))
        if !annotations.isEmpty { members.append(("annotations", annotations.json)) }
        return JSONValue.object(members).text()
    }
}

/// A UTC instant to the nanosecond, written as Go's RFC 3339 with
/// nanoseconds (`2026-11-26T00:02:46.012314152Z`, trailing zeros dropped).
/// The caller reads the clock; this module only formats and parses.
public struct Timestamp: Equatable, Comparable, Sendable, JSONCodable {
    public var seconds: Int64
    public var nanoseconds: Int32

    public init(seconds: Int64 = 0, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds) }

    public var text: String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let (year, month, day) = Self.civil(fromDays: days)
        let time = seconds - days * 86400
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        var text = "\(yearText)-\(two(month))-\(two(day))T\(two(time / 3600)):\(two(time / 60 % 60)):\(two(time % 60))"
        if nanoseconds > 0 {
            var fraction = String(nanoseconds)
            fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
            while fraction.last == "0" { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, as Go's time.RFC3339Nano reads it.
    public init?(text: String) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count, !range.isEmpty else { return nil }
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func at(_ index: Int, _ character: Unicode.Scalar) -> Bool { index < bytes.count && bytes[index] == UInt8(ascii: character) }
        guard let year = number(0..<4), at(4, "-"), let month = number(5..<7), at(7, "-"), let day = number(8..<10),
              at(10, "T"), let hour = number(11..<13), at(13, ":"), let minute = number(14..<16), at(16, ":"),
              let second = number(17..<19), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var nanoseconds: Int64 = 0
        if at(index, ".") {
            let start = index + 1
            index = start
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > start, index - start <= 9, let fraction = number(start..<index) else { return nil }
            nanoseconds = fraction * [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000][9 - (index - start)]
        }
        var offset: Int64 = 0
        if at(index, "Z"), index + 1 == bytes.count {
        } else if at(index, "+") || at(index, "-"), index + 6 == bytes.count, at(index + 3, ":"),
                  let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6) {
            offset = (hours * 60 + minutes) * 60 * (at(index, "-") ? -1 : 1)
        } else {
            return nil
        }
        let days = Self.days(fromCivil: year, month, day)
        self.init(seconds: days * 86400 + hour * 3600 + minute * 60 + second - offset, nanoseconds: Int32(nanoseconds))
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let year = month <= 2 ? year - 1 : year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func decode(_ cursor: Cursor) -> Timestamp? {
        guard let text = String.decode(cursor) else { return nil }
        guard let value = Timestamp(text: text) else {
            cursor.report("expected an RFC 3339 time such as \"2006-01-02T15:04:05.999999999Z\", got \(quoted(text))")
            return nil
        }
        return value
    }

    var json: JSONValue { .string(text) }
    var isEmpty: Bool { false }
}
