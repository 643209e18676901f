import Testing

@testable import Raft

@Suite struct SnapshotTests {
    @Test func memoryStorageReplacesAConflictingSuffix() throws {
        let storage = MemoryStorage.withLog(terms: [1, 1, 1, 1])
        storage.append([Entry(term: 2, index: 3)])
        #expect(storage.lastIndex == 3)
        #expect(try storage.entries(in: 1..<4).map(\.term) == [1, 1, 2])
        #expect(throws: StorageError.unavailable) { try storage.term(of: 4) }
    }

    @Test func memoryStorageCompactsBehindASnapshot() throws {
        let storage = MemoryStorage.withLog(terms: [1, 1, 2, 2, 3])
        let snapshot = try storage.createSnapshot(at: 4, voters: [1], data: [42])
        #expect(snapshot.metadata == SnapshotMetadata(index: 4, term: 2, voters: [1]))
        try storage.compact(upTo: 3)
        #expect(storage.firstIndex == 4)
        #expect(try storage.term(of: 3) == 2)
        #expect(throws: StorageError.compacted) { try storage.term(of: 2) }
        #expect(throws: StorageError.compacted) { try storage.entries(in: 3..<5) }
        #expect(throws: StorageError.compacted) { try storage.compact(upTo: 2) }
        #expect(throws: StorageError.snapshotOutOfDate) { try storage.createSnapshot(at: 4, voters: [1], data: []) }
        #expect(throws: StorageError.snapshotOutOfDate) { try storage.applySnapshot(snapshot) }
    }

    @Test func followerRestoresFromASnapshotAndAcknowledgesItsIndex() {
        var solo = Solo(storage: .withLog(terms: [1, 1]))
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: 10, term: 3, voters: [1, 2, 3]), data: [42])
        solo.node.step(Message(from: 2, to: 1, term: 3, kind: .snapshot(snapshot)))
        let ready = solo.flush()
        #expect(ready.snapshot == snapshot)
        #expect(ready.committedEntries.isEmpty)
        #expect(ready.messages.map(\.kind) == [.appendResponse(AppendResponse(index: 10))])
        #expect(solo.storage.firstIndex == 11)
        #expect(solo.node.commitIndex == 10)
        #expect(solo.node.appliedIndex == 10)
    }

    @Test func followerOnlyLearnsTheCommitFromASnapshotOfEntriesItHolds() {
        var solo = Solo(storage: .withLog(terms: [1, 1, 1, 1]))
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: 3, term: 1, voters: [1, 2, 3]))
        solo.node.step(Message(from: 2, to: 1, term: 1, kind: .snapshot(snapshot)))
        let ready = solo.flush()
        #expect(ready.snapshot == nil)
        #expect(ready.committedEntries.map(\.index) == [1, 2, 3])
        #expect(ready.messages.map(\.kind) == [.appendResponse(AppendResponse(index: 3))])
        #expect(solo.storage.firstIndex == 1)
    }

    /// A follower that was away while the leader compacted its log is caught up with a
    /// snapshot, then with entries again.
    @Test func leaderSendsASnapshotToAFollowerWhoseEntriesWereCompacted() throws {
        var cluster = Cluster(size: 3)
        cluster.compactionThreshold = 8
        cluster.elect(1)
        cluster.partitionedSide = [3]
        for value: UInt8 in 1...30 {
            try cluster.with(1) { node throws(RaftError) in try node.propose([value]) }
            cluster.stabilize()
        }
        #expect(cluster.storage(1).firstIndex > cluster.storage(3).lastIndex + 1)
        cluster.partitionedSide = []
        var snapshotsSent = 0
        for _ in 0..<3 {
            for id in cluster.ids { cluster.tick(id) }
            cluster.stabilize { message in
                if case .snapshot = message.kind { snapshotsSent += 1 }
                return true
            }
        }
        #expect(snapshotsSent == 1)
        #expect(try cluster.storage(3).snapshot().metadata.index > 0)
        try cluster.with(1) { node throws(RaftError) in try node.propose([99]) }
        cluster.stabilize()
        #expect(cluster.stateMachine(3) .appliedIndex == cluster.stateMachine(1).appliedIndex)
        #expect(cluster.stateMachine(3).digest == cluster.stateMachine(1).digest)
        #expect(cluster.stateMachine(3).appliedData.last == [99])
        #expect(cluster.safety.violations.isEmpty)
    }
}
