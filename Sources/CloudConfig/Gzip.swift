import CZlib

/// gzip'd user-data, part bodies and `write_files` contents, inflated with zlib.
public enum Gzip {
    /// The data of every member of `bytes`, one after another: like Go's
    /// gzip.Reader (which coreos-cloudinit uses), concatenated members are one
    /// stream, and bytes after a member that are not another member are an
    /// error rather than ignored.
    public static func inflate(_ bytes: [UInt8]) throws(ContentError) -> [UInt8] {
        guard !bytes.isEmpty else { throw ContentError("gzip: no data") }
        var stream = z_stream()
        // 16 + 15: a gzip header and trailer only, with the largest window.
        guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ContentError("gzip: cannot initialize zlib")
        }
        defer { inflateEnd(&stream) }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let failure: ContentError? = bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                output += chunk[..<(chunk.count - Int(stream.avail_out))]
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return nil }
                    // Another member follows: zlib checks its header as it did the first's.
                    inflateReset(&stream)
                case Z_BUF_ERROR where stream.avail_in == 0:
                    return ContentError("gzip: unexpected end of data")
                case Z_DATA_ERROR:
                    return dataError(stream.msg.map { String(cString: $0) } ?? "")
                default:
                    return ContentError("gzip: zlib error \(status)")
                }
            }
        }
        if let failure { throw failure }
        return output
    }

    /// zlib's message for corrupt data, in the words of Go's gzip package
    /// where it has them.
    private static func dataError(_ zlibMessage: String) -> ContentError {
        switch zlibMessage {
        case "incorrect header check", "unknown compression method", "unknown header flags set", "header crc mismatch":
            ContentError("gzip: invalid header")
        case "incorrect data check", "incorrect length check":
            ContentError("gzip: invalid checksum")
        default:
            ContentError("gzip: corrupt data (\(zlibMessage))")
        }
    }
}
