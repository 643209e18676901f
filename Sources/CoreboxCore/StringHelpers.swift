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
