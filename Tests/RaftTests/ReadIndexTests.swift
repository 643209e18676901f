import Testing

@testable import Raft

@Suite struct ReadIndexTests {
    @Test func leaderAnswersAReadAfterAQuorumAcknowledgesAHeartbeat() throws {
        var cluster = Cluster(size: 3)
        cluster.elect(1)
        try cluster.with(1) { node throws(RaftError) in try node.propose([1]) }
        cluster.stabilize()
        try cluster.with(1) { node throws(RaftError) in try node.readIndex(context: [9]) }
        let heartbeats = cluster.processReady(1)
        #expect(heartbeats.map(\.kind) == [.heartbeat(commit: 2, context: [9]), .heartbeat(commit: 2, context: [9])])
        let acknowledgements = heartbeats.flatMap { cluster.deliver($0) }
        #expect(cluster.members[1]!.readStates.isEmpty)
        _ = cluster.deliver(acknowledgements[0])
        #expect(cluster.members[1]!.readStates == [ReadState(index: 2, context: [9])])
    }

    @Test func leaderCutOffFromAQuorumServesNoReads() throws {
        var cluster = Cluster(size: 3)
        cluster.elect(1)
        cluster.partitionedSide = [1]
        try cluster.with(1) { node throws(RaftError) in try node.readIndex(context: [9]) }
        cluster.tickAll(times: 5)
        #expect(cluster.members[1]!.readStates.isEmpty)
    }

    @Test func followerReadIsConfirmedByTheLeader() throws {
        var cluster = Cluster(size: 3)
        cluster.elect(1)
        try cluster.with(2) { node throws(RaftError) in try node.readIndex(context: [9]) }
        cluster.stabilize()
        #expect(cluster.members[2]!.readStates == [ReadState(index: cluster.node(1).commitIndex, context: [9])])
    }

    @Test func singleVoterAnswersAtOnce() throws {
        var cluster = Cluster(size: 1)
        cluster.elect(1)
        try cluster.with(1) { node throws(RaftError) in try node.readIndex(context: [9]) }
        #expect(cluster.processReady(1).isEmpty)
        #expect(cluster.members[1]!.readStates == [ReadState(index: 1, context: [9])])
    }

    /// Until the new leader commits an entry of its term, its commit index may lag what the
    /// previous leader committed, so it holds reads back.
    @Test func newLeaderHoldsReadsUntilItCommitsInItsTerm() throws {
        var cluster = Cluster(size: 3)
        cluster.with(1) { $0.campaign() }
        cluster.stabilize { !$0.isAppend }
        #expect(cluster.node(1).role == .leader)
        #expect(cluster.node(1).commitIndex == 0)
        try cluster.with(1) { node throws(RaftError) in try node.readIndex(context: [9]) }
        cluster.stabilize { !$0.isAppend }
        #expect(cluster.members[1]!.readStates.isEmpty)
        // Heartbeat responses let the leader retry its appends.
        cluster.tickAll(times: 1)
        #expect(cluster.members[1]!.readStates == [ReadState(index: 1, context: [9])])
    }
}
