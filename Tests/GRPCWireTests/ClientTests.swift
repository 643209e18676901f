@testable import GRPCWire
import SwiftProtobuf
import Synchronization
import Testing

/// GRPCChannel against GRPCServer over loopback. The client's interoperation
/// with another implementation is tested where kvctl talks to etcd and kvd.
struct ClientTests {
    typealias Text = Google_Protobuf_StringValue

    /// How the server side of a streaming call ended, once it has.
    final class Outcome: Sendable {
        let status = Mutex<GRPCStatus?>(nil)
        var value: GRPCStatus? { status.withLock { $0 } }
    }

    /// Echo methods: upper-casing, failing, never answering, and a streaming echo.
    static func methods(streamEnded: Outcome? = nil) -> GRPCMethods {
        var methods = GRPCMethods()
        methods.unary("/test.Echo/Upper") { (request: Text, reply: @escaping GRPCReply<Text>) in
            reply(.success(Text(request.value.uppercased())))
        }
        methods.unary("/test.Echo/Fail") { (request: Text, reply: @escaping GRPCReply<Text>) in
            reply(.failure(GRPCStatus(.failedPrecondition, request.value)))
        }
        methods.unary("/test.Echo/Never") { (_: Text, _: @escaping GRPCReply<Text>) in }
        methods.streaming("/test.Echo/Stream") { (requests: GRPCRequests<Text>, writer: GRPCWriter<Text>) in
            do {
                for try await request in requests { writer.write(Text(request.value + "!")) }
            } catch {
                streamEnded?.status.withLock { $0 = GRPCStatus(.cancelled) }
                throw error
            }
            streamEnded?.status.withLock { $0 = .ok }
        }
        return methods
    }

    @discardableResult
    static func withServer<T>(
        _ methods: GRPCMethods = methods(), _ body: (GRPCServer, GRPCChannel) async throws -> T
    ) async throws -> T {
        let server = try await GRPCServer.bind(host: "127.0.0.1", port: 0, methods: methods, messageLimit: 4 << 20)
        let channel = try await GRPCChannel.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(5))
        do {
            let result = try await body(server, channel)
            await channel.close()
            await server.close()
            return result
        } catch {
            await channel.close()
            await server.close()
            throw error
        }
    }

    @Test func concurrentUnaryCallsOnOneConnectionEachGetTheirOwnAnswer() async throws {
        try await Self.withServer { _, channel in
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<500 {
                    group.addTask {
                        let answer: Text = try await channel.unary("/test.Echo/Upper", Text("call \(index)"))
                        return (index, answer.value)
                    }
                }
                var answered = 0
                for try await (index, value) in group {
                    #expect(value == "CALL \(index)")
                    answered += 1
                }
                #expect(answered == 500)
            }
        }
    }

    @Test func messagesLargerThanTheFlowControlWindowsGoBothWays() async throws {
        try await Self.withServer { _, channel in
            let big = String(repeating: "abcdefgh", count: 300_000)  // 2.4 MB, over both 64 KiB windows
            for _ in 0..<3 {
                let answer: Text = try await channel.unary("/test.Echo/Upper", Text(big))
                #expect(answer.value.count == big.count)
                #expect(answer.value.hasPrefix("ABCDEFGH"))
            }
        }
    }

    @Test func aServerStatusReachesTheCallerWithItsMessageDecoded() async throws {
        try await Self.withServer { _, channel in
            await #expect(throws: GRPCStatus(.failedPrecondition, "100% wrong: é")) {
                let _: Text = try await channel.unary("/test.Echo/Fail", Text("100% wrong: é"))
            }
            await #expect(throws: GRPCStatus(.unimplemented, "unknown method /test.Echo/Missing")) {
                let _: Text = try await channel.unary("/test.Echo/Missing", Text(""))
            }
            // The connection still serves after failed calls.
            let answer: Text = try await channel.unary("/test.Echo/Upper", Text("still"))
            #expect(answer.value == "STILL")
        }
    }

    @Test func aCallPastItsTimeoutEndsWithDeadlineExceeded() async throws {
        try await Self.withServer { _, channel in
            await #expect(throws: GRPCStatus(.deadlineExceeded, "context deadline exceeded")) {
                let _: Text = try await channel.unary("/test.Echo/Never", Text(""), timeout: .milliseconds(200))
            }
        }
    }

    @Test func aStreamingCallEchoesInOrderAndEndsOKWhenTheClientHalfCloses() async throws {
        let ended = Outcome()
        try await Self.withServer(Self.methods(streamEnded: ended)) { _, channel in
            let call: GRPCCall<Text, Text> = channel.stream("/test.Echo/Stream", Text.self)
            for word in ["one", "two", "three"] { call.send(Text(word)) }
            call.finishSending()
            var received: [String] = []
            for try await response in call.responses { received.append(response.value) }
            #expect(received == ["one!", "two!", "three!"])
            #expect(ended.value == .ok)
        }
    }

    @Test func cancellingAStreamingCallCancelsItOnTheServer() async throws {
        let ended = Outcome()
        try await Self.withServer(Self.methods(streamEnded: ended)) { _, channel in
            let call: GRPCCall<Text, Text> = channel.stream("/test.Echo/Stream", Text.self)
            call.send(Text("first"))
            var responses = call.responses.makeAsyncIterator()
            #expect(try await responses.next()?.value == "first!")
            call.cancel()
            await #expect(throws: GRPCStatus(.cancelled, "context canceled")) { _ = try await responses.next() }
            for _ in 0..<200 where ended.value == nil { try await Task.sleep(for: .milliseconds(10)) }
            #expect(ended.value == GRPCStatus(.cancelled))
        }
    }

    @Test func callsInFlightWhenTheServerGoesAwayEndUnavailable() async throws {
        try await Self.withServer { server, channel in
            let pending = Task { () async throws -> Text in try await channel.unary("/test.Echo/Never", Text("")) }
            try await Task.sleep(for: .milliseconds(100))
            await server.close()
            await #expect(throws: GRPCStatus.self) { _ = try await pending.value }
            await #expect(throws: GRPCStatus(.unavailable, "connection closed")) {
                let _: Text = try await channel.unary("/test.Echo/Upper", Text("late"))
            }
        }
    }

    @Test func connectingWhereNothingListensFails() async throws {
        let server = try await GRPCServer.bind(host: "127.0.0.1", port: 0, methods: GRPCMethods(), messageLimit: 1024)
        let port = server.port
        await server.close()
        await #expect(throws: (any Error).self) {
            _ = try await GRPCChannel.connect(host: "127.0.0.1", port: port, timeout: .seconds(2))
        }
    }

    @Test func grpcTimeoutIsWrittenInTheLargestUnitThatFits() {
        #expect(GRPCClientHandler.encode(.milliseconds(1500)) == "1500m")
        #expect(GRPCClientHandler.encode(.seconds(200_000)) == "200000S")
    }
}
