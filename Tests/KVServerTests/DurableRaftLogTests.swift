import CoreboxCore
import CoreboxSystem
import Foundation
import Raft
import Testing
import WriteAheadLog
@testable import KVServer

final class DataDirectory {
    let path = NSTemporaryDirectory() + "corebox-kvd-\(UUID().uuidString)"

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func names(_ sub: String) -> [String] { ((try? Syscall.listDirectory(path + "/" + sub)) ?? []).sorted() }
}

/// The storage's whole visible state, for comparing before and after a restart.
struct StorageState: Equatable {
    let hardState: HardState
    let firstIndex: UInt64
    let entries: [Entry]
    let snapshot: SnapshotMetadata

    init(_ storage: MemoryStorage) {
        hardState = storage.hardState
        firstIndex = storage.firstIndex
        entries = try! storage.entries(in: storage.firstIndex..<storage.lastIndex + 1)
        snapshot = try! storage.snapshot().metadata
    }
}

@Suite struct RaftRecordTests {
    @Test(arguments: [
        RaftRecord.entry(Entry(term: 3, index: 17, data: Array("put foo bar".utf8))),
        .entry(Entry(term: 1, index: 1)),
        .hardState(HardState(term: 9, vote: 2, commit: 40)),
        .hardState(HardState(term: 1, vote: nil, commit: 0)),
        .snapshot(SnapshotMetadata(index: 100, term: 7, voters: [1, 2, 3])),
    ])
    func roundTrips(record: RaftRecord) {
        #expect(RaftRecord(record.walRecord) == record)
    }

    @Test func foreignOrTruncatedRecordsAreRejected() {
        #expect(RaftRecord(WALRecord(kind: 42, payload: [])) == nil)
        #expect(RaftRecord(WALRecord(kind: 2, payload: [1, 2, 3])) == nil)
        var snapshot = RaftRecord.snapshot(SnapshotMetadata(index: 5, term: 1, voters: [1])).walRecord
        snapshot.payload.removeLast()
        #expect(RaftRecord(snapshot) == nil)
    }
}

@Suite struct DurableRaftLogTests {
    func ready(entries: [Entry], hardState: HardState?) -> Ready {
        var ready = Ready()
        ready.entries = entries
        ready.hardState = hardState
        return ready
    }

    @Test func entriesAndHardStateSurviveARestart() throws {
        let directory = DataDirectory()
        let expected: StorageState
        do {
            let log = try DurableRaftLog.open(directory: directory.path, segmentSize: 4096)
            try log.save(ready(entries: (1...50).map { Entry(term: 1, index: $0, data: Array("v\($0)".utf8) + Array(repeating: 7, count: 80)) },
                               hardState: HardState(term: 1, vote: 1, commit: 30)))
            // A new leader overwrites the uncommitted tail from index 41.
            try log.save(ready(entries: (41...60).map { Entry(term: 2, index: $0, data: Array("w\($0)".utf8)) },
                               hardState: HardState(term: 2, vote: 1, commit: 55)))
            expected = StorageState(log.storage)
            #expect(expected.entries.count == 60)
            #expect(expected.entries[45] == Entry(term: 2, index: 46, data: Array("w46".utf8)))
        }
        #expect(directory.names("wal").count > 1)
        let reopened = try DurableRaftLog.open(directory: directory.path, segmentSize: 4096)
        #expect(StorageState(reopened.storage) == expected)
    }

    @Test func aRestartedNodeResumesFromTheLog() throws {
        let directory = DataDirectory()
        let rng = SystemRandomNumberGenerator()
        func node(_ log: DurableRaftLog) -> RaftNode {
            RaftNode(config: RaftConfig(id: 1, voters: [1], applied: log.storage.hardState.commit),
                     storage: log.storage, rng: rng)
        }
        func drive(_ node: inout RaftNode, _ log: DurableRaftLog) throws -> [Entry] {
            var applied: [Entry] = []
            while node.hasReady {
                let ready = node.ready()
                try log.save(ready)
                applied += ready.committedEntries
                node.advance(ready)
            }
            return applied
        }
        var applied: [Entry] = []
        do {
            let log = try DurableRaftLog.open(directory: directory.path, segmentSize: 64 * 1024)
            var raft = node(log)
            raft.campaign()
            applied += try drive(&raft, log)
            for value in ["a", "b", "c"] {
                try raft.propose(Array(value.utf8))
                applied += try drive(&raft, log)
            }
        }
        #expect(applied.filter { !$0.data.isEmpty }.map { String(decoding: $0.data, as: UTF8.self) } == ["a", "b", "c"])
        let log = try DurableRaftLog.open(directory: directory.path, segmentSize: 64 * 1024)
        #expect(log.storage.hardState.commit == applied.last!.index)
        var raft = node(log)
        #expect(raft.term == 1)
        raft.campaign()
        _ = try drive(&raft, log)
        #expect(raft.term == 2 && raft.role == .leader)
        try raft.propose(Array("d".utf8))
        let after = try drive(&raft, log)
        #expect(after.last?.data == Array("d".utf8))
        #expect(after.last!.index > applied.last!.index)
    }

