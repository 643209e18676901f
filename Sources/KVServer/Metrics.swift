import CoreboxCore
import Glibc
import GRPCWire
import MVCC
import Synchronization

/// A Prometheus histogram: counts per bucket (not cumulative), sum and count.
struct Histogram: Sendable, Equatable {
    /// Upper bounds of the buckets, ascending; +Inf is implied.
    let bounds: [Double]
    private(set) var counts: [UInt64]
    private(set) var sum: Double = 0
    private(set) var count: UInt64 = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    /// `count` bounds from `start`, each `factor` times the one before (Prometheus' ExponentialBuckets).
    init(start: Double, factor: Double, count: Int) {
        self.init(bounds: (0..<count).map { start * pow(factor, Double($0)) })
    }

    /// Prometheus' default buckets, which grpc-prometheus's handling-time histogram uses.
    static var defaultBounds: [Double] { [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] }

    mutating func observe(_ value: Double) {
        if let bucket = bounds.firstIndex(where: { value <= $0 }) { counts[bucket] += 1 }
        sum += value
        count += 1
    }
}

/// The Prometheus text exposition format (0.0.4), one metric family at a time.
struct PrometheusText {
    enum Kind: String { case counter, gauge, histogram }
    typealias Labels = [(String, String)]

    private(set) var text = ""

    mutating func family(_ name: String, _ kind: Kind, help: String, samples: [(Labels, Double)]) {
        header(name, kind, help)
        for (labels, value) in samples { sample(name, labels, value) }
    }

    mutating func family(_ name: String, _ kind: Kind, help: String, value: Double) {
        family(name, kind, help: help, samples: [([], value)])
    }

    mutating func histogram(_ name: String, help: String, series: [(Labels, Histogram)]) {
        header(name, .histogram, help)
        for (labels, histogram) in series {
            var cumulative: UInt64 = 0
            for (bound, count) in zip(histogram.bounds, histogram.counts) {
                cumulative += count
                sample(name + "_bucket", labels + [("le", Self.format(bound))], Double(cumulative))
            }
            sample(name + "_bucket", labels + [("le", "+Inf")], Double(histogram.count))
            sample(name + "_sum", labels, histogram.sum)
            sample(name + "_count", labels, Double(histogram.count))
        }
    }

