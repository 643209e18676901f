import CoreboxCore
import Testing
@testable import MVCC

@Suite struct WatchHistoryTests {
    /// a@2, b@3, a@4, del b@5, c@6, del a@7, a@8
    static func history() throws -> Store {
        var store = Store()
        try store.put("a", "1")
        try store.put("b", "1")
        try store.put("a", "2")
        try store.delete("b")
        try store.put("c", "1")
        try store.delete("a")
        try store.put("a", "3")
        return store
    }

    func summary(_ events: [Event]) -> [String] {
        events.map { event in
            let key = String(decoding: event.kv.key, as: UTF8.self)
            let prev = event.prevKv.map { "<" + String(decoding: $0.value, as: UTF8.self) } ?? ""
            return "\(event.kind == .put ? "put" : "del") \(key)@\(event.kv.modRevision)\(prev)"
        }
    }

    @Test func eventsSinceARevisionInRevisionOrder() throws {
        let store = try Self.history()
        #expect(summary(try store.events(in: .from([0]), from: 4)) == [
            "put a@4<1", "del b@5<1", "put c@6", "del a@7<2", "put a@8",
        ])
        #expect(summary(try store.events(in: .single(b("a")), from: 1)) == [
            "put a@2", "put a@4<1", "del a@7<2", "put a@8",
        ])
        #expect(summary(try store.events(in: .between(b("b"), b("c")), from: 2)) == ["put b@3", "del b@5<1"])
        #expect(try store.events(in: .from([0]), from: 9).isEmpty)
    }

    @Test func compactionTrimsHistoryLikeEtcd() throws {
        var store = try Self.history()
        _ = try store.compact(5)
        #expect(throws: MVCCError.compacted) { try store.events(in: .from([0]), from: 4) }
        // From the compacted revision itself: the delete of b at 5 is gone, and the
        // event at 5 has no previous state because revision 4 is no longer readable.
        #expect(summary(try store.events(in: .from([0]), from: 5)) == ["put c@6", "del a@7<2", "put a@8"])
        #expect(summary(try store.events(in: .from([0]), from: 6)) == ["put c@6", "del a@7<2", "put a@8"])
        _ = try store.compact(6)
        #expect(summary(try store.events(in: .from([0]), from: 6)) == ["put c@6", "del a@7<2", "put a@8"])
        _ = try store.compact(7)
        #expect(summary(try store.events(in: .from([0]), from: 7)) == ["put a@8"])
    }

    @Test func liveEventsMatchHistory() throws {
        var store = Store()
        var live: [Event] = []
        live += try store.put(PutRequest(key: b("x"), value: b("1"))).events
        live += try store.txn(TxnRequest(success: [.put(PutRequest(key: b("y"))), .deleteRange(DeleteRangeRequest(key: b("x")))])).events
        #expect(live == (try store.events(in: .from([0]), from: 1)))
    }
}

@Suite struct HashTests {
    @Test func hashesEtcdsBucketBytes() throws {
        var store = Store()
        try store.put("a", "b")
        try store.delete("a")
        var expected = CRC32C()
        expected.update("key".utf8)
        expected.update([0, 0, 0, 0, 0, 0, 0, 2, UInt8(ascii: "_"), 0, 0, 0, 0, 0, 0, 0, 0])
        expected.update([0x0a, 1, UInt8(ascii: "a"), 0x10, 2, 0x18, 2, 0x20, 1, 0x2a, 1, UInt8(ascii: "b")])
        expected.update([0, 0, 0, 0, 0, 0, 0, 3, UInt8(ascii: "_"), 0, 0, 0, 0, 0, 0, 0, 0, UInt8(ascii: "t")])
        expected.update([0x0a, 1, UInt8(ascii: "a"), 0x18, 3])
        #expect(try store.hashKV(revision: 0) == HashKVResponse(revision: 3, hash: expected.value, compactRevision: -1))
    }

