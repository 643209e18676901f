import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import SwiftProtobuf

/// A gRPC client connection: HTTP/2 with prior knowledge (no TLS) to one
/// server, many concurrent calls on it. Like the server side, it works at
/// the level of frames: a unary call is one HEADERS and one DATA frame out,
/// a decode and a callback in, with no channel or task of its own.
public final class GRPCChannel: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<GRPCClientHandler>

    private init(channel: any Channel, handler: NIOLoopBound<GRPCClientHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Connects to `host:port`; throws if no connection is made within `timeout`.
    public static func connect(
        host: String, port: Int, timeout: Duration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> GRPCChannel {
        let authority = "\(host):\(port)"
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16384),
        ]
        // grpc-go servers (etcd) ping for every window of data they send, to
        // estimate bandwidth: far over NIO's default flood limit of 200 per
        // 30 s, which guards servers against clients, not a client against
        // the server it chose. 200 within a millisecond is a flood still.
        // (The limit's count sizes a buffer: raising it instead allocates.)
        connection.controlFrameRateLimit.windowLength = .milliseconds(1)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOHTTP2Handler(mode: .client, connectionConfiguration: connection),
                        GRPCClientHandler(authority: authority),
                    ])
                }
            }
            .connect(host: host, port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: GRPCClientHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return GRPCChannel(channel: channel, handler: handler)
    }

    /// A unary call answering through `reply`, on the connection's event
    /// loop: the hot path (a load generator issues thousands per second).
    /// `timeout` is sent as grpc-timeout and ends the call locally with
    /// DEADLINE_EXCEEDED when it passes first.
    public func unary<Request: Message, Response: Message>(
        _ path: String, _ request: Request, timeout: Duration? = nil, reply: @escaping GRPCReply<Response>
    ) {
        let framed: ByteBuffer
        do { framed = try Self.frame(request) } catch {
            reply(.failure(error))
            return
        }
        let stream = ClientStream.unary(reply)
        onLoop { handler in
            handler.open(stream, path: path, timeout: timeout)
            handler.send(framed, on: stream, last: true)
        }
    }

    /// A unary call.
    public func unary<Request: Message, Response: Message>(
        _ path: String, _ request: Request, timeout: Duration? = nil
    ) async throws(GRPCStatus) -> Response {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Response, GRPCStatus>, Never>) in
            unary(path, request, timeout: timeout) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// A streaming call (client, server or both ways). The call starts at once;
    /// it ends when the server ends it, or with `cancel()`.
    public func stream<Request: Message, Response: Message>(
        _ path: String, _ response: Response.Type
    ) -> GRPCCall<Request, Response> {
        let (responses, continuation) = AsyncThrowingStream<Response, any Error>.makeStream()
        let stream = ClientStream.streaming(continuation)
        let call = GRPCCall<Request, Response>(responses: responses, stream: stream, onLoop: onLoop)
        continuation.onTermination = { reason in
            if case .cancelled = reason { call.cancel() }
        }
        onLoop { handler in handler.open(stream, path: path, timeout: nil) }
        return call
    }

    /// Runs `body` on the connection's event loop after `delay`: callers
    /// pacing their calls stay on the thread their answers arrive on.
    public func after(_ delay: Duration, _ body: @escaping @Sendable () -> Void) {
        channel.eventLoop.scheduleTask(in: TimeAmount(delay), body)
    }

    /// Closes the connection; calls still open end with UNAVAILABLE.
    public func close() async {
        try? await channel.close()
    }

    private func onLoop(_ body: @escaping @Sendable (GRPCClientHandler) -> Void) {
        let handler = self.handler
        if handler.eventLoop.inEventLoop {
            body(handler.value)
        } else {
            handler.eventLoop.execute { body(handler.value) }
        }
    }

    static func frame(_ message: some Message) throws(GRPCStatus) -> ByteBuffer {
        do {
            return MessageFraming.frame(try message.serializedBytes(), allocator: ByteBufferAllocator())
        } catch {
            throw GRPCStatus(.internalError, "grpc: error while marshaling: \(error)")
        }
    }
}

/// A streaming call's client side: requests out, responses in, from any thread.
public final class GRPCCall<Request: Message, Response: Message>: Sendable {
    /// The responses in order; the sequence ends when the call ends OK and
    /// throws its `GRPCStatus` otherwise.
    public let responses: AsyncThrowingStream<Response, any Error>
    private let stream: ClientStream
    private let onLoop: @Sendable (@escaping @Sendable (GRPCClientHandler) -> Void) -> Void

