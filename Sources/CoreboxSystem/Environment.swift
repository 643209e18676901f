import Glibc

/// The process environment as a dictionary, read from `environ` without Foundation.
public enum ProcessEnvironment {
    public static func current() -> [String: String] { variables(environ) }

    /// The `NAME=value` entries of a NULL-terminated array like `environ`,
    /// split at the first `=` by bytes (every command reads its environment
    /// at start, and searching a String for "=" by Characters was half of
    /// `corebox --version`'s instructions). An entry without `=` is skipped;
    /// of two entries with one name the last wins.
    public static func variables(_ entries: UnsafePointer<UnsafeMutablePointer<CChar>?>) -> [String: String] {
        var count = 0
        while entries[count] != nil { count += 1 }
        var result = [String: String](minimumCapacity: count)
        for index in 0..<count {
            guard let entry = entries[index], let equals = strchr(entry, Int32(UInt8(ascii: "="))) else { continue }
            let name = UnsafeRawBufferPointer(start: entry, count: equals - entry)
            result[String(decoding: name, as: UTF8.self)] = String(cString: equals + 1)
        }
        return result
    }
}
