import NIOCore
import NIOHTTP2
import NIOPosix
import Synchronization

/// A listening socket serving gRPC (HTTP/2 with prior knowledge) and, on the
/// same port, HTTP/1.1 for whoever configures it: a connection's first bytes
/// say which, as etcd serves both on 2379.
public final class GRPCServer: Sendable {
    /// Sets up an HTTP/1.1 connection's pipeline (the bytes so far are passed on after it).
    public typealias HTTP1Configurator = @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void

    /// The open connections, to close on `close()`.
    private final class Connections: Sendable {
        let channels = Mutex<[ObjectIdentifier: any Channel]>([:])
    }

    private let listener: any Channel
    private let connections: Connections
    /// The port bound (useful when 0 was asked for).
    public let port: Int

    private init(listener: any Channel, connections: Connections, port: Int) {
        self.listener = listener
        self.connections = connections
        self.port = port
    }

    /// Binds `host:port` and serves `methods`; a request message over
    /// `messageLimit` bytes fails its call with RESOURCE_EXHAUSTED.
    public static func bind(
        host: String, port: Int, methods: GRPCMethods, messageLimit: Int, http1: HTTP1Configurator? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> GRPCServer {
        let connections = Connections()
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                connections.channels.withLock { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in _ = connections.channels.withLock { $0.removeValue(forKey: id) } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ProtocolSniffer(
                        http2: { pipeline in
                            try pipeline.addHandlers([
                                NIOHTTP2Handler(mode: .server, initialSettings: [
                                    HTTP2Setting(parameter: .maxConcurrentStreams, value: 4096),
                                    HTTP2Setting(parameter: .maxHeaderListSize, value: 16384),
                                ]),
                                GRPCConnectionHandler(methods: methods, messageLimit: messageLimit),
                            ])
                        },
                        http1: http1
                    ))
                }
            }
            .bind(host: host, port: port).get()
        return GRPCServer(listener: listener, connections: connections, port: listener.localAddress?.port ?? port)
    }

    /// Stops accepting, then closes every connection (their calls are cancelled).
    public func close() async {
        try? await listener.close()
        for connection in connections.channels.withLock({ Array($0.values) }) { try? await connection.close() }
    }
}

/// Tells HTTP/2 from HTTP/1.1 by a connection's first bytes, sets up the
/// pipeline for it, passes the bytes on and steps aside.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias Configurator = (ChannelPipeline.SynchronousOperations) throws -> Void

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private let http2: Configurator
    private let http1: Configurator?
    private var received: ByteBuffer?

    init(http2: @escaping Configurator, http1: Configurator?) {
        self.http2 = http2
        self.http1 = http1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var received {
            received.writeBuffer(&bytes)
            bytes = received
        }
        switch Self.verdict(bytes.readableBytesView) {
        case .http2: choose(http2, bytes, context)
        case .http1: choose(http1, bytes, context)
        case .undecided: received = bytes
        }
    }

    enum Verdict: Equatable { case http2, http1, undecided }

    /// HTTP/2 once the whole preface arrived; HTTP/1 at the first byte that differs from it.
    static func verdict(_ bytes: some Collection<UInt8>) -> Verdict {
        let compared = min(bytes.count, preface.count)
        guard bytes.prefix(compared).elementsEqual(preface.prefix(compared)) else { return .http1 }
        return compared == preface.count ? .http2 : .undecided
    }

    private func choose(_ configure: Configurator?, _ bytes: ByteBuffer, _ context: ChannelHandlerContext) {
        received = nil
        do {
            guard let configure else { throw ChannelError.inappropriateOperationForState }
            let pipeline = context.pipeline.syncOperations
            try configure(pipeline)
            context.fireChannelRead(wrapInboundOut(bytes))
            pipeline.removeHandler(context: context, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }
}
