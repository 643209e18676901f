import CoreboxCore

/// MIME multipart user-data, as Flatcar's coreos-cloudinit and cloud-init
/// take it: headers at the top with `Content-Type: multipart/mixed;
/// boundary=...` (in any order, `MIME-Version` included), then parts, each
/// with its own headers, a blank line and a body. Bodies come out decoded
/// (base64 and quoted-printable transfer encodings) and inflated (a gzip
/// media type or gzip's magic bytes); a multipart part's own parts come out
/// in its place. What a part is, the caller decides: by `contentType`, or by
/// the body's first line when the type says nothing (`text/plain`, gzip).
public enum MultipartUserData {
    public struct Part: Equatable, Sendable {
        /// The media type, lowercased, without parameters: "text/cloud-config".
        /// "text/plain" when the part names none, as RFC 2045 says.
        public var contentType: String
        /// Content-Disposition's `filename`, which names a script when it runs.
        public var fileName: String?
        public var body: [UInt8]
        /// The 1-based line of the original text where the body starts, for reports.
        public var line: Int

        public init(contentType: String, fileName: String? = nil, body: [UInt8], line: Int) {
            self.contentType = contentType
            self.fileName = fileName
            self.body = body
            self.line = line
        }
    }

    /// Whether `bytes` opens with a header block whose Content-Type is multipart.
    public static func isMultipart(_ bytes: [UInt8]) -> Bool {
        let lines = Line.split(bytes)
        var fields: [HeaderField] = []
        for line in lines {
            guard let field = HeaderField(line.text(in: bytes)) else { break }
            fields.append(field)
        }
        return fields.value(of: "content-type").map { MediaType($0).name.hasPrefix("multipart/") } ?? false
    }

    /// The parts of `bytes`, in order.
    public static func parts(_ bytes: [UInt8]) throws(ContentError) -> [Part] {
        guard isMultipart(bytes) else {
            throw ContentError("multipart: no multipart Content-Type header at the top", line: 1)
        }
        let lines = Line.split(bytes)
        let document = Document(bytes: bytes, lines: lines)
        let (fields, bodyStart) = try document.headers(in: 0..<lines.count, of: "the message")
        let contentType = fields.first { $0.name == "content-type" }!
        var parts: [Part] = []
        try document.collectParts(of: MediaType(contentType.value), declaredAt: contentType.line, in: bodyStart..<lines.count, into: &parts)
        return parts
    }

    /// Media types coreos-cloudinit inflates as gzip.
    static let gzipMediaTypes: Set<String> = [
        "application/gzip", "application/gzip-compressed", "application/gzipped",
        "application/x-compress", "application/x-compressed", "application/x-gunzip",
        "application/x-gzip", "application/x-gzip-compressed",
    ]
}

/// One line of the text, as offsets: its content ends before "\r\n" or "\n".
private struct Line {
    var start: Int
    var contentEnd: Int
    var number: Int

    static func split(_ bytes: [UInt8]) -> [Line] {
        var lines: [Line] = []
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            var contentEnd = newline ?? bytes.count
            if newline != nil, contentEnd > start, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            lines.append(Line(start: start, contentEnd: contentEnd, number: lines.count + 1))
            start = newline.map { $0 + 1 } ?? bytes.count
        }
        return lines
    }

    func text(in bytes: [UInt8]) -> String { String(decoding: bytes[start..<contentEnd], as: UTF8.self) }
}

/// `Name: value`; names compare lowercased, as header names are case-insensitive.
private struct HeaderField {
    var name: String
    var value: String
    var line = 0

    /// nil when `text` is not a header line.
    init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = text[..<colon]
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else { return nil }
        self.name = name.lowercased()
        self.value = String(text[text.index(after: colon)...]).trimmingMIMESpace
    }
}

extension [HeaderField] {
    fileprivate func value(of name: String) -> String? { first { $0.name == name }?.value }
}

/// A Content-Type or Content-Disposition value: `type/subtype; name=value; name="quoted"`.
private struct MediaType {
    var name: String
    var parameters: [String: String] = [:]

    init(_ value: String) {
        var rest = Substring(value)
        let head = rest.prefix { $0 != ";" }
        name = head.trimmingMIMESpace.lowercased()
        rest = rest[head.endIndex...]
        while let semicolon = rest.first, semicolon == ";" {
            rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
            let key = rest.prefix { $0 != "=" && $0 != ";" }
            rest = rest[key.endIndex...]
            guard rest.first == "=" else { continue }
            rest = rest.dropFirst()
            var parameter = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let character = rest.popFirst(), character != "\"" {
                    parameter.append(character == "\\" ? rest.popFirst() ?? character : character)
                }
                rest = rest.drop { $0 != ";" }
            } else {
                let token = rest.prefix { $0 != ";" }
                parameter = token.trimmingMIMESpace
                rest = rest[token.endIndex...]
            }
            parameters[key.trimmingMIMESpace.lowercased()] = parameter
        }
    }
}

extension StringProtocol {
    /// Without the spaces and tabs around it (MIME's linear white space).
    fileprivate var trimmingMIMESpace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

/// The text and its lines, which every entity of a multipart message is a range of.
private struct Document {
    var bytes: [UInt8]
    var lines: [Line]

