extension UInt64 {
    /// 16 lower-case hex digits: names of files that must sort in numeric order.
    public var paddedHex: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
