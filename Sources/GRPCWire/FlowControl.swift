import NIOCore
import NIOHTTP2

/// Inbound flow control for a handler that sees HTTP/2 frames without the
/// stream multiplexer, which would otherwise do it: received DATA bytes are
/// counted, and given back with a WINDOW_UPDATE once enough have been taken in.
struct ReceiveWindow {
    /// Half the default stream window: the peer never stalls on a long-lived stream.
    static let streamThreshold = 32_768
    /// The connection window is opened this far at once, so many concurrent
    /// calls on one connection do not wait for window updates.
    static let connectionSize = 4 << 20

    /// Opens the connection window from the protocol's 65,535 bytes to `connectionSize`.
    static let openConnection = HTTP2Frame(
        streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: connectionSize - 65_535))

    private let threshold: Int
    private var consumed = 0

    init(threshold: Int) { self.threshold = threshold }

    static func connection() -> ReceiveWindow { ReceiveWindow(threshold: connectionSize / 2) }
    static func stream() -> ReceiveWindow { ReceiveWindow(threshold: streamThreshold) }

    /// Counts `length` bytes (padding included); the WINDOW_UPDATE frame for
    /// `id` once enough are due.
    mutating func received(_ length: Int, on id: HTTP2StreamID) -> HTTP2Frame? {
        consumed += length
        guard consumed >= threshold else { return nil }
        defer { consumed = 0 }
        return HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: consumed))
    }

    /// The bytes a DATA frame counts against the windows.
    static func length(of data: HTTP2Frame.FramePayload.Data) -> Int {
        data.data.readableBytes + (data.paddingBytes.map { $0 + 1 } ?? 0)
    }
}

/// A handler that writes from many places in one turn of the event loop and
/// flushes once at its end: the answers of a whole group commit, or the
/// requests of many callers, leave in one write.
protocol FlushCoalescing: AnyObject {
    var context: ChannelHandlerContext? { get }
    var flushScheduled: Bool { get set }
}

extension FlushCoalescing {
    func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }
}

extension FlushCoalescing where Self: ChannelInboundHandler, Self.OutboundOut == HTTP2Frame {
    /// Writes `frame`; it leaves with this turn's flush.
    func write(_ frame: HTTP2Frame) {
        guard let context else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        scheduleFlush()
    }
}
