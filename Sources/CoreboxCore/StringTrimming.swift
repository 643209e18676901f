extension String {
    /// Without white space at either end (Unicode's White_Space, as Go's
    /// strings.TrimSpace).
    public var trimmingWhiteSpace: String {
        String(unicodeScalars.drop { $0.properties.isWhitespace }.reversed().drop { $0.properties.isWhitespace }.reversed().map(Character.init))
    }
}
