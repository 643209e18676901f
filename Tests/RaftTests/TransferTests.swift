import Testing

@testable import Raft

@Suite struct TransferTests {
    /// Pre-vote and leases are on (the defaults): the target's campaign bypasses both.
    @Test(arguments: [1, 3] as [NodeID])
    func leadershipMovesToAnUpToDateFollower(requestedAt requester: NodeID) throws {
        var cluster = Cluster(size: 3)
        cluster.elect(1)
        let term = cluster.node(1).term
        try cluster.with(requester) { node throws(RaftError) in try node.transferLeadership(to: 3) }
        cluster.stabilize()
        #expect(cluster.leaders.map(\.id) == [3])
        #expect(cluster.node(3).term == term + 1)
        #expect(cluster.node(1).leader == 3)
    }

    @Test func laggingTargetIsCaughtUpBeforeItIsToldToCampaign() throws {
        var cluster = Cluster(size: 3)
        cluster.elect(1)
        cluster.partitionedSide = [3]
        for value: UInt8 in 1...5 {
            try cluster.with(1) { node throws(RaftError) in try node.propose([value]) }
        }
        cluster.stabilize()
        cluster.partitionedSide = []
        try cluster.with(1) { node throws(RaftError) in try node.transferLeadership(to: 3) }
        var sentToTarget: [Message] = []
        for _ in 0..<3 {
            for id in cluster.ids where cluster.isUp(id) { cluster.tick(id) }
            cluster.stabilize { message in
                if message.to == 3 { sentToTarget.append(message) }
                return true
            }
        }
        let timeoutNow = try #require(sentToTarget.firstIndex { $0.kind == .timeoutNow })
        let lastAppend = try #require(sentToTarget.lastIndex { !$0.appendedEntries.isEmpty })
        #expect(lastAppend < timeoutNow)
        #expect(cluster.leaders.map(\.id) == [3])
        #expect(cluster.stateMachine(3).appliedData == (1...5).map { [$0] })
    }

    @Test func leaderRefusesProposalsDuringATransferAndGivesUpAfterAnElectionTimeout() throws {
        var cluster = Cluster(size: 3)
        cluster.elect(1)
        cluster.partitionedSide = [2]
        try cluster.with(1) { node throws(RaftError) in try node.transferLeadership(to: 2) }
        #expect(throws: RaftError.leadershipTransferInProgress) {
            try cluster.with(1) { node throws(RaftError) in try node.propose([1]) }
        }
        cluster.tickAll(times: 10)
        #expect(cluster.leaders.map(\.id) == [1])
        try cluster.with(1) { node throws(RaftError) in try node.propose([1]) }
    }
}