    private mutating func header(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    private mutating func sample(_ name: String, _ labels: Labels, _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    /// Whole numbers without a fraction, as Prometheus' Go client writes them.
    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    private static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// kvd's counters and histograms behind `/metrics`, under etcd's and
/// grpc-prometheus's names so existing dashboards and alerts apply.
final class KVDMetrics: Sendable {
    private struct GRPCMethod: Hashable {
        var type: String
        var service: String
        var method: String
    }

    private struct State {
        /// etcd: ExponentialBuckets(0.001, 2, 14), 1 ms to 8 s.
        var walFsync = Histogram(start: 0.001, factor: 2, count: 14)
        /// By method path; labels are made from it when rendering, not per call.
        var started: [String: Double] = [:]
        var handled: [String: [GRPCStatus.Code: Double]] = [:]
        var handling: [String: Histogram] = [:]
        var healthSuccesses: Double = 0
        var healthFailures: Double = 0
    }

    private let state = Mutex(State())

    func observeLogSync(_ duration: Duration) {
        state.withLock { $0.walFsync.observe(duration.seconds) }
    }

    func recordHealth(_ healthy: Bool) {
        state.withLock { if healthy { $0.healthSuccesses += 1 } else { $0.healthFailures += 1 } }
    }

    /// Counts every RPC and times it until it ends, with the code it ended
    /// with, as grpc-prometheus does for etcd.
    func observe(_ methods: inout GRPCMethods) {
        methods.onStart = { [self] path in started(path) }
        methods.onEnd = { [self] path, status, duration in handled(path, code: status.code, after: duration) }
    }

    private func started(_ path: String) {
        state.withLock { $0.started[path, default: 0] += 1 }
    }

    private func handled(_ path: String, code: GRPCStatus.Code, after duration: Duration) {
        state.withLock {
            $0.handled[path, default: [:]][code, default: 0] += 1
            $0.handling[path, default: Histogram(bounds: Histogram.defaultBounds)].observe(duration.seconds)
        }
    }

    /// The store's figures in the exposition, taken on the node's loop.
    struct StoreFigures: Sendable {
        var logicalSize: Int64
        var currentRevision: Int64
        var compactedRevision: Int64
        var keyCount: Int

        init(_ store: Store) {
            logicalSize = store.logicalSize
            currentRevision = store.currentRevision
            compactedRevision = store.compactedRevision
            keyCount = store.keyCount
        }
    }

    /// The exposition: this registry's series, then the node's and the store's figures.
    func render(node: ReplicatedNode<KVStateMachine>.Statistics, store: StoreFigures?) -> String {
        let state = self.state.withLock { $0 }
        var text = PrometheusText()
        text.histogram("etcd_disk_wal_fsync_duration_seconds",
                       help: "The latency distributions of fsync called by WAL.", series: [([], state.walFsync)])
        text.family("etcd_server_has_leader", .gauge, help: "Whether or not a leader exists. 1 is existence, 0 is not.",
                    value: node.isLeader ? 1 : 0)
        text.family("etcd_server_is_leader", .gauge, help: "Whether or not this member is a leader. 1 if is, 0 otherwise.",
                    value: node.isLeader ? 1 : 0)
        // One member commits and applies together, so both figures are the applied index.
        text.family("etcd_server_proposals_committed_total", .gauge, help: "The total number of consensus proposals committed.",
                    value: Double(node.appliedIndex))
        text.family("etcd_server_proposals_applied_total", .gauge, help: "The total number of consensus proposals applied.",
                    value: Double(node.appliedIndex))
        text.family("etcd_server_health_success", .counter, help: "The total number of successful health checks",
                    value: state.healthSuccesses)
        text.family("etcd_server_health_failures", .counter, help: "The total number of failed health checks",
                    value: state.healthFailures)
        if let store {
            text.family("etcd_mvcc_db_total_size_in_bytes", .gauge,
                        help: "Total size of the underlying database physically allocated in bytes.", value: Double(store.logicalSize))
            text.family("etcd_debugging_mvcc_current_revision", .gauge, help: "The current revision of store.",
                        value: Double(store.currentRevision))
            text.family("etcd_debugging_mvcc_compact_revision", .gauge, help: "The revision of the last compaction in store.",
                        value: Double(max(0, store.compactedRevision)))
            text.family("etcd_debugging_mvcc_keys_total", .gauge, help: "Total number of keys.", value: Double(store.keyCount))
        }
        // "/service/method" sorts as (service, method): "/" sorts before any name character.
        let paths = state.started.keys.sorted()
        text.family("grpc_server_started_total", .counter, help: "Total number of RPCs started on the server.",
                    samples: paths.map { (Self.labels(Self.method($0)), state.started[$0]!) })
        text.family("grpc_server_handled_total", .counter,
                    help: "Total number of RPCs completed on the server, regardless of success or failure.",
                    samples: paths.flatMap { path in
                        (state.handled[path] ?? [:]).map { ($0.key.name, $0.value) }.sorted { $0.0 < $1.0 }.map { code, count in
                            (Self.labels(Self.method(path)) + [("grpc_code", code)], count)
                        }
                    })
        text.histogram("grpc_server_handling_seconds",
                       help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
                       series: paths.compactMap { path in state.handling[path].map { (Self.labels(Self.method(path)), $0) } })
        return text.text
    }

    /// etcd's streaming methods; every other one is unary.
    private static let streamingTypes = [
        "/etcdserverpb.Watch/Watch": "bidi_stream",
        "/etcdserverpb.Lease/LeaseKeepAlive": "bidi_stream",
        "/etcdserverpb.Maintenance/Snapshot": "server_stream",
    ]

    /// `/package.Service/Method` as grpc-prometheus labels it.
    private static func method(_ path: String) -> GRPCMethod {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return GRPCMethod(type: streamingTypes[path] ?? "unary", service: parts.first.map(String.init) ?? "",
                          method: parts.dropFirst().first.map(String.init) ?? "")
    }

    private static func labels(_ method: GRPCMethod) -> PrometheusText.Labels {
        [("grpc_method", method.method), ("grpc_service", method.service), ("grpc_type", method.type)]
    }
}
