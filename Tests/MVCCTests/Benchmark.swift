import Testing
@testable import MVCC

#if canImport(Glibc)
import Glibc
#endif

/// Throughput figures for docs/mvcc.md; runs only with MVCC_BENCHMARK=1, in a release
/// build: `MVCC_BENCHMARK=1 swift test -c release --filter MVCCTests.Benchmark`.
@Suite(.enabled(if: getenv("MVCC_BENCHMARK") != nil)) struct Benchmark {
    @Test func putsAndRangesOf100kKeys() throws {
        let count = 100_000
        var random = SeededGenerator(state: 7)
        let keys = (0..<count).map { _ in (0..<256).map { _ in UInt8.random(in: 0x21...0x7e, using: &random) } }
        let value = [UInt8](repeating: 0x61, count: 1024)
        var store = Store()
        let clock = ContinuousClock()
        let putTime = try clock.measure {
            for key in keys { _ = try store.put(PutRequest(key: key, value: value)) }
        }
        let overwriteTime = try clock.measure {
            for key in keys { _ = try store.put(PutRequest(key: key, value: value)) }
        }
        var found = 0
        let rangeTime = try clock.measure {
            for key in keys { found += try store.range(RangeRequest(key: key)).kvs.count }
        }
        let scanTime = try clock.measure {
            for _ in 0..<10 {
                found += try store.range(RangeRequest(key: [0], rangeEnd: [0], limit: 100)).kvs.count
            }
        }
        let compactTime = try clock.measure { _ = try store.compact(store.currentRevision) }
        let snapshotTime = clock.measure { _ = store.snapshot() }
        #expect(found == count + 1_000)
        func rate(_ duration: Duration, _ operations: Int) -> Int {
            Int(Double(operations) / (Double(duration.components.attoseconds) / 1e18 + Double(duration.components.seconds)))
        }
        print("MVCC benchmark: new-key puts/s \(rate(putTime, count)), overwrite puts/s \(rate(overwriteTime, count)), single-key ranges/s \(rate(rangeTime, count)), 100-key scans \(scanTime / 10) each, compact of 200k revisions \(compactTime), snapshot \(snapshotTime)")
    }
}
