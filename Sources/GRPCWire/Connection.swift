import NIOCore
import NIOHPACK
import NIOHTTP2
import SwiftProtobuf

/// Where a call's responses go, usable from any thread: its stream on its
/// connection (the writes happen on the connection's event loop), or an
/// in-process caller (`GRPCMethods.call`).
struct ResponseSink: Sendable {
    /// One response message (a streaming call's next, or a unary call's only
    /// one, then OK). It is encoded where it is written, on the event loop,
    /// not on the thread that answers (for KV calls, the node's loop).
    let send: @Sendable (_ message: any Message, _ last: Bool) -> Void
    let finish: @Sendable (GRPCStatus) -> Void

    func respond(_ message: any Message) { send(message, true) }
    func send(_ message: any Message) { send(message, false) }

    /// The same sink, with `observer` told the status the call ends with.
    func observed(_ observer: @escaping @Sendable (GRPCStatus) -> Void) -> ResponseSink {
        ResponseSink(
            send: { message, last in
                send(message, last)
                if last { observer(.ok) }
            },
            finish: { status in
                finish(status)
                observer(status)
            })
    }

    /// A stream on a connection.
    init(connection: NIOLoopBound<GRPCConnectionHandler>, stream: HTTP2StreamID) {
        let onLoop: @Sendable (@escaping @Sendable (GRPCConnectionHandler) -> Void) -> Void = { body in
            if connection.eventLoop.inEventLoop {
                body(connection.value)
            } else {
                connection.eventLoop.execute { body(connection.value) }
            }
        }
        send = { message, last in
            onLoop { handler in
                handler.send(message, on: stream)
                if last { handler.finish(stream, .ok) }
            }
        }
        finish = { status in onLoop { $0.finish(stream, status) } }
    }

    init(send: @escaping @Sendable (any Message, Bool) -> Void, finish: @escaping @Sendable (GRPCStatus) -> Void) {
        self.send = send
        self.finish = finish
    }
}

/// gRPC on one HTTP/2 connection, at the level of frames: no channel and no
/// task per stream, so a unary call costs one decode, one handler call and
/// one encode. NIOHTTP2Handler in front does the framing, HPACK and the
/// protocol's state checks; inbound flow control (WINDOW_UPDATE for the
/// connection and each stream) is ours, as the stream multiplexer is not used.
final class GRPCConnectionHandler: ChannelInboundHandler, FlushCoalescing {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private final class Stream {
        let call: any ServerCall
        /// Request bytes not yet a whole message.
        var buffer = ByteBuffer()
        var window = ReceiveWindow.stream()
        var sentHeaders = false

        init(call: any ServerCall) { self.call = call }
    }

    private static let responseHeaders: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]

    private let methods: GRPCMethods
    private let messageLimit: Int
    private var streams: [HTTP2StreamID: Stream] = [:]
    private(set) var context: ChannelHandlerContext?
    var flushScheduled = false
    private var window = ReceiveWindow.connection()

    init(methods: GRPCMethods, messageLimit: Int) {
        self.methods = methods
        self.messageLimit = messageLimit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        write(ReceiveWindow.openConnection)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let open = streams.values
        streams.removeAll()
        for stream in open { stream.call.cancelled() }
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if streams[frame.streamID] == nil {
                open(frame.streamID, headers.headers, context: context)
            }
            if headers.endStream { streams[frame.streamID]?.call.requestsEnded() }
        case .data(let data):
            guard case .byteBuffer(var bytes) = data.data else { return }
            let length = ReceiveWindow.length(of: data)
            if let update = window.received(length, on: .rootStream) { write(update) }
            guard let stream = streams[frame.streamID] else { return }
            if let update = stream.window.received(length, on: frame.streamID), !data.endStream {
                write(update)
            }
            // Most requests arrive in one frame: take it as it is, no copy.
            if stream.buffer.readableBytes == 0 { stream.buffer = bytes } else { stream.buffer.writeBuffer(&bytes) }
            do {
                while let message = try MessageFraming.next(from: &stream.buffer, limit: messageLimit) {
                    stream.call.received(message)
                }
            } catch {
                finish(frame.streamID, error)
                stream.call.cancelled()
                return
            }
            if data.endStream { stream.call.requestsEnded() }
        case .rstStream:
            streams.removeValue(forKey: frame.streamID)?.call.cancelled()
        default:
            break
        }
    }

    private func open(_ id: HTTP2StreamID, _ headers: HPACKHeaders, context: ChannelHandlerContext) {
        guard headers.first(name: "content-type")?.hasPrefix("application/grpc") == true else {
            // Not gRPC at all: HTTP's answer, as grpc-go gives it.
            write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: [":status": "415"], endStream: true))))
            return
        }
        let path = headers.first(name: ":path") ?? ""
        let sink = ResponseSink(connection: NIOLoopBound(self, eventLoop: context.eventLoop), stream: id)
        guard let call = methods.open(path, sink) else {
            writeTrailers(id, GRPCStatus(.unimplemented, "unknown method \(path)"), trailersOnly: true)
            return
        }
        let stream = Stream(call: call)
        streams[id] = stream
        if stream.call.isStreaming { sendHeaders(id, stream) }
    }

    func send(_ message: any Message, on id: HTTP2StreamID) {
        guard let context, let stream = streams[id] else { return }
        if !stream.sentHeaders { sendHeaders(id, stream) }
        let framed = MessageFraming.frame(try! message.serializedBytes(), allocator: context.channel.allocator)
        write(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(framed)))))
    }

    private func sendHeaders(_ id: HTTP2StreamID, _ stream: Stream) {
        stream.sentHeaders = true
        write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: Self.responseHeaders))))
    }

    func finish(_ id: HTTP2StreamID, _ status: GRPCStatus) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        writeTrailers(id, status, trailersOnly: !stream.sentHeaders)
    }

    private func writeTrailers(_ id: HTTP2StreamID, _ status: GRPCStatus, trailersOnly: Bool) {
        var trailers: HPACKHeaders = trailersOnly ? Self.responseHeaders : [:]
        trailers.add(name: "grpc-status", value: String(status.code.rawValue))
        if !status.message.isEmpty { trailers.add(name: "grpc-message", value: status.encodedMessage) }
        write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: trailers, endStream: true))))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A protocol error on one stream is that stream's; anything else ends the connection.
        if error is NIOHTTP2Errors.StreamError { return }
        context.close(promise: nil)
    }
}
