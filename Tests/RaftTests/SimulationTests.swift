import Testing

@testable import Raft

/// Many seeded runs per configuration; a failure names its seed and parameters, and
/// `Simulation(seed:parameters:).run()` replays it exactly.
@Suite struct SimulationTests {
    static let seeds: ClosedRange<UInt64> = 1...80

    @Test(arguments: seeds)
    func threeNodes(seed: UInt64) {
        check(seed: seed, parameters: .init(nodes: 3))
    }

    @Test(arguments: seeds)
    func fiveNodes(seed: UInt64) {
        check(seed: seed, parameters: .init(nodes: 5))
    }

    /// Without pre-vote and check-quorum, elections are more disruptive, and safety must hold all the same.
    @Test(arguments: seeds)
    func threeNodesWithoutPreVoteOrCheckQuorum(seed: UInt64) {
        check(seed: seed, parameters: .init(nodes: 3, preVote: false, checkQuorum: false))
    }

    @Test(arguments: seeds)
    func fiveNodesHarshNetwork(seed: UInt64) {
        let parameters = Simulation.Parameters(
            nodes: 5, dropRate: 0.2, duplicateRate: 0.1, maxDelay: 4, crashRate: 0.03, partitionRate: 0.05)
        check(seed: seed, parameters: parameters, minimumCommitted: 3)
    }

    private func check(seed: UInt64, parameters: Simulation.Parameters, minimumCommitted: UInt64 = 20) {
        var simulation = Simulation(seed: seed, parameters: parameters)
        let failure = simulation.run()
        #expect(failure == nil, "\(failure ?? "")")
        // The run must have done real work for its verdict to mean anything.
        #expect(simulation.cluster.safety.highestCommitted >= minimumCommitted, "seed \(seed): little was committed")
        #expect(simulation.statistics.delivered > 300, "seed \(seed): little traffic")
    }

    /// Across all seeds, each kind of fault occurred and snapshots were sent: otherwise the
    /// runs above would prove less than they seem to.
    @Test func faultsAndSnapshotsAreExercised() {
        var total = Simulation.Statistics()
        for seed in Self.seeds.prefix(20) {
            var simulation = Simulation(seed: seed, parameters: .init(nodes: 3))
            _ = simulation.run()
            total.delivered += simulation.statistics.delivered
            total.crashes += simulation.statistics.crashes
            total.partitions += simulation.statistics.partitions
            total.dropped += simulation.statistics.dropped
            total.snapshotsDelivered += simulation.statistics.snapshotsDelivered
            total.readsServed += simulation.statistics.readsServed
            total.leaderChanges += simulation.statistics.leaderChanges
        }
        #expect(total.crashes > 10)
        #expect(total.partitions > 10)
        #expect(total.dropped > 100)
        #expect(total.snapshotsDelivered > 5)
        #expect(total.readsServed > 100)
        #expect(total.leaderChanges > 40)
        print("simulation coverage over 20 seeds:", total)
    }
}
