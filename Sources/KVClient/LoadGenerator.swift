import CoreboxCore
import GRPCWire
import Synchronization

/// How much load, over how many connections, how fast.
public struct LoadPlan: Sendable, Equatable {
    /// Requests in all.
    public var total = 10_000
    /// Concurrent callers, each with one request in flight at a time.
    public var clients = 1
    /// Connections the clients share (client i uses connection i mod conns).
    public var connections = 1
    /// Requests per second at most, over all clients; 0 for no limit.
    public var rate = 0

    public init() {}
}

/// Issues request number `index` on `channel` and calls `done` with its
/// outcome (nil for success), from the channel's event loop.
public typealias LoadRequest = @Sendable (_ channel: GRPCChannel, _ index: Int, _ done: @escaping @Sendable (GRPCStatus?) -> Void) -> Void

/// Runs a load plan: `clients` closed loops (send, wait for the answer,
/// send the next) over `connections` connections, until `total` requests
/// have been answered. Requests go out from the connections' event loops
/// through GRPCWire's callback calls, so the generator adds no task or
/// thread hop per request to what it measures.
public enum LoadGenerator {
    public static func run(
        _ plan: LoadPlan, host: String, port: Int, dialTimeout: Duration, request: @escaping LoadRequest
    ) async throws -> BenchReport {
        var channels: [GRPCChannel] = []
        for _ in 0..<max(1, plan.connections) {
            channels.append(try await GRPCChannel.connect(host: host, port: port, timeout: dialTimeout))
        }
        let shared = Shared(total: plan.total, rate: plan.rate)
        let clients = (0..<max(1, plan.clients)).map { Client(channel: channels[$0 % channels.count], shared: shared, request: request) }
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { await client.run() } }
        }
        let duration = start.duration(to: .now)
        for channel in channels { await channel.close() }
        var errors: [String: Int] = [:]
        for client in clients { errors.merge(client.errors, uniquingKeysWith: +) }
        return BenchReport(latencies: clients.flatMap(\.latencies), errors: errors, duration: duration.seconds)
    }

    /// What the clients draw from: the next request number and the next send slot.
    final class Shared: Sendable {
        let total: Int
        private let next = Atomic<Int>(0)
        private let interval: Duration?
        private let nextSlot = Mutex<ContinuousClock.Instant>(.now)

        init(total: Int, rate: Int) {
            self.total = total
            interval = rate > 0 ? .seconds(1) / rate : nil
        }

        /// The next request number, or nil when all are taken.
        func take() -> Int? {
            let index = next.add(1, ordering: .relaxed).oldValue
            return index < total ? index : nil
        }

        /// How long to wait before sending, to stay within the rate (a
        /// token bucket of one, as etcd's benchmark limits).
        func delay() -> Duration? {
            guard let interval else { return nil }
            let now = ContinuousClock.now
            let slot = nextSlot.withLock { next in
                let slot = max(now, next)
                next = slot + interval
                return slot
            }
            return slot > now ? now.duration(to: slot) : nil
        }
    }

    /// One closed loop. It has one request in flight at a time, so its fields
    /// are touched by one thread at a time, each step after the last.
    final class Client: @unchecked Sendable {
        let channel: GRPCChannel
        let shared: Shared
        let request: LoadRequest
        var latencies: [Double] = []
        var errors: [String: Int] = [:]
        private var finished: CheckedContinuation<Void, Never>?

        init(channel: GRPCChannel, shared: Shared, request: @escaping LoadRequest) {
            self.channel = channel
            self.shared = shared
            self.request = request
        }

        func run() async {
            await withCheckedContinuation { continuation in
                finished = continuation
                sendNext()
            }
        }

        private func sendNext() {
            guard let index = shared.take() else {
                finished?.resume()
                return
            }
            guard let delay = shared.delay() else { return send(index) }
            channel.after(delay) { self.send(index) }
        }

        private func send(_ index: Int) {
            let start = ContinuousClock.now
            request(channel, index) { failure in
                let elapsed = start.duration(to: .now)
                guard let failure else {
                    self.latencies.append(elapsed.seconds)
                    return self.sendNext()
                }
                self.errors[failure.description, default: 0] += 1
                // A dead connection fails calls at once, on this thread: go on
                // from a fresh turn of the loop rather than recursing.
                self.channel.after(.zero) { self.sendNext() }
            }
        }
    }
}
