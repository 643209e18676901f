/// What a load run measured, reported as etcd's benchmark tool reports it
/// (summary, response time histogram, latency distribution, errors), so
/// figures from the two tools read the same way.
public struct BenchReport: Sendable, Equatable {
    /// Seconds each successful request took, in any order.
    public var latencies: [Double]
    /// Failed requests by error message.
    public var errors: [String: Int]
    /// Seconds from the first request to the last answer.
    public var duration: Double

    public init(latencies: [Double], errors: [String: Int], duration: Double) {
        self.latencies = latencies.sorted()
        self.errors = errors
        self.duration = duration
    }

    public static let percentiles: [Double] = [10, 25, 50, 75, 90, 95, 99, 99.9]

    public var requestsPerSecond: Double { duration > 0 ? Double(latencies.count) / duration : 0 }
    public var fastest: Double { latencies.first ?? 0 }
    public var slowest: Double { latencies.last ?? 0 }
    public var average: Double { latencies.isEmpty ? 0 : latencies.reduce(0, +) / Double(latencies.count) }

    /// The population standard deviation.
    public var standardDeviation: Double {
        guard !latencies.isEmpty else { return 0 }
        let mean = average
        return (latencies.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(latencies.count)).squareRoot()
    }

    /// For each of `percentiles`, the first latency whose rank reaches it
    /// (etcd's definition: rank i of n is at i * 100 / n percent).
    public var percentileLatencies: [Double] {
        var values: [Double] = []
        var index = 0
        while values.count < Self.percentiles.count, index < latencies.count {
            if Double(index) * 100 / Double(latencies.count) >= Self.percentiles[values.count] {
                values.append(latencies[index])
            }
            index += 1
        }
        return values + Array(repeating: 0, count: Self.percentiles.count - values.count)
    }

    public var text: String {
        var text = ""
        if !latencies.isEmpty {
            text += "\nSummary:\n"
            text += "  Total:\t\(Self.seconds(duration)).\n"
            text += "  Slowest:\t\(Self.seconds(slowest)).\n"
            text += "  Fastest:\t\(Self.seconds(fastest)).\n"
            text += "  Average:\t\(Self.seconds(average)).\n"
            text += "  Stddev:\t\(Self.seconds(standardDeviation)).\n"
            text += "  Requests/sec:\t\(Self.fixed(requestsPerSecond))\n"
            text += histogram
            text += "\nLatency distribution:\n"
            for (percentile, latency) in zip(Self.percentiles, percentileLatencies) where latency > 0 {
                text += "  \(Self.percent(percentile))% in \(Self.seconds(latency)).\n"
            }
        }
        if !errors.isEmpty {
            text += "\nError distribution:\n"
            for (message, count) in errors.sorted(by: { $0.key < $1.key }) { text += "  [\(count)]\t\(message)\n" }
        }
        return text
    }

    /// Ten equal buckets from the fastest to the slowest request, plus the
    /// slowest; bars scaled to 40 marks for the fullest bucket.
    private var histogram: String {
        let width = (slowest - fastest) / 10
        let bounds = (0..<10).map { fastest + width * Double($0) } + [slowest]
        var counts = Array(repeating: 0, count: bounds.count)
        var bucket = 0
        for latency in latencies {
            while latency > bounds[bucket], bucket < bounds.count - 1 { bucket += 1 }
            counts[bucket] += 1
        }
        let fullest = counts.max() ?? 0
        var text = "\nResponse time histogram:\n"
        for (bound, count) in zip(bounds, counts) {
            let bar = fullest > 0 ? count * 40 / fullest : 0
            text += "  \(Self.fixed(bound)) [\(count)]\t|\(String(repeating: "∎", count: bar))\n"
        }
        return text
    }

    static func seconds(_ value: Double) -> String { "\(fixed(value)) secs" }

    /// Four decimals, as etcd's report prints (`%4.4f`).
    static func fixed(_ value: Double) -> String {
        let scaled = Int64((value * 10_000).rounded())
        let fraction = String(abs(scaled) % 10_000)
        let sign = scaled < 0 ? "-" : ""
        return "\(sign)\(abs(scaled) / 10_000).\(String(repeating: "0", count: 4 - fraction.count))\(fraction)"
    }

    /// 10 as "10", 99.9 as "99.9".
    static func percent(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
