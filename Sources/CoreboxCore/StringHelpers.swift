extension Array where Element == String {
    /// The strings with `separator` between them: what `joined(separator:)`
    /// gives, without its generic path, whose first use in a process scans
    /// the binary's protocol conformances (about 50 us of a short command).
    public func joined(by separator: String) -> String {
        var text = ""
        for (index, part) in enumerated() {
            if index > 0 { text += separator }
            text += part
        }
        return text
    }
}

extension String {
    /// Without white space at either end (Unicode's White_Space, as Go's
    /// strings.TrimSpace).
    public var trimmingWhiteSpace: String {
        String(unicodeScalars.drop { $0.properties.isWhitespace }.reversed().drop { $0.properties.isWhitespace }.reversed().map(Character.init))
    }
}

extension String {
    /// The parts between the `separator` bytes (an ASCII character), found
    /// in the UTF-8 bytes. `split(separator:)` with a Character breaks the
    /// whole text into grapheme clusters: the files a short command parses
    /// (state records, /proc) cost it more than the rest of the command.
    public func split(byte separator: UInt8, omittingEmpty: Bool = true) -> [String] {
        precondition(separator < 0x80, "split(byte:) takes an ASCII separator: a UTF-8 continuation byte would split a character")
        var text = self
        return text.withUTF8 { bytes in
            var parts: [String] = []
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == separator {
                if !omittingEmpty || index > start {
                    parts.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
                }
                start = index + 1
            }
            return parts
        }
    }

    /// What follows `prefix`, compared byte for byte; nil without it.
    public func after(prefix: String) -> String? {
        guard utf8.starts(with: prefix.utf8) else { return nil }
        return String(Substring(utf8.dropFirst(prefix.utf8.count)))
    }
}
