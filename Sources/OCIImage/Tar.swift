/// One archive member, with the GNU long-name and PAX extensions already
/// folded in.
public struct TarEntry: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case regular, hardLink, symbolicLink, characterDevice, blockDevice, directory, fifo
    }

    public var path: String
    public var kind: Kind
    /// Permission bits with setuid, setgid and sticky.
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var modificationTime: (seconds: Int64, nanoseconds: Int32)
    public var linkName: String
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32
    /// PAX `SCHILY.xattr.*` records.
    public var extendedAttributes: [String: [UInt8]]

    public static func == (a: TarEntry, b: TarEntry) -> Bool {
        a.path == b.path && a.kind == b.kind && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.size == b.size
            && a.modificationTime == b.modificationTime && a.linkName == b.linkName && a.deviceMajor == b.deviceMajor
            && a.deviceMinor == b.deviceMinor && a.extendedAttributes == b.extendedAttributes
    }
}

/// What a tar stream's consumer is told, in order: an entry, its content in
/// pieces (regular files only), its end.
protocol TarConsumer {
    /// `offset`: where the entry's content starts in the stream.
    mutating func begin(_ entry: TarEntry, offset: Int64) throws(ImageError)
    mutating func content(_ bytes: UnsafeRawBufferPointer) throws(ImageError)
    mutating func end() throws(ImageError)
}

/// A push parser for tar (ustar, GNU long names and links, PAX headers):
/// fed any pieces of the stream, it calls its consumer with whole entries
/// and streamed contents, so a layer is never held in memory. It does no
/// I/O and trusts nothing: sizes, checksums and records are checked.
struct TarReader {
    private enum State {
        /// Collecting a 512-byte header.
        case header
        /// Passing on `remaining` content bytes, then skipping `padding`.
        case content(remaining: Int64, padding: Int)
        /// Collecting an extension's data (PAX or GNU long name).
        case extensionData(type: UInt8, remaining: Int, padding: Int)
        /// Skipping padding after an extension or content.
        case padding(Int)
        /// Past the end-of-archive marker: the rest is ignored.
        case finished
    }

    /// Extension records larger than this are refused: they are held in memory.
    static let extensionLimit = 1 << 20

    private var state = State.header
    private var buffer: [UInt8] = []
    private var longName: String?
    private var longLink: String?
    private var pax: [String: String] = [:]
    private var globalPAX: [String: String] = [:]
    private var sawZeroBlock = false
    /// Bytes of the stream consumed so far.
    private var position: Int64 = 0

    /// Consumes `input` entirely.
    mutating func feed(_ input: UnsafeRawBufferPointer, to consumer: inout some TarConsumer) throws(ImageError) {
        var offset = 0
        defer { position += Int64(input.count) }
        while offset < input.count {
            switch state {
            case .finished:
                return
            case .header:
                let take = min(512 - buffer.count, input.count - offset)
                buffer += input[offset..<(offset + take)]
                offset += take
                if buffer.count == 512 {
                    let block = buffer
                    buffer.removeAll(keepingCapacity: true)
                    try header(block, at: position + Int64(offset), consumer: &consumer)
                }
            case .content(let remaining, let padding):
                let take = Int(min(remaining, Int64(input.count - offset)))
                try consumer.content(UnsafeRawBufferPointer(rebasing: input[offset..<(offset + take)]))
                offset += take
                if remaining - Int64(take) == 0 {
                    try consumer.end()
                    state = padding > 0 ? .padding(padding) : .header
                } else {
                    state = .content(remaining: remaining - Int64(take), padding: padding)
                }
            case .extensionData(let type, let remaining, let padding):
                let take = min(remaining, input.count - offset)
                buffer += input[offset..<(offset + take)]
                offset += take
                if take == remaining {
                    let data = buffer
                    buffer.removeAll(keepingCapacity: true)
                    try extensionRecord(type: type, data: data)
                    state = padding > 0 ? .padding(padding) : .header
                } else {
                    state = .extensionData(type: type, remaining: remaining - take, padding: padding)
                }
            case .padding(let count):
                let take = min(count, input.count - offset)
                offset += take
                state = take == count ? .header : .padding(count - take)
            }
        }
    }

