import NIOCore
import SwiftProtobuf

/// The methods a server answers, by path (`/package.Service/Method`); built
/// before the server starts, read-only after.
public struct GRPCMethods: Sendable {
    typealias Opener = @Sendable (ResponseSink) -> any ServerCall
    private var table: [String: Opener] = [:]
    /// Told of every call as it starts (its path) and as it ends (its path, status and duration): metrics.
    public var onStart: (@Sendable (String) -> Void)?
    public var onEnd: (@Sendable (String, GRPCStatus, Duration) -> Void)?

    public init() {}

    /// A new call of `path` answering into `sink`; nil for a method not served.
    func open(_ path: String, _ sink: ResponseSink) -> (any ServerCall)? {
        guard let opener = table[path] else { return nil }
        guard onStart != nil || onEnd != nil else { return opener(sink) }
        onStart?(path)
        let start = ContinuousClock.now
        let onEnd = self.onEnd
        return opener(sink.observed { status in onEnd?(path, status, start.duration(to: .now)) })
    }

    /// Calls a unary method in process, as a gateway from another protocol
    /// does: the same handler, checks and metrics as a call over the wire.
    public func call<Request: Message, Response: Message>(_ path: String, _ request: Request) async throws(GRPCStatus) -> Response {
        let bytes: [UInt8]
        do { bytes = try request.serializedBytes() } catch { throw GRPCStatus(.internalError, "\(error)") }
        let answer = await withCheckedContinuation { (continuation: CheckedContinuation<Result<any Message, GRPCStatus>, Never>) in
            let sink = ResponseSink(
                send: { message, last in if last { continuation.resume(returning: .success(message)) } },
                finish: { continuation.resume(returning: .failure($0)) })
            guard let call = open(path, sink) else {
                return continuation.resume(returning: .failure(GRPCStatus(.unimplemented, "unknown method \(path)")))
            }
            call.received(ByteBuffer(bytes: bytes))
            call.requestsEnded()
        }
        guard let response = try answer.get() as? Response else { throw GRPCStatus(.internalError, "\(path) answered another message type") }
        return response
    }

    /// A unary method whose handler answers through `reply`, from any thread:
    /// the hot path, with no task per call.
    public mutating func unary<Request: Message, Response: Message>(
        _ path: String, _ handler: @escaping @Sendable (Request, @escaping GRPCReply<Response>) -> Void
    ) {
        table[path] = { sink in
            UnaryCall(sink: sink) { (bytes: ByteBuffer) in
                let request: Request
                do { request = try Request(serializedBytes: Array(bytes.readableBytesView)) } catch {
                    sink.finish(GRPCStatus(.internalError, "grpc: error unmarshalling request: \(error)"))
                    return
                }
                handler(request) { result in
                    switch result {
                    case .success(let response): sink.respond(response)
                    case .failure(let status): sink.finish(status)
                    }
                }
            }
        }
    }

    /// A unary method with an async handler, for calls off the hot path.
    public mutating func unary<Request: Message, Response: Message>(
        _ path: String, _ handler: @escaping @Sendable (Request) async throws -> Response
    ) {
        unary(path) { (request: Request, reply: @escaping GRPCReply<Response>) in
            Task {
                do { reply(.success(try await handler(request))) } catch { reply(.failure(GRPCStatus(error))) }
            }
        }
    }

    /// A streaming method (client, server or both ways): the handler reads the
    /// requests in order and writes responses; the call ends with OK when it
    /// returns, or with the status it throws. It is cancelled when the client resets the stream.
    public mutating func streaming<Request: Message, Response: Message>(
        _ path: String, _ handler: @escaping @Sendable (GRPCRequests<Request>, GRPCWriter<Response>) async throws -> Void
    ) {
        table[path] = { sink in StreamingCall(sink: sink, handler: handler) }
    }
}

/// How a unary call's handler answers, from any thread.
public typealias GRPCReply<Response> = @Sendable (Result<Response, GRPCStatus>) -> Void

/// The requests of a streaming call, in order; it ends when the client half-closes.
public typealias GRPCRequests<Request> = AsyncThrowingStream<Request, any Error>

/// Sends a streaming call's responses, from any thread, in the order written.
public struct GRPCWriter<Response: Message>: Sendable {
    let sink: ResponseSink

    public func write(_ response: Response) {
        sink.send(response)
    }
}

extension GRPCStatus {
    /// What a handler's error ends the call with.
    init(_ error: any Error) {
        switch error {
        case let status as GRPCStatus: self = status
        case is CancellationError: self = GRPCStatus(.cancelled, "context canceled")
        default: self = GRPCStatus(.unknown, "\(error)")
        }
    }
}

/// One call's server side, driven on its connection's event loop.
protocol ServerCall: AnyObject {
    /// A streaming call's response headers go out at once: clients may wait
    /// for them before they send their first request.
    var isStreaming: Bool { get }
    func received(_ message: ByteBuffer)
    /// The client half-closed: no more requests.
    func requestsEnded()
    /// The client reset the stream, or the connection went away.
    func cancelled()
}

final class UnaryCall: ServerCall {
    private let sink: ResponseSink
    private let run: (ByteBuffer) -> Void
    private var request: ByteBuffer?
    var isStreaming: Bool { false }

    init(sink: ResponseSink, run: @escaping (ByteBuffer) -> Void) {
        self.sink = sink
        self.run = run
    }

    func received(_ message: ByteBuffer) {
        guard request == nil else {
            sink.finish(GRPCStatus(.internalError, "grpc: a unary call got more than one request message"))
            return
        }
        request = message
    }

    func requestsEnded() {
        guard let request else {
            sink.finish(GRPCStatus(.internalError, "grpc: a unary call got no request message"))
            return
        }
        run(request)
    }

    func cancelled() {}
}

final class StreamingCall<Request: Message, Response: Message>: ServerCall {
    private let requests: GRPCRequests<Request>.Continuation
    private let task: Task<Void, Never>
    private let sink: ResponseSink
    var isStreaming: Bool { true }

    init(sink: ResponseSink, handler: @escaping @Sendable (GRPCRequests<Request>, GRPCWriter<Response>) async throws -> Void) {
        let (stream, continuation) = GRPCRequests<Request>.makeStream()
        self.sink = sink
        requests = continuation
        task = Task {
            do {
                try await handler(stream, GRPCWriter(sink: sink))
                sink.finish(.ok)
            } catch {
                sink.finish(GRPCStatus(error))
            }
        }
    }

    func received(_ message: ByteBuffer) {
        do {
            requests.yield(try Request(serializedBytes: Array(message.readableBytesView)))
        } catch {
            requests.finish(throwing: GRPCStatus(.internalError, "grpc: error unmarshalling request: \(error)"))
        }
    }

    func requestsEnded() { requests.finish() }

    func cancelled() {
        requests.finish(throwing: CancellationError())
        task.cancel()
    }
}
