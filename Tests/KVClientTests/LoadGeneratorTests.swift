import EtcdAPI
import GRPCWire
import Synchronization
import Testing
@testable import KVClient

/// The load generator against a GRPCServer that records what it is sent.
/// (kvctl bench against the real etcd and kvd is in CoreboxCLITests.)
struct LoadGeneratorTests {
    final class Received: Sendable {
        let keys = Mutex<[[UInt8]]>([])
        let inFlight = Atomic<Int>(0)
        let mostInFlight = Atomic<Int>(0)
    }

    /// Put answers after a short wait (so concurrent clients overlap); a key
    /// starting with 3 fails.
    static func withServer(_ body: (Int, Received) async throws -> Void) async throws {
        let received = Received()
        var methods = GRPCMethods()
        methods.unary("/etcdserverpb.KV/Put") { (request: Etcdserverpb_PutRequest) async throws -> Etcdserverpb_PutResponse in
            let now = received.inFlight.add(1, ordering: .relaxed).newValue
            received.mostInFlight.max(now, ordering: .relaxed)
            received.keys.withLock { $0.append(Array(request.key)) }
            try await Task.sleep(for: .milliseconds(2))
            received.inFlight.subtract(1, ordering: .relaxed)
            if request.key.first == 6 { throw GRPCStatus(.unavailable, "etcdserver: no leader") }
            return Etcdserverpb_PutResponse()
        }
        let server = try await GRPCServer.bind(host: "127.0.0.1", port: 0, methods: methods, messageLimit: 1 << 20)
        do { try await body(server.port, received) } catch {
            await server.close()
            throw error
        }
        await server.close()
    }

    @Test func everyRequestIsSentOnceAndAnsweredOnceAcrossClientsAndConnections() async throws {
        try await Self.withServer { port, received in
            var command = try BenchCommand.parse(["put", "--clients=16", "--conns=3", "--total=600", "--sequential-keys", "--key-space-size=600", "--val-size=32"])
            command.plan.total = 600
            let report = try await LoadGenerator.run(command.plan, host: "127.0.0.1", port: port, dialTimeout: .seconds(5), request: command.request())
            let keys = received.keys.withLock { $0 }
            #expect(keys.count == 600)
            #expect(Set(keys).count == 600, "each sequential key once")
            #expect(keys.allSatisfy { $0.count == 8 })
            // Key 3 is the varint 6: its put fails, and is reported as such.
            #expect(report.latencies.count == 599)
            #expect(report.errors == ["rpc error: code = Unavailable desc = etcdserver: no leader": 1])
            #expect(received.mostInFlight.load(ordering: .relaxed) > 1, "clients run concurrently")
            #expect(received.mostInFlight.load(ordering: .relaxed) <= 16, "one request in flight per client")
        }
    }

    @Test func theRateLimitSpacesRequestsOut() async throws {
        try await Self.withServer { port, _ in
            let command = try BenchCommand.parse(["put", "--clients=8", "--total=50", "--rate=250"])
            let report = try await LoadGenerator.run(command.plan, host: "127.0.0.1", port: port, dialTimeout: .seconds(5), request: command.request())
            #expect(report.latencies.count == 50)
            // 50 sends, one every 4 ms at most: the last cannot start before 196 ms.
            #expect(report.duration >= 0.196)
        }
    }
}