    init(
        responses: AsyncThrowingStream<Response, any Error>, stream: ClientStream,
        onLoop: @escaping @Sendable (@escaping @Sendable (GRPCClientHandler) -> Void) -> Void
    ) {
        self.responses = responses
        self.stream = stream
        self.onLoop = onLoop
    }

    public func send(_ request: Request) {
        let stream = self.stream
        do {
            let framed = try GRPCChannel.frame(request)
            onLoop { $0.send(framed, on: stream, last: false) }
        } catch {
            onLoop { $0.reset(stream, error) }
        }
    }

    /// No more requests (the client half-closes its side).
    public func finishSending() {
        let stream = self.stream
        onLoop { $0.send(ByteBuffer(), on: stream, last: true) }
    }

    /// Resets the stream: the call ends with CANCELLED.
    public func cancel() {
        let stream = self.stream
        onLoop { $0.reset(stream, GRPCStatus(.cancelled, "context canceled")) }
    }
}

/// One call on a connection, driven on its event loop: what to do with each
/// response message and with the status the call ends with.
final class ClientStream: @unchecked Sendable {
    // @unchecked: created by the caller, then touched only on the connection's
    // event loop, where every call is handed over.
    var id: HTTP2StreamID?
    var buffer = ByteBuffer()
    var window = ReceiveWindow.stream()
    var receivedHeaders = false
    var deadline: Scheduled<Void>?
    private let received: (ByteBuffer) throws(GRPCStatus) -> Void
    private var ended: ((GRPCStatus) -> Void)?

    private init(received: @escaping (ByteBuffer) throws(GRPCStatus) -> Void, ended: @escaping (GRPCStatus) -> Void) {
        self.received = received
        self.ended = ended
    }

    /// One response, then OK.
    static func unary<Response: Message>(_ reply: @escaping GRPCReply<Response>) -> ClientStream {
        var response: Response?
        return ClientStream(
            received: { bytes throws(GRPCStatus) in
                guard response == nil else { throw GRPCStatus(.internalError, "grpc: a unary call got more than one response") }
                response = try decode(bytes)
            },
            ended: { status in
                if status.code != .ok {
                    reply(.failure(status))
                } else if let response {
                    reply(.success(response))
                } else {
                    reply(.failure(GRPCStatus(.internalError, "grpc: a unary call ended with no response")))
                }
            })
    }

    static func streaming<Response: Message>(_ continuation: AsyncThrowingStream<Response, any Error>.Continuation) -> ClientStream {
        ClientStream(
            received: { bytes throws(GRPCStatus) in continuation.yield(try decode(bytes)) },
            ended: { status in
                if status.code == .ok { continuation.finish() } else { continuation.finish(throwing: status) }
            })
    }

    private static func decode<Response: Message>(_ bytes: ByteBuffer) throws(GRPCStatus) -> Response {
        do { return try Response(serializedBytes: Array(bytes.readableBytesView)) } catch {
            throw GRPCStatus(.internalError, "grpc: failed to unmarshal the received message: \(error)")
        }
    }

    func deliver(_ message: ByteBuffer) throws(GRPCStatus) { try received(message) }

    /// Ends the call with `status`; only the first end counts.
    func end(_ status: GRPCStatus) {
        deadline?.cancel()
        deadline = nil
        let ended = self.ended
        self.ended = nil
        ended?(status)
    }
}

/// The client side of gRPC on one HTTP/2 connection, behind NIOHTTP2Handler:
/// it numbers streams, writes requests, and turns response frames into
/// messages and statuses.
final class GRPCClientHandler: ChannelInboundHandler, FlushCoalescing {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// Responses are not limited by size here: the server chose to send them.
    private static let messageLimit = Int(UInt32.max)
    private let requestHeaders: HPACKHeaders
    private var streams: [HTTP2StreamID: ClientStream] = [:]
    private var nextID: Int32 = 1
    /// Once the connection is gone, what every new call ends with.
    private var closed: GRPCStatus?
    private var window = ReceiveWindow.connection()
    private(set) var context: ChannelHandlerContext?
    var flushScheduled = false

