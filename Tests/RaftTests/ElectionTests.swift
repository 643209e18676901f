import Testing

@testable import Raft

@Suite struct ElectionTests {
    @Test func singleNodeElectsItselfAndCommitsWithoutMessages() throws {
        var cluster = Cluster(size: 1)
        cluster.tick(1, times: 20)
        #expect(cluster.processReady(1).isEmpty)
        #expect(cluster.node(1).role == .leader)
        try cluster.with(1) { node throws(RaftError) in try node.propose([7]) }
        #expect(cluster.processReady(1).isEmpty)
        #expect(cluster.stateMachine(1).appliedData == [[7]])
        #expect(cluster.node(1).commitIndex == 2)
    }

    @Test func electionTimeoutIsDrawnFromElectionTickToTwiceThat() {
        var timeouts: Set<Int> = []
        for seed: NodeID in 1...30 {
            var solo = Solo(id: seed, voters: [seed, 100, 101])
            var ticks = 0
            while solo.node.role == .follower {
                solo.node.tick()
                ticks += 1
            }
            #expect((10..<20).contains(ticks))
            timeouts.insert(ticks)
        }
        #expect(timeouts.count >= 5, "timeouts barely vary: \(timeouts)")
    }

    @Test func threeNodesElectExactlyOneLeaderThatAllFollow() {
        var cluster = Cluster(size: 3)
        cluster.tickAll(times: 25)
        let leaders = cluster.leaders
        #expect(leaders.count == 1)
        #expect(cluster.ids.allSatisfy { cluster.node($0).leader == leaders.first?.id })
        #expect(cluster.safety.violations.isEmpty)
    }

    @Test func grantsAtMostOneVotePerTerm() {
        var solo = Solo()
        let request = Message.Kind.voteRequest(
            VoteRequest(isPreVote: false, lastIndex: 0, lastTerm: 0, isLeadershipTransfer: false))
        #expect(solo.receive(request, from: 2, term: 1).map(\.kind) == [.voteResponse(isPreVote: false, granted: true)])
        #expect(solo.storage.hardState.vote == 2)
        #expect(solo.receive(request, from: 3, term: 1).map(\.kind) == [.voteResponse(isPreVote: false, granted: false)])
        // Repeating the granted vote is harmless: the response may have been lost.
        #expect(solo.receive(request, from: 2, term: 1).map(\.kind) == [.voteResponse(isPreVote: false, granted: true)])
    }

    /// The voter's log ends at index 3 with term 2.
    @Test(arguments: [
        (lastTerm: 1, lastIndex: 10, granted: false),
        (lastTerm: 2, lastIndex: 2, granted: false),
        (lastTerm: 2, lastIndex: 3, granted: true),
        (lastTerm: 2, lastIndex: 5, granted: true),
        (lastTerm: 3, lastIndex: 1, granted: true),
    ] as [(UInt64, UInt64, Bool)])
    func votesOnlyForCandidatesWithLogsAtLeastAsUpToDate(lastTerm: UInt64, lastIndex: UInt64, granted: Bool) {
        for isPreVote in [false, true] {
            var solo = Solo(storage: .withLog(terms: [1, 2, 2]))
            let request = VoteRequest(isPreVote: isPreVote, lastIndex: lastIndex, lastTerm: lastTerm, isLeadershipTransfer: false)
            let answer = solo.receive(.voteRequest(request), from: 2, term: 3)
            #expect(answer.map(\.kind) == [.voteResponse(isPreVote: isPreVote, granted: granted)])
            // A pre-vote changes nobody's term; a vote request moves the voter to its term.
            #expect(solo.node.term == (isPreVote ? 2 : 3))
        }
    }

    @Test func leaderStepsDownOnHearingAHigherTerm() {
        var solo = Solo()
        solo.becomeLeader()
        _ = solo.receive(.appendResponse(AppendResponse(index: 0)), from: 2, term: 5)
        #expect(solo.node.role == .follower)
        #expect(solo.node.term == 5)
        #expect(solo.node.leader == nil)
    }

    @Test func answersAStaleLeaderWithTheCurrentTermAndIgnoresItsEntries() {
        var solo = Solo(storage: .withLog(terms: [1, 5]))
        let stale = AppendRequest(previousIndex: 2, previousTerm: 5, entries: [Entry(term: 3, index: 3)], commit: 2)
        let answer = solo.receive(.append(stale), from: 2, term: 3)
        #expect(answer == [Message(from: 1, to: 2, term: 5, kind: .appendResponse(AppendResponse(index: 0)))])
        #expect(solo.node.lastIndex == 2)
        #expect(solo.node.commitIndex == 0)
    }

    /// A member cut off from the others campaigns again and again. With pre-vote it never
    /// raises its term, so on its return the leader stays; without, it deposes the leader.
    @Test(arguments: [true, false])
    func preVoteKeepsARejoiningMemberFromDisruptingTheLeader(preVote: Bool) throws {
        var cluster = Cluster(size: 3) { config in
            config.preVote = preVote
            config.checkQuorum = false
        }
        cluster.elect(1)
        let term = cluster.node(1).term
        cluster.partitionedSide = [3]
        try cluster.with(1) { node throws(RaftError) in try node.propose([1]) }
        cluster.tickAll(times: 60)
        #expect((cluster.node(3).term == term) == preVote)
        cluster.partitionedSide = []
        cluster.tickAll(times: 30)
        let disrupted = cluster.leaders.map(\.term) != [term]
        #expect(disrupted == !preVote)
        #expect(cluster.leaders.count == 1)
        #expect(cluster.safety.violations.isEmpty)
    }

    @Test func followerWithALiveLeaderIgnoresVotesUnlessATransferAsksForThem() {
        var cluster = Cluster(size: 3)
        cluster.elect(1)
        let term = cluster.node(1).term
        for isTransfer in [false, true] {
            let request = VoteRequest(isPreVote: false, lastIndex: 100, lastTerm: term, isLeadershipTransfer: isTransfer)
            cluster.with(2) { $0.step(Message(from: 3, to: 2, term: term + 1, kind: .voteRequest(request))) }
            let answers = cluster.processReady(2)
            #expect(answers.map(\.kind) == (isTransfer ? [.voteResponse(isPreVote: false, granted: true)] : []))
            #expect(cluster.node(2).term == (isTransfer ? term + 1 : term))
        }
    }

    @Test(arguments: [true, false])
    func leaderCutOffFromAQuorumStepsDownWithCheckQuorum(checkQuorum: Bool) {
        var cluster = Cluster(size: 3) { $0.checkQuorum = checkQuorum }
        cluster.elect(1)
        cluster.partitionedSide = [1]
        for _ in 0..<25 {
            cluster.tick(1)
            cluster.stabilize()
        }
        #expect((cluster.node(1).role == .leader) == !checkQuorum)
    }
}
