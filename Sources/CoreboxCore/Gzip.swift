import CZlib

/// Corrupt or truncated gzip data, in the words of Go's gzip package where it
/// has them ("gzip: invalid header"): coreos-cloudinit printed Go's.
public struct GzipError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// gzip inflated with zlib: cloud-config's user-data and part bodies (whole
/// buffers), and OCI image layers (streamed through `GzipDecoder`).
public enum Gzip {
    /// The data of every member of `bytes`, one after another: like Go's
    /// gzip.Reader (which coreos-cloudinit uses), concatenated members are one
    /// stream, and bytes after a member that are not another member are an
    /// error rather than ignored.
    public static func inflate(_ bytes: [UInt8]) throws(GzipError) -> [UInt8] {
        let decoder = try GzipDecoder()
        var output: [UInt8] = []
        try bytes.withUnsafeBytes { input in
            Result { () throws(GzipError) in try decoder.decode(input) { output += $0 } }
        }.get()
        try decoder.finish()
        return output
    }
}

/// A gzip stream inflated piece by piece, so a layer of hundreds of
/// megabytes never sits in memory: each piece of input is decoded into a
/// fixed 64 KiB buffer that is handed on before it is reused.
public final class GzipDecoder {
    /// Heap-allocated because zlib keeps a pointer back to its z_stream and
    /// refuses a stream that has moved.
    private let stream: UnsafeMutablePointer<z_stream>
    private var output = [UInt8](repeating: 0, count: 64 * 1024)
    private var sawInput = false
    /// At a member boundary: the stream may end here.
    private var memberEnded = false

    public init() throws(GzipError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + 15: a gzip header and trailer only, with the largest window.
        guard inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw GzipError("gzip: cannot initialize zlib")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Inflates all of `input`, passing the output to `sink` in pieces that
    /// are valid only during the call. The sink cannot fail: a caller whose
    /// consumer can fails records the failure and stops feeding.
    public func decode(_ input: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) -> Void) throws(GzipError) {
        guard let base = input.baseAddress, !input.isEmpty else { return }
        sawInput = true
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(input.count)
        defer { stream.pointee.next_in = nil; stream.pointee.avail_in = 0 }
        while true {
            let before = stream.pointee.avail_in
            let status = output.withUnsafeMutableBytes { buffer in
                stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(buffer.count)
                return CZlib.inflate(stream, Z_NO_FLUSH)
            }
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 { output.withUnsafeBytes { sink(UnsafeRawBufferPointer(rebasing: $0[..<produced])) } }
            if stream.pointee.avail_in < before { memberEnded = false }
            switch status {
            case Z_OK:
                // Output space ran out, or the input did: go on only in the first case.
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return }
            case Z_STREAM_END:
                memberEnded = true
                // Another member may follow: zlib checks its header as it did the first's.
                inflateReset(stream)
                if stream.pointee.avail_in == 0 { return }
            case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                return
            case Z_DATA_ERROR:
                throw Self.dataError(stream.pointee.msg.map { String(cString: $0) } ?? "")
            default:
                throw GzipError("gzip: zlib error \(status)")
            }
        }
    }

    /// Checks that the input ended where a member did.
    public func finish() throws(GzipError) {
        guard sawInput else { throw GzipError("gzip: no data") }
        guard memberEnded else { throw GzipError("gzip: unexpected end of data") }
    }

    /// zlib's message for corrupt data, in the words of Go's gzip package
    /// where it has them.
    private static func dataError(_ zlibMessage: String) -> GzipError {
        switch zlibMessage {
        case "incorrect header check", "unknown compression method", "unknown header flags set", "header crc mismatch":
            GzipError("gzip: invalid header")
        case "incorrect data check", "incorrect length check":
            GzipError("gzip: invalid checksum")
        default:
            GzipError("gzip: corrupt data (\(zlibMessage))")
        }
    }
}