    init(authority: String) {
        requestHeaders = [
            ":method": "POST", ":scheme": "http", ":authority": authority,
            "content-type": "application/grpc", "te": "trailers", "user-agent": "corebox-grpc",
        ]
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// NIOHTTP2Handler, before this handler, has sent the preface by now.
    func channelActive(context: ChannelHandlerContext) {
        write(ReceiveWindow.openConnection)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = GRPCStatus(.unavailable, "connection closed")
        let open = streams.values
        streams.removeAll()
        for stream in open { stream.end(closed!) }
        self.context = nil
        context.fireChannelInactive()
    }

    func open(_ stream: ClientStream, path: String, timeout: Duration?) {
        guard let context, closed == nil else {
            stream.end(closed ?? GRPCStatus(.unavailable, "connection closed"))
            return
        }
        let id = HTTP2StreamID(nextID)
        nextID += 2
        stream.id = id
        streams[id] = stream
        var headers: HPACKHeaders = [":path": path]
        headers.add(contentsOf: requestHeaders)
        if let timeout {
            headers.add(name: "grpc-timeout", value: Self.encode(timeout))
            stream.deadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
                self.reset(stream, GRPCStatus(.deadlineExceeded, "context deadline exceeded"))
            }
        }
        write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers))))
    }

    /// Writes framed request bytes; `last` half-closes the stream.
    func send(_ framed: ByteBuffer, on stream: ClientStream, last: Bool) {
        guard let id = stream.id, streams[id] != nil else { return }
        write(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(framed), endStream: last))))
    }

    /// Ends the call with `status` and tells the server with RST_STREAM.
    func reset(_ stream: ClientStream, _ status: GRPCStatus) {
        if let id = stream.id, streams.removeValue(forKey: id) != nil {
            write(HTTP2Frame(streamID: id, payload: .rstStream(.cancel)))
        }
        stream.end(status)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            guard let stream = streams[frame.streamID] else { return }
            if !stream.receivedHeaders {
                stream.receivedHeaders = true
                let status = headers.headers.first(name: ":status").flatMap { Int($0) } ?? 0
                if status != 200 {
                    return finish(frame.streamID, GRPCStatus(httpStatus: status), reset: !headers.endStream)
                }
            }
            if headers.endStream { finish(frame.streamID, Self.status(of: headers.headers), reset: false) }
        case .data(let data):
            if let update = window.received(ReceiveWindow.length(of: data), on: .rootStream) { write(update) }
            guard case .byteBuffer(var bytes) = data.data, let stream = streams[frame.streamID] else { return }
            if let update = stream.window.received(ReceiveWindow.length(of: data), on: frame.streamID), !data.endStream {
                write(update)
            }
            if stream.buffer.readableBytes == 0 { stream.buffer = bytes } else { stream.buffer.writeBuffer(&bytes) }
            do {
                while let message = try MessageFraming.next(from: &stream.buffer, limit: Self.messageLimit) {
                    try stream.deliver(message)
                }
            } catch {
                return finish(frame.streamID, error, reset: true)
            }
            if data.endStream {
                finish(frame.streamID, GRPCStatus(.internalError, "server closed the stream without sending trailers"), reset: false)
            }
        case .rstStream(let code):
            let status = code == .cancel
                ? GRPCStatus(.cancelled, "stream reset by the server")
                : GRPCStatus(code == .refusedStream ? .unavailable : .internalError, "stream terminated by RST_STREAM with error code: \(code)")
            finish(frame.streamID, status, reset: false)
        case .goAway(let lastStreamID, _, _):
            // Streams above the last one the server processed will never be answered.
            closed = GRPCStatus(.unavailable, "the server is going away")
            for id in streams.keys where id > lastStreamID { finish(id, closed!, reset: false) }
        default:
            break
        }
    }

    private func finish(_ id: HTTP2StreamID, _ status: GRPCStatus, reset: Bool) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        if reset { write(HTTP2Frame(streamID: id, payload: .rstStream(.cancel))) }
        stream.end(status)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOHTTP2Errors.StreamError {
            return finish(error.streamID, GRPCStatus(.internalError, "\(error.baseError)"), reset: false)
        }
        context.close(promise: nil)
    }

    /// The status in a response's trailers (or trailers-only headers).
    static func status(of trailers: HPACKHeaders) -> GRPCStatus {
        guard let value = trailers.first(name: "grpc-status"), let number = Int(value),
              let code = GRPCStatus.Code(rawValue: number) else {
            return GRPCStatus(.internalError, "server sent no valid grpc-status")
        }
        return GRPCStatus(code, trailers.first(name: "grpc-message").map(GRPCStatus.decodedMessage) ?? "")
    }

    /// grpc-timeout: at most eight digits and a unit.
    static func encode(_ timeout: Duration) -> String {
        let milliseconds = max(0, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return milliseconds < 100_000_000 ? "\(milliseconds)m" : "\(min(milliseconds / 1000, 99_999_999))S"
    }
}