    @Test func snapshotsCompactTheLogAndSurviveARestart() throws {
        let directory = DataDirectory()
        let expected: StorageState
        do {
            let log = try DurableRaftLog.open(directory: directory.path, segmentSize: 4096)
            try log.save(ready(entries: (1...200).map { Entry(term: 1, index: $0, data: Array(repeating: UInt8($0 % 251), count: 40)) },
                               hardState: HardState(term: 1, vote: 1, commit: 200)))
            let segmentsBefore = directory.names("wal").count
            try log.snapshot(at: 150, voters: [1], data: Array("state at 150".utf8), keep: 10)
            #expect(directory.names("wal").count < segmentsBefore)
            #expect(directory.names("snap") == [DurableRaftLog.fileName(SnapshotMetadata(index: 150, term: 1))])
            #expect(log.storage.firstIndex == 141)
            try log.snapshot(at: 190, voters: [1], data: Array("state at 190".utf8))
            #expect(directory.names("snap") == [DurableRaftLog.fileName(SnapshotMetadata(index: 190, term: 1))])
            expected = StorageState(log.storage)
        }
        let reopened = try DurableRaftLog.open(directory: directory.path, segmentSize: 4096)
        // The storage holds the metadata; the data comes from the file, for
        // the machine once and for a follower whenever one needs it.
        #expect(try reopened.storage.snapshot().data.isEmpty)
        #expect(reopened.takeRecoveredState() == Array("state at 190".utf8))
        #expect(reopened.takeRecoveredState().isEmpty)
        #expect(try reopened.snapshot().data == Array("state at 190".utf8))
        #expect(StorageState(reopened.storage).snapshot == expected.snapshot)
        #expect(StorageState(reopened.storage).hardState == expected.hardState)
        #expect(reopened.storage.lastIndex == 200)
        #expect(try reopened.storage.entries(in: 191..<201) == (191...200).map { Entry(term: 1, index: $0, data: Array(repeating: UInt8($0 % 251), count: 40)) })
    }

    @Test func aDamagedSnapshotFileStopsTheStart() throws {
        let directory = DataDirectory()
        do {
            let log = try DurableRaftLog.open(directory: directory.path, segmentSize: 64 * 1024)
            try log.save(ready(entries: (1...5).map { Entry(term: 1, index: $0) }, hardState: HardState(term: 1, vote: 1, commit: 5)))
            try log.snapshot(at: 5, voters: [1], data: Array("state".utf8))
        }
        let path = directory.path + "/snap/" + directory.names("snap")[0]
        var bytes = try Files.read(path)
        bytes[bytes.count - 6] ^= 1
        try Files.writeAtomically(path, bytes)
        #expect {
            try DurableRaftLog.open(directory: directory.path, segmentSize: 64 * 1024)
        } throws: { error in
            "\(error)" == "kvd: snapshot \(path) is damaged (checksum mismatch)"
        }
    }
}

extension DurableRaftLog {
    /// The three steps of a snapshot in one call, in the order ReplicatedNode takes them.
    func snapshot(at index: UInt64, voters: [NodeID], data: [UInt8], keep: UInt64 = 0) throws {
        guard let metadata = snapshotMetadata(at: index, voters: voters) else { return }
        try Self.writeSnapshotFile(metadata, directory: directory) { write throws(SystemError) in
            // In two pieces, as a machine hands a large state over.
            try write(Array(data.prefix(3)))
            try write(Array(data.dropFirst(3)))
        }
        try install(metadata, keep: keep)
    }
}
