import GRPCWire
import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection's requests, answered by the gateway one at a time
/// (`HTTPServerPipelineHandler` holds back pipelined requests). GRPCWire's
/// sniffer sets it up for a connection that does not open with HTTP/2's preface.
final class HTTP1Connection: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
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

    /// The handlers an HTTP/1.1 connection gets, for `GRPCServer.bind`'s `http1`.
    static func configurator(_ gateway: HTTPGateway) -> GRPCServer.HTTP1Configurator {
        { pipeline in
            try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
            try pipeline.addHandler(HTTP1Connection(gateway: gateway))
        }
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

    /// A malformed request (NIOHTTP1 has answered 400 where it could) ends the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
