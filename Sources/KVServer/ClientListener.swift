import GRPCNIOTransportCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// kvd's client listener: gRPC and HTTP/1.1 on one socket, as etcd serves both on 2379.
///
/// grpc-swift's `HTTP2ServerTransport.Custom` takes a `ListenerFactory` that
/// owns the `ServerBootstrap`. Each accepted connection gets the gRPC HTTP/2
/// pipeline from the transport's `ConnectionConfigurator`, and in front of it
/// a `ProtocolSniffer` that decides from the first bytes which side serves it.
struct ClientListenerFactory: HTTP2ServerTransport.ListenerFactory {
    let host: String
    let port: Int
    let http: HTTPGateway
    var eventLoopGroup: any EventLoopGroup { MultiThreadedEventLoopGroup.singleton }

    func makeListeningChannel(
        listenerConfigurator: HTTP2ServerTransport.ListenerConfigurator,
        connectionConfigurator: HTTP2ServerTransport.ConnectionConfigurator
    ) async throws -> NIOAsyncChannel<HTTP2ServerTransport.ConnectionConfigurator.ConnectionChannel, Never> {
        let http = self.http
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in listenerConfigurator.configure(channel: channel) }
            .bind(to: try NIOCore.SocketAddress(ipAddress: host, port: port)) { channel in
                // The initializer runs before the channel is registered, so nothing
                // can be read here; the sniffer decides later, on the first bytes.
                connectionConfigurator.configure(channel: channel, tls: .none).flatMapThrowing { connection in
                    try channel.pipeline.syncOperations.addHandler(ProtocolSniffer(http: http), position: .first)
                    return connection
                }
            }
    }
}

/// Why a write from the gRPC side was dropped: the connection speaks HTTP/1.
struct NotHTTP2: Error {}

/// Sits at the front of a new connection's pipeline. Bytes that open with the
/// HTTP/2 preface go on to the gRPC pipeline unchanged; anything else gets
/// NIOHTTP1's server handlers and kvd's HTTP side, placed between this handler
/// and the gRPC handlers. Until it decides, it holds back what the gRPC side
/// writes (the HTTP/2 handler sends SETTINGS as soon as the connection is active).
final class ProtocolSniffer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let http: HTTPGateway
    private var received: ByteBuffer?
    private var heldWrites: [(NIOAny, EventLoopPromise<Void>?)] = []
    private var heldFlush = false
    /// Set once decided: from then on (while the handler leaves the pipeline) everything passes through.
    private var decided = false

    init(http: HTTPGateway) {
        self.http = http
    }

    enum Verdict: Equatable { case http2, http1, undecided }

    /// HTTP/2 once the whole preface arrived; HTTP/1 at the first byte that differs from it.
    static func verdict(_ bytes: some Collection<UInt8>) -> Verdict {
        let compared = min(bytes.count, preface.count)
        guard bytes.prefix(compared).elementsEqual(preface.prefix(compared)) else { return .http1 }
        return compared == preface.count ? .http2 : .undecided
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else { return context.fireChannelRead(data) }
        var chunk = unwrapInboundIn(data)
        if received == nil { received = chunk } else { received!.writeBuffer(&chunk) }
        let bytes = received!
        switch Self.verdict(bytes.readableBytesView) {
        case .undecided:
            return
        case .http2:
            for (data, promise) in heldWrites { context.write(data, promise: promise) }
            if heldFlush { context.flush() }
        case .http1:
            for (_, promise) in heldWrites { promise?.fail(NotHTTP2()) }
            let handlers: [ChannelHandler] = [
                HTTPResponseEncoder(),
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)),
                HTTPServerPipelineHandler(),
                HTTPServerProtocolErrorHandler(),
                HTTP1Connection(gateway: http),
            ]
            do {
                try context.pipeline.syncOperations.addHandlers(handlers, position: .after(self))
            } catch {
                context.close(promise: nil)
                return
            }
        }
        heldWrites = []
        received = nil
        decided = true
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if decided { context.write(data, promise: promise) } else { heldWrites.append((data, promise)) }
    }

    func flush(context: ChannelHandlerContext) {
        if decided { context.flush() } else { heldFlush = true }
    }

    /// A graceful stop before the first bytes: nothing to finish, and no peer to answer the gRPC side's GOAWAY.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent && !decided { return context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for (_, promise) in heldWrites { promise?.fail(ChannelError.ioOnClosedChannel) }
        heldWrites = []
        context.fireChannelInactive()
    }
}

/// One HTTP/1.1 connection's requests, answered by the gateway one at a time
/// (`HTTPServerPipelineHandler` holds back pipelined requests, and on a
/// graceful stop closes the connection once the answer in progress is out,
/// where the gRPC side would wait for an HTTP/2 PING ack). It sits in
/// front of the unused gRPC handlers: it passes them no reads and drops their writes.
final class HTTP1Connection: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTPServerResponsePart

    /// Larger bodies are refused; etcd's default request limit is 1.5 MiB.
    static let maxBody = 2 << 20

    private let gateway: HTTPGateway
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false

    init(gateway: HTTPGateway) {
        self.gateway = gateway
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
            bodyTooLarge = false
        case .body(let chunk):
            bodyTooLarge = bodyTooLarge || body.count + chunk.readableBytes > Self.maxBody
            if !bodyTooLarge { body += chunk.readableBytesView }
        case .end:
            guard let head else { return }
            self.head = nil
            if bodyTooLarge {
                respond(context: context, head: head, HTTPResponse(status: 413, text: "Request Entity Too Large\n"), close: true)
                return
            }
            let request = HTTPRequest(method: head.method.rawValue, uri: head.uri, contentType: head.headers.first(name: "Content-Type"),
                                      body: body)
            let gateway = self.gateway
            context.eventLoop.makeFutureWithTask { await gateway.respond(to: request) }
                .assumeIsolated()
                .whenSuccess { response in self.respond(context: context, head: head, response, close: !head.isKeepAlive) }
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, _ response: HTTPResponse, close: Bool) {
        var headers = HTTPHeaders(response.headers)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        if close { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    /// The gRPC side's writes (SETTINGS, GOAWAY, pings) mean nothing on an HTTP/1 connection.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.fail(NotHTTP2())
    }

    func flush(context: ChannelHandlerContext) {}

    /// Errors end the connection here; the HTTP/2 handlers behind have no stake in it.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
