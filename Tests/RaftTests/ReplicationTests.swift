import Testing

@testable import Raft

@Suite struct ReplicationTests {
    @Test func proposalsFromLeaderAndFollowersAreAppliedEverywhereInOneOrder() throws {
        var cluster = Cluster(size: 3)
        cluster.elect(1)
        try cluster.with(1) { node throws(RaftError) in try node.propose([1]) }
        try cluster.with(2) { node throws(RaftError) in try node.propose([2]) }
        cluster.stabilize()
        for id in cluster.ids {
            #expect(cluster.stateMachine(id).appliedData == [[1], [2]])
        }
        #expect(cluster.safety.violations.isEmpty)
    }

    @Test func proposingWithoutALeaderFails() {
        var solo = Solo()
        #expect(throws: RaftError.noLeader) { try solo.node.propose([1]) }
        solo.node.campaign()
        #expect(solo.node.role == .preCandidate)
        #expect(throws: RaftError.noLeader) { try solo.node.propose([1]) }
        #expect(throws: RaftError.noLeader) { try solo.node.readIndex(context: [1]) }
    }

    /// The follower's log has terms 1, 1, 2, 2 at indexes 1...4.
    @Test func followerChecksTheEntryBeforeAnAppendAndHintsWhereToRetry() throws {
        var solo = Solo(storage: .withLog(terms: [1, 1, 2, 2]))
        let mismatched = AppendRequest(previousIndex: 4, previousTerm: 3, entries: [], commit: 0)
        #expect(solo.receive(.append(mismatched), from: 2, term: 3).map(\.kind) == [
            .appendResponse(AppendResponse(index: 4, rejection: .init(hintIndex: 4, hintTerm: 2)))
        ])
        let beyond = AppendRequest(previousIndex: 6, previousTerm: 1, entries: [], commit: 0)
        #expect(solo.receive(.append(beyond), from: 2, term: 3).map(\.kind) == [
            .appendResponse(AppendResponse(index: 6, rejection: .init(hintIndex: 2, hintTerm: 1)))
        ])
        let replacing = AppendRequest(previousIndex: 2, previousTerm: 1, entries: [Entry(term: 3, index: 3)], commit: 3)
        #expect(solo.receive(.append(replacing), from: 2, term: 3).map(\.kind) == [.appendResponse(AppendResponse(index: 3))])
        #expect(try solo.storage.entries(in: 1..<4).map(\.term) == [1, 1, 3])
        #expect(solo.node.commitIndex == 3)
    }

    /// Follower 2 holds fifteen entries of an old term where the leader has five of a newer
    /// one: one rejection with a hint suffices, where stepping back one index per round trip
    /// would take five.
    @Test func leaderSkipsAConflictingTermInOneRoundTrip() throws {
        let leaderLog: [UInt64] = [1, 1, 1, 1, 1, 5, 5, 5, 5, 5]
        let divergentLog: [UInt64] = [1, 1, 1, 1, 1] + Array(repeating: 2, count: 15)
        var cluster = Cluster(size: 3, logs: [leaderLog, divergentLog, leaderLog])
        var rejections = 0
        cluster.with(1) { $0.campaign() }
        cluster.stabilize { message in
            if case .appendResponse(let response) = message.kind, response.rejection != nil, message.from == 2 {
                rejections += 1
            }
            return true
        }
        #expect(cluster.node(1).role == .leader)
        #expect(rejections == 1)
        #expect(try cluster.storage(2).entries(in: 1..<12) == cluster.storage(1).entries(in: 1..<12))
        #expect(cluster.storage(2).lastIndex == 11)
    }

    /// The leader of term 3 holds an entry of term 2 at index 2. A quorum holding it does not
    /// commit it (figure 8 of the Raft paper); a quorum holding the term-3 entry after it does.
    @Test func leaderCommitsByCountingOnlyEntriesOfItsOwnTerm() {
        var solo = Solo(storage: .withLog(terms: [1, 2], commit: 1))
        solo.becomeLeader()
        #expect(solo.node.term == 3)
        _ = solo.receive(.appendResponse(AppendResponse(index: 2)), from: 2, term: 3)
        #expect(solo.node.commitIndex == 1)
        _ = solo.receive(.appendResponse(AppendResponse(index: 3)), from: 2, term: 3)
        #expect(solo.node.commitIndex == 3)
    }

    @Test func leaderLimitsUnacknowledgedAppendsPerFollower() throws {
        var solo = Solo { config in
            config.maxInflightMessages = 2
            config.maxEntriesPerMessage = 1
        }
        solo.becomeLeader()
        // Follower 2 acknowledges the leader's first entry and is streamed to; 3 stays silent.
        _ = solo.receive(.appendResponse(AppendResponse(index: 1)), from: 2, term: 1)
        for value: UInt8 in 1...5 { try solo.node.propose([value]) }
        let sent = solo.flush().messages.filter { $0.isAppend && !$0.appendedEntries.isEmpty }
        #expect(sent.filter { $0.to == 2 }.map { $0.appendedEntries.map(\.index) } == [[2], [3]])
        #expect(sent.filter { $0.to == 3 }.isEmpty, "a probed follower gets one append until it answers")
        let afterAck = solo.receive(.appendResponse(AppendResponse(index: 2)), from: 2, term: 1)
        #expect(afterAck.filter { $0.to == 2 && $0.isAppend }.map { $0.appendedEntries.map(\.index) } == [[4]])
    }
}

@Suite struct RestartTests {
    /// Only what the node asked to persist survives a crash; that is enough to rejoin with
    /// the same term, vote and log, re-apply committed entries, and keep replicating.
    @Test func restartedMemberRecoversFromItsStorage() throws {
        var cluster = Cluster(size: 3)
        cluster.elect(1)
        try cluster.with(1) { node throws(RaftError) in try node.propose([1]) }
        cluster.stabilize()
        let before = cluster.node(2).hardState
        let lastIndex = cluster.node(2).lastIndex
        cluster.crash(2)
        try cluster.with(1) { node throws(RaftError) in try node.propose([2]) }
        cluster.stabilize()
        cluster.start(2)
        #expect(cluster.node(2).hardState == before)
        #expect(cluster.node(2).lastIndex == lastIndex)
        cluster.tickAll(times: 3)
        #expect(cluster.stateMachine(2).appliedData == [[1], [2]])
        #expect(cluster.stateMachine(2).digest == cluster.stateMachine(1).digest)
    }

    @Test func unreachableFollowerIsProbedRatherThanStreamedTo() {
        var solo = Solo()
        solo.becomeLeader()
        _ = solo.receive(.appendResponse(AppendResponse(index: 1)), from: 2, term: 1)
        #expect(solo.node.progress[2]?.state == .replicate)
        solo.node.reportUnreachable(2)
        #expect(solo.node.progress[2]?.state == .probe)
    }
}
