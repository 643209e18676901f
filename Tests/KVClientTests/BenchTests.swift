import Testing
@testable import KVClient

/// kvctl bench's pure parts: its command line, its keys and its report.
struct BenchTests {
    @Test func flagsTakeEtcdBenchmarkNamesAndDefaults() throws {
        let put = try BenchCommand.parse(["put", "--clients=100", "--conns", "10", "--total", "5000", "--val-size=256", "--sequential-keys"])
        #expect(put.operation == .put(keySize: 8, valueSize: 256, keySpace: 1, sequential: true))
        #expect(put.plan.clients == 100 && put.plan.connections == 10 && put.plan.total == 5000 && put.plan.rate == 0)
        let range = try BenchCommand.parse(["range", "a", "z", "--consistency=s", "--rate", "500"])
        #expect(range.operation == .range(key: "a", end: "z", serializable: true))
        #expect(range.plan.total == 10_000 && range.plan.rate == 500)
    }

    @Test func badFlagsAreNamed() {
        #expect(throws: BenchCommand.UsageError.self) { try BenchCommand.parse([]) }
        for (arguments, named) in [
            (["put", "--clients=0"], "--clients"), (["put", "--total", "many"], "--total"),
            (["put", "--colour=red"], "--colour"), (["range"], "KEY"), (["range", "a", "--consistency=x"], "consistency"),
            (["get"], "get"), (["put", "--rate"], "--rate"),
        ] {
            do {
                _ = try BenchCommand.parse(arguments)
                Issue.record("\(arguments) parsed")
            } catch {
                #expect(error.description.contains(named), "\(error.description)")
            }
        }
    }

    @Test func keysAreZigZagVarintsInAFixedSizeBuffer() {
        #expect(BenchCommand.key(0, size: 8) == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(BenchCommand.key(1, size: 8) == [2, 0, 0, 0, 0, 0, 0, 0])
        #expect(BenchCommand.key(63, size: 4) == [126, 0, 0, 0])
        #expect(BenchCommand.key(64, size: 4) == [0x80, 0x01, 0, 0])
        #expect(BenchCommand.key(300, size: 3) == [0xD8, 0x04, 0])
    }

    @Test func theReportReadsAsEtcdBenchmarksDoes() {
        let report = BenchReport(latencies: (1...10).map { Double($0) / 1000 }, errors: ["rpc error: code = Unavailable desc = no leader": 2], duration: 0.5)
        #expect(report.requestsPerSecond == 20)
        // Rank i of 10 is at i * 10 percent: 95% and above is never reached, and not printed.
        #expect(report.percentileLatencies == [0.002, 0.004, 0.006, 0.009, 0.010, 0, 0, 0])
        #expect(report.text == """

            Summary:
              Total:\t0.5000 secs.
              Slowest:\t0.0100 secs.
              Fastest:\t0.0010 secs.
              Average:\t0.0055 secs.
              Stddev:\t0.0029 secs.
              Requests/sec:\t20.0000

            Response time histogram:
              0.0010 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎
              0.0019 [0]\t|
              0.0028 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎
              0.0037 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎
              0.0046 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎
              0.0055 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎
              0.0064 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎
              0.0073 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎
              0.0082 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎
              0.0091 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎
              0.0100 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎

            Latency distribution:
              10% in 0.0020 secs.
              25% in 0.0040 secs.
              50% in 0.0060 secs.
              75% in 0.0090 secs.
              90% in 0.0100 secs.

            Error distribution:
              [2]\trpc error: code = Unavailable desc = no leader

            """)
    }
}
