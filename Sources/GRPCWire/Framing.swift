import NIOCore

/// gRPC's length-prefixed messages: a compressed flag byte, a big-endian
/// u32 length, then the message.
enum MessageFraming {
    static let prefixLength = 5

    /// The next whole message in `buffer`, consumed; nil until one has arrived.
    /// Throws for a compressed message (no grpc-encoding is negotiated) or one over `limit` bytes.
    static func next(from buffer: inout ByteBuffer, limit: Int) throws(GRPCStatus) -> ByteBuffer? {
        guard let compressed = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self) else { return nil }
        guard compressed == 0 else { throw GRPCStatus(.unimplemented, "compressed messages are not supported") }
        guard Int(length) <= limit else {
            throw GRPCStatus(.resourceExhausted, "grpc: received message larger than max (\(length) vs. \(limit))")
        }
        guard buffer.readableBytes >= prefixLength + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: prefixLength)
        return buffer.readSlice(length: Int(length))
    }

    static func frame(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: prefixLength + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }
}