    /// Checks that the stream ended between entries (the end-of-archive
    /// marker may be missing, as Go's reader allows).
    func finish() throws(ImageError) {
        switch state {
        case .finished: return
        case .header where buffer.isEmpty && longName == nil && longLink == nil && pax.isEmpty: return
        default: throw ImageError("tar: unexpected end of archive")
        }
    }

    private mutating func header(_ block: [UInt8], at contentOffset: Int64, consumer: inout some TarConsumer) throws(ImageError) {
        if block.allSatisfy({ $0 == 0 }) {
            // Two zero blocks end the archive; one followed by the end of the stream does too.
            if sawZeroBlock { state = .finished }
            sawZeroBlock = true
            return
        }
        if sawZeroBlock { throw ImageError("tar: a header after an end-of-archive block") }
        try verifyChecksum(block)
        let type = block[156]
        let size = try Self.number(block[124..<136], "size")
        guard size >= 0 else { throw ImageError("tar: negative size") }
        let padding = Int((512 - size % 512) % 512)

        switch type {
        case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            guard size <= Self.extensionLimit else { throw ImageError("tar: extension header of \(size) bytes is too large") }
            state = size == 0 ? .header : .extensionData(type: type, remaining: Int(size), padding: padding)
            if size == 0 { try extensionRecord(type: type, data: []) }
            return
        default:
            break
        }

        let records = globalPAX.merging(pax) { $1 }
        pax = [:]
        var entry = TarEntry(
            path: "", kind: .regular, mode: UInt32(truncatingIfNeeded: try Self.number(block[100..<108], "mode")) & 0o7777,
            uid: try Self.id(block[108..<116], "uid"), gid: try Self.id(block[116..<124], "gid"), size: size,
            modificationTime: (try Self.number(block[136..<148], "mtime"), 0),
            linkName: Self.string(block[157..<257]),
            deviceMajor: try Self.id(block[329..<337], "devmajor"), deviceMinor: try Self.id(block[337..<345], "devminor"),
            extendedAttributes: [:])
        var name = Self.string(block[0..<100])
        // ustar's prefix field; GNU's magic ("ustar  ") uses those bytes for other times.
        if Array(block[257..<263]) == Array("ustar\0".utf8) {
            let prefix = Self.string(block[345..<500])
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        entry.path = longName ?? name
        entry.linkName = longLink ?? entry.linkName
        longName = nil
        longLink = nil
        try apply(records, to: &entry)

        switch type {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
            entry.kind = entry.path.hasSuffix("/") && type == 0 ? .directory : .regular
        case UInt8(ascii: "1"): entry.kind = .hardLink
        case UInt8(ascii: "2"): entry.kind = .symbolicLink
        case UInt8(ascii: "3"): entry.kind = .characterDevice
        case UInt8(ascii: "4"): entry.kind = .blockDevice
        case UInt8(ascii: "5"): entry.kind = .directory
        case UInt8(ascii: "6"): entry.kind = .fifo
        default:
            throw ImageError("tar: entry \"\(entry.path)\": unsupported type '\(String(decoding: [type], as: UTF8.self))'")
        }
        // Only regular files carry content that is passed on; other kinds' size is skipped.
        if entry.kind != .regular {
            entry.size = 0
            try consumer.begin(entry, offset: contentOffset)
            try consumer.end()
            state = size > 0 ? .padding(Int(size) + padding) : .header
            return
        }
        try consumer.begin(entry, offset: contentOffset)
        if size == 0 {
            try consumer.end()
            state = .header
        } else {
            state = .content(remaining: size, padding: padding)
        }
    }

    private mutating func extensionRecord(type: UInt8, data: [UInt8]) throws(ImageError) {
        switch type {
        case UInt8(ascii: "L"): longName = Self.string(data[...])
        case UInt8(ascii: "K"): longLink = Self.string(data[...])
        case UInt8(ascii: "x"): pax.merge(try Self.paxRecords(data)) { $1 }
        default: globalPAX.merge(try Self.paxRecords(data)) { $1 }
        }
    }

    private func apply(_ records: [String: String], to entry: inout TarEntry) throws(ImageError) {
        for (key, value) in records {
            switch key {
            case "path": entry.path = value
            case "linkpath": entry.linkName = value
            case "size":
                guard let size = Int64(value), size >= 0 else { throw ImageError("tar: invalid PAX size \"\(value)\"") }
                entry.size = size
            case "uid", "gid":
                guard let id = UInt32(value) else { throw ImageError("tar: invalid PAX \(key) \"\(value)\"") }
                if key == "uid" { entry.uid = id } else { entry.gid = id }
            case "mtime":
                guard let time = Self.paxTime(value) else { throw ImageError("tar: invalid PAX mtime \"\(value)\"") }
                entry.modificationTime = time
            case _ where key.hasPrefix("SCHILY.xattr."):
                entry.extendedAttributes[String(key.dropFirst("SCHILY.xattr.".count))] = Array(value.utf8)
            case _ where key.hasPrefix("GNU.sparse."):
                throw ImageError("tar: entry \"\(entry.path)\": sparse files are not supported")
            default:
                continue
            }
        }
    }

    private func verifyChecksum(_ block: [UInt8]) throws(ImageError) {
        let stored = try Self.number(block[148..<156], "checksum")
        var unsigned: Int64 = 0, signed: Int64 = 0
        for (i, byte) in block.enumerated() {
            let value = (148..<156).contains(i) ? 0x20 : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        guard stored == unsigned || stored == signed else { throw ImageError("tar: header checksum mismatch") }
    }

    /// The text of a NUL-terminated field.
    static func string(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field (spaces and NULs around it), or GNU's base-256 with the high bit set.
    static func number(_ field: ArraySlice<UInt8>, _ name: String) throws(ImageError) -> Int64 {
        if let first = field.first, first & 0x80 != 0 {
            // Bit 0x40 would make it negative (two's complement): no field here may be.
            guard first & 0x40 == 0 else { throw ImageError("tar: negative \(name) field") }
            var value = Int64(first & 0x3F)
            for byte in field.dropFirst() {
                guard value <= Int64.max >> 8 else { throw ImageError("tar: \(name) field out of range") }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        let digits = field.prefix { $0 != 0 }.drop { $0 == 0x20 }.prefix { $0 != 0x20 }
        var value: Int64 = 0
        for digit in digits {
            guard (0x30...0x37).contains(digit), value < Int64.max >> 3 else {
                throw ImageError("tar: invalid \(name) field \"\(string(field))\"")
            }
            value = value << 3 | Int64(digit - 0x30)
        }
        return value
    }

    private static func id(_ field: ArraySlice<UInt8>, _ name: String) throws(ImageError) -> UInt32 {
        let value = try number(field, name)
        guard let id = UInt32(exactly: value) else { throw ImageError("tar: \(name) \(value) out of range") }
        return id
    }

    /// `"%d %s=%s\n"` records, each length counting the whole record.
    static func paxRecords(_ data: [UInt8]) throws(ImageError) -> [String: String] {
        var records: [String: String] = [:]
        var offset = 0
        while offset < data.count {
            guard let space = data[offset...].firstIndex(of: 0x20),
                  let length = Int(String(decoding: data[offset..<space], as: UTF8.self)), length > space - offset,
                  offset + length <= data.count, data[offset + length - 1] == 0x0A,
                  let equals = data[(space + 1)..<(offset + length)].firstIndex(of: UInt8(ascii: "="))
            else { throw ImageError("tar: malformed PAX record") }
            let key = String(decoding: data[(space + 1)..<equals], as: UTF8.self)
            records[key] = String(decoding: data[(equals + 1)..<(offset + length - 1)], as: UTF8.self)
            offset += length
        }
        return records
    }

    /// PAX's decimal seconds with an optional fraction.
    static func paxTime(_ text: String) -> (seconds: Int64, nanoseconds: Int32)? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = Int64(parts[0]) else { return nil }
        guard parts.count == 2 else { return (seconds, 0) }
        let fraction = parts[1].prefix(9)
        guard !fraction.isEmpty, fraction.allSatisfy(\.isASCII), let digits = Int32(fraction), digits >= 0 else { return nil }
        let nanos = digits * Int32((0..<(9 - fraction.count)).reduce(1) { acc, _ in acc * 10 })
        return text.hasPrefix("-") && nanos > 0 ? (seconds - 1, 1_000_000_000 - nanos) : (seconds, nanos)
    }
}