    /// The header fields at the start of `range` (folded lines unfolded) and
    /// the index of the line after the blank line that ends them.
    func headers(in range: Range<Int>, of entity: String) throws(ContentError) -> ([HeaderField], Int) {
        var fields: [HeaderField] = []
        for index in range {
            let text = lines[index].text(in: bytes)
            if text.isEmpty { return (fields, index + 1) }
            if let first = text.first, first == " " || first == "\t", !fields.isEmpty {
                fields[fields.count - 1].value += " " + text.trimmingMIMESpace
            } else if var field = HeaderField(text) {
                field.line = lines[index].number
                fields.append(field)
            } else {
                throw ContentError("multipart: malformed header line in \(entity)", line: lines[index].number)
            }
        }
        throw ContentError("multipart: no blank line after the headers of \(entity)", line: lines[range.upperBound - 1].number)
    }

    enum Delimiter { case next, close }

    /// Whether line `index` is `--boundary` (a part follows) or
    /// `--boundary--` (the last part ended); white space may trail both.
    func delimiter(at index: Int, boundary: [UInt8]) -> Delimiter? {
        let line = lines[index]
        let text = bytes[line.start..<line.contentEnd]
        guard text.starts(with: [0x2D, 0x2D] + boundary) else { return nil }
        var rest = text.dropFirst(2 + boundary.count)
        let isClose = rest.starts(with: [0x2D, 0x2D])
        if isClose { rest = rest.dropFirst(2) }
        guard rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { return nil }
        return isClose ? .close : .next
    }

    /// The parts of the multipart entity whose body is `range`, appended to `parts`.
    func collectParts(of type: MediaType, declaredAt typeLine: Int, in range: Range<Int>, into parts: inout [MultipartUserData.Part]) throws(ContentError) {
        guard let boundaryText = type.parameters["boundary"], !boundaryText.isEmpty else {
            throw ContentError("multipart: no boundary in Content-Type", line: typeLine)
        }
        let boundary = Array(boundaryText.utf8)
        // The preamble before the first delimiter is not content.
        guard var opening = range.first(where: { delimiter(at: $0, boundary: boundary) != nil }),
              delimiter(at: opening, boundary: boundary) == .next
        else {
            throw ContentError("multipart: no part starts with \"--\(boundaryText)\"", line: typeLine)
        }
        while true {
            let partLines = (opening + 1)..<range.upperBound
            guard let closing = partLines.first(where: { delimiter(at: $0, boundary: boundary) != nil }) else {
                let lastLine = range.isEmpty ? typeLine : lines[range.upperBound - 1].number
                throw ContentError("multipart: no closing boundary \"--\(boundaryText)--\"", line: lastLine)
            }
            try collectPart(in: (opening + 1)..<closing, into: &parts)
            if delimiter(at: closing, boundary: boundary) == .close { return }
            opening = closing
        }
    }

    /// One part between two delimiters; the line break before the second
    /// belongs to the delimiter, not the body.
    func collectPart(in range: Range<Int>, into parts: inout [MultipartUserData.Part]) throws(ContentError) {
        let firstLine = range.first.map { lines[$0].text(in: bytes) }
        let hasHeaderBlock = firstLine.map { $0.isEmpty || HeaderField($0) != nil } ?? false
        // A part that starts with neither headers nor the blank line after
        // them is plain text from its first line (as cloud-init takes it).
        let (fields, bodyStart) = hasHeaderBlock ? try headers(in: range, of: "the part") : ([], range.lowerBound)
        let type = MediaType(fields.value(of: "content-type") ?? "text/plain")
        let bodyLines = bodyStart..<range.upperBound
        // An empty body is reported at the delimiter that ends it.
        let line = lines[bodyStart].number
        let transferEncoding = fields.value(of: "content-transfer-encoding")?.lowercased() ?? "7bit"

        if type.name.hasPrefix("multipart/"), ["7bit", "8bit", "binary"].contains(transferEncoding) {
            let typeLine = fields.first { $0.name == "content-type" }!.line
            return try collectParts(of: type, declaredAt: typeLine, in: bodyLines, into: &parts)
        }

        let raw = bodyLines.isEmpty ? [] : Array(bytes[lines[bodyStart].start..<lines[bodyLines.upperBound - 1].contentEnd])
        var body: [UInt8]
        do throws(ContentError) {
            body = switch transferEncoding {
            case "base64": try Base64.decode(raw.filter { $0 != 0x20 && $0 != 0x09 })
            case "quoted-printable": QuotedPrintable.decode(raw)
            default: raw
            }
            if UserDataKind.isGzip(body) || MultipartUserData.gzipMediaTypes.contains(type.name) {
                body = try Gzip.inflateContent(body)
            }
        } catch {
            throw ContentError("multipart: \(type.name) part: \(error.message)", line: line)
        }
        let fileName = fields.value(of: "content-disposition").flatMap { MediaType($0).parameters["filename"] }
        parts.append(MultipartUserData.Part(contentType: type.name, fileName: fileName, body: body, line: line))
    }
}

/// RFC 2045's quoted-printable: `=XX` is a byte, `=` at a line's end joins
/// it to the next; a malformed `=` stays as it is, as Python's decoder keeps it.
private enum QuotedPrintable {
    static func decode(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            guard byte == UInt8(ascii: "=") else {
                output.append(byte)
                index += 1
                continue
            }
            let rest = input[(index + 1)...]
            if rest.starts(with: [0x0D, 0x0A]) {
                index += 3
            } else if rest.starts(with: [0x0A]) {
                index += 2
            } else if rest.count >= 2, let high = hexValue(rest[index + 1]), let low = hexValue(rest[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(byte)
                index += 1
            }
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