    @Test func equalHistoriesHashEqual() throws {
        var one = try WatchHistoryTests.history()
        var two = try WatchHistoryTests.history()
        #expect(try one.hashKV(revision: 6) == two.hashKV(revision: 6))
        #expect(try one.hashKV(revision: 6).hash != one.hashKV(revision: 7).hash)
        try two.put("z", "1")
        #expect(try one.hashKV(revision: 8).hash == two.hashKV(revision: 8).hash)
        #expect(try one.hashKV(revision: 0).hash != two.hashKV(revision: 0).hash)
        _ = try one.compact(5)
        _ = try two.compact(5)
        #expect(try one.hashKV(revision: 8).hash == two.hashKV(revision: 8).hash)
        #expect(throws: MVCCError.compacted) { try one.hashKV(revision: 5) }
        #expect(throws: MVCCError.futureRevision) { try one.hashKV(revision: 9) }
    }
}

@Suite struct SnapshotTests {
    static func busyStore() throws -> Store {
        var store = try WatchHistoryTests.history()
        _ = try store.grantLease(id: 42, ttl: 30, now: .seconds(0))
        _ = try store.grantLease(id: 43, ttl: 60, now: .seconds(0))
        try store.put("leased", "v", lease: 42)
        try store.put(String(decoding: [0, 0xff, 7], as: UTF8.self), "")
        _ = try store.compact(6)
        try store.put("c", "2")
        return store
    }

    @Test func roundTripPreservesEverythingObservable() throws {
        let store = try Self.busyStore()
        let restored = try Store(snapshot: store.snapshot(), now: .seconds(0))
        #expect(restored.currentRevision == store.currentRevision)
        #expect(restored.compactedRevision == store.compactedRevision)
        #expect(restored.logicalSize == store.logicalSize)
        for revision in store.compactedRevision...store.currentRevision {
            let all = RangeRequest(key: [0], rangeEnd: [0], revision: revision)
            #expect(try restored.range(all) == store.range(all))
            #expect(try restored.events(in: .from([0]), from: revision) == store.events(in: .from([0]), from: revision))
        }
        #expect(try restored.hashKV(revision: 0) == store.hashKV(revision: 0))
        #expect(restored.leaseIDs == [42, 43])
        #expect(try restored.leaseTimeToLive(id: 42, keys: true, now: .seconds(0)) == store.leaseTimeToLive(id: 42, keys: true, now: .seconds(0)))
        #expect(restored.snapshot() == store.snapshot())
        #expect(try Store(snapshot: Store().snapshot(), now: .seconds(0)).currentRevision == 1)
    }

    @Test func aSnapshotInPiecesJoinsToTheWholeOne() throws {
        let store = try Self.busyStore()
        var pieces: [[UInt8]] = []
        store.snapshot(chunkSize: 64) { pieces.append($0) }
        #expect(pieces.count > 2)
        #expect(pieces.dropLast().allSatisfy { $0.count >= 64 })
        #expect(Array(pieces.joined()) == store.snapshot())

        // A piece that cannot be written stops the snapshot there.
        struct Full: Error {}
        var written = 0
        #expect(throws: Full.self) {
            try store.snapshot(chunkSize: 64) { (_: [UInt8]) throws(Full) in
                written += 1
                if written == 2 { throw Full() }
            }
        }
        #expect(written == 2)
    }

    @Test func damagedSnapshotsAreRejected() throws {
        let bytes = try Self.busyStore().snapshot()
        var flipped = bytes
        flipped[40] ^= 1
        #expect(throws: SnapshotError.checksumMismatch) { try Store(snapshot: flipped, now: .seconds(0)) }
        #expect(throws: SnapshotError.checksumMismatch) { try Store(snapshot: Array(bytes.dropLast(9)), now: .seconds(0)) }
        #expect(throws: SnapshotError.notASnapshot) { try Store(snapshot: Array("hello, world".utf8), now: .seconds(0)) }
        #expect(throws: SnapshotError.notASnapshot) { try Store(snapshot: [], now: .seconds(0)) }
        var future = Array(bytes.dropLast(4))
        future[8] = 2
        var crc = CRC32C()
        crc.update(future)
        withUnsafeBytes(of: crc.value.littleEndian) { future += $0 }
        #expect(throws: SnapshotError.unsupportedVersion(2)) { try Store(snapshot: future, now: .seconds(0)) }
    }
}
