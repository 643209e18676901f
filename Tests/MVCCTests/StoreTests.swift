import Testing
@testable import MVCC

@Suite struct RevisionTests {
    @Test func freshStoreIsAtRevisionOneAndFirstWriteMakesTwo() throws {
        var store = Store()
        #expect(store.currentRevision == 1)
        #expect(try store.put("a", "1").revision == 2)
        #expect(store.currentRevision == 2)
    }

    @Test func versionsAcrossPutDeletePut() throws {
        var store = Store()
        try store.put("k", "v1")  // 2
        try store.put("k", "v2")  // 3
        #expect(try store.get("k") == KeyValue(key: b("k"), createRevision: 2, modRevision: 3, version: 2, value: b("v2")))
        #expect(try store.delete("k").deleted == 1)  // 4
        #expect(try store.get("k") == nil)
        try store.put("k", "v3")  // 5: a new generation
        #expect(try store.get("k") == KeyValue(key: b("k"), createRevision: 5, modRevision: 5, version: 1, value: b("v3")))
        #expect(try store.get("k", revision: 3)?.value == b("v2"))
        #expect(try store.get("k", revision: 4) == nil)
        #expect(try store.get("k", revision: 1) == nil)
    }

    @Test func deleteOfNothingMakesNoRevision() throws {
        var store = Store()
        try store.put("a", "1")
        let result = try store.deleteRange(DeleteRangeRequest(key: b("zz")))
        #expect(result.response == DeleteRangeResponse(revision: 2, deleted: 0, prevKvs: []))
        #expect(result.events.isEmpty)
        #expect(store.currentRevision == 2)
    }

    @Test func putEventsCarryThePreviousState() throws {
        var store = Store()
        try store.put("k", "1")
        let result = try store.put(PutRequest(key: b("k"), value: b("2"), prevKv: true))
        #expect(result.response.prevKv?.value == b("1"))
        #expect(result.events == [Event(kind: .put, kv: try store.get("k")!, prevKv: result.response.prevKv)])
        let deleted = try store.deleteRange(DeleteRangeRequest(key: b("k"), prevKv: true))
        #expect(deleted.events == [Event(kind: .delete, kv: KeyValue(key: b("k"), modRevision: 4), prevKv: deleted.response.prevKvs[0])])
    }
}

@Suite struct RangeTests {
    /// Keys a..e, each put once in order (revisions 2..6); values descend so value order differs.
    static func abcde() throws -> Store {
        var store = Store()
        for (offset, key) in ["a", "b", "c", "d", "e"].enumerated() {
            try store.put(key, String(UnicodeScalar(UInt8(ascii: "z") - UInt8(offset))))
        }
        try store.put("c", "again")  // 7: c has version 2, highest mod revision
        return store
    }

    @Test func rangeEndSemantics() throws {
        let store = try Self.abcde()
        #expect(try store.keys(RangeRequest(key: b("b"))) == ["b"])
        #expect(try store.keys(RangeRequest(key: b("b"), rangeEnd: b("d"))) == ["b", "c"])
        #expect(try store.keys(RangeRequest(key: b("c"), rangeEnd: [0])) == ["c", "d", "e"])
        #expect(try store.keys(RangeRequest(key: [0], rangeEnd: [0])) == ["a", "b", "c", "d", "e"])
        #expect(try store.keys(RangeRequest(key: b("d"), rangeEnd: b("b"))) == [])
        #expect(try store.keys(RangeRequest(key: b("zz"))) == [])
    }

    @Test func prefixRangeEnd() throws {
        var store = Store()
        for key in ["fo", "foo", "foo/a", "foo/b", "fop", "g"] { try store.put(key, "x") }
        guard case .between(let key, let end) = KeyRange.prefix(b("foo")) else { Issue.record(); return }
        #expect(end == b("fop"))
        #expect(try store.keys(RangeRequest(key: key, rangeEnd: end)) == ["foo", "foo/a", "foo/b"])
        #expect(KeyRange.prefix([0x61, 0xff]) == .between([0x61, 0xff], [0x62]))
        #expect(KeyRange.prefix([0xff]) == .from([0xff]))
    }

    @Test(arguments: [
        (RangeRequest.SortTarget.key, RangeRequest.SortOrder.ascend, ["a", "b", "c", "d", "e"]),
        (.key, .descend, ["e", "d", "c", "b", "a"]),
        (.key, .none, ["a", "b", "c", "d", "e"]),
        (.value, .ascend, ["c", "e", "d", "b", "a"]),
        (.value, .none, ["c", "e", "d", "b", "a"]),  // a non-key target with no order sorts ascending
        (.value, .descend, ["a", "b", "d", "e", "c"]),
        (.version, .descend, ["c", "a", "b", "d", "e"]),  // ties keep key order
        (.version, .ascend, ["a", "b", "d", "e", "c"]),
        (.create, .descend, ["e", "d", "c", "b", "a"]),
        (.create, .ascend, ["a", "b", "c", "d", "e"]),
        (.mod, .descend, ["c", "e", "d", "b", "a"]),
        (.mod, .ascend, ["a", "b", "d", "e", "c"]),
    ])
    func sorting(target: RangeRequest.SortTarget, order: RangeRequest.SortOrder, expected: [String]) throws {
        let store = try Self.abcde()
        let request = RangeRequest(key: b("a"), rangeEnd: [0], sortOrder: order, sortTarget: target)
        #expect(try store.keys(request) == expected)
    }

    @Test func limitMoreAndCount() throws {
        let store = try Self.abcde()
        let limited = try store.range(RangeRequest(key: b("a"), rangeEnd: [0], limit: 2))
        #expect(limited.kvs.map(\.key) == [b("a"), b("b")])
        #expect(limited.more && limited.count == 5)
        let exact = try store.range(RangeRequest(key: b("a"), rangeEnd: [0], limit: 5))
        #expect(!exact.more && exact.kvs.count == 5)
        let sorted = try store.range(RangeRequest(key: b("a"), rangeEnd: [0], limit: 2, sortOrder: .descend, sortTarget: .mod))
        #expect(sorted.kvs.map(\.key) == [b("c"), b("e")] && sorted.more && sorted.count == 5)
        let counted = try store.range(RangeRequest(key: b("a"), rangeEnd: [0], limit: 1, countOnly: true))
        #expect(counted.kvs.isEmpty && counted.count == 5 && !counted.more)
        let keysOnly = try store.range(RangeRequest(key: b("a"), keysOnly: true))
        #expect(keysOnly.kvs == [KeyValue(key: b("a"), createRevision: 2, modRevision: 2, version: 1)])
        #expect(keysOnly.revision == 7)
    }

    @Test func filtersDoNotChangeCount() throws {
        let store = try Self.abcde()
        let all = RangeRequest(key: b("a"), rangeEnd: [0])
        var request = all
        request.minModRevision = 4
        request.maxModRevision = 6
        #expect(try store.keys(request) == ["d", "e"])
        #expect(try store.range(request).count == 5)
        request = all
        request.minCreateRevision = 3
        request.maxCreateRevision = 4
        request.limit = 1
        let filtered = try store.range(request)
        #expect(filtered.kvs.map(\.key) == [b("b")] && filtered.more && filtered.count == 5)
        request.limit = 2
        #expect(try !store.range(request).more)
    }

    @Test func rangeErrors() throws {
        var store = try Self.abcde()
        #expect(throws: MVCCError.futureRevision) { try store.range(RangeRequest(key: b("a"), revision: 8)) }
        #expect(throws: MVCCError.emptyKey) { try store.range(RangeRequest(key: [])) }
        _ = try store.compact(5)
        #expect(throws: MVCCError.compacted) { try store.range(RangeRequest(key: b("a"), revision: 4)) }
        #expect(try store.get("a", revision: 5)?.value == b("z"))
        #expect(MVCCError.compacted.message == "etcdserver: mvcc: required revision has been compacted")
        #expect(MVCCError.compacted.code == .outOfRange)
        #expect(MVCCError.futureRevision.message == "etcdserver: mvcc: required revision is a future revision")
    }
}

@Suite struct PutTests {
    @Test func requestErrorsAreEtcds() throws {
        var store = Store()
        #expect(throws: MVCCError.emptyKey) { try store.put(PutRequest(key: [])) }
        #expect(throws: MVCCError.valueProvided) { try store.put(PutRequest(key: b("k"), value: b("v"), ignoreValue: true)) }
        #expect(throws: MVCCError.leaseProvided) { try store.put(PutRequest(key: b("k"), lease: 5, ignoreLease: true)) }
        #expect(throws: MVCCError.keyNotFound) { try store.put(PutRequest(key: b("k"), ignoreValue: true)) }
        #expect(throws: MVCCError.leaseNotFound) { try store.put(PutRequest(key: b("k"), lease: 5)) }
        #expect(throws: MVCCError.emptyKey) { try store.deleteRange(DeleteRangeRequest(key: [])) }
        #expect(store.currentRevision == 1)
        #expect(MVCCError.emptyKey.message == "etcdserver: key is not provided")
        #expect(MVCCError.valueProvided.message == "etcdserver: value is provided")
        #expect(MVCCError.leaseProvided.message == "etcdserver: lease is provided")
        #expect(MVCCError.keyNotFound.message == "etcdserver: key not found")
        #expect(MVCCError.leaseNotFound.message == "etcdserver: requested lease not found")
        #expect(MVCCError.leaseNotFound.code == .notFound)
    }

    @Test func ignoreValueAndIgnoreLeaseKeepTheCurrentFields() throws {
        var store = Store()
        _ = try store.grantLease(id: 7, ttl: 10, now: .seconds(0))
        try store.put("k", "v", lease: 7)
        _ = try store.put(PutRequest(key: b("k"), ignoreValue: true, ignoreLease: true))
        #expect(try store.get("k") == KeyValue(key: b("k"), createRevision: 2, modRevision: 3, version: 2, value: b("v"), lease: 7))
        _ = try store.put(PutRequest(key: b("k"), value: b("w"), ignoreLease: true))
        #expect(try store.get("k")?.lease == 7)
        _ = try store.put(PutRequest(key: b("k"), ignoreValue: true))
        #expect(try store.get("k")?.value == b("w"))
        #expect(try store.get("k")?.lease == 0)
    }

    @Test func deleteRangeReturnsPreviousValues() throws {
        var store = Store()
        for key in ["a", "b", "c"] { try store.put(key, key) }
        let result = try store.deleteRange(DeleteRangeRequest(key: b("a"), rangeEnd: b("c"), prevKv: true))
        #expect(result.response.deleted == 2 && result.response.revision == 5)
        #expect(result.response.prevKvs.map(\.value) == [b("a"), b("b")])
        #expect(result.events.map(\.kind) == [.delete, .delete])
        #expect(try store.keys(RangeRequest(key: [0], rangeEnd: [0])) == ["c"])
    }
}

@Suite struct CompactionTests {
    @Test func keepsTheStateAtTheCompactedRevision() throws {
        var store = Store()
        try store.put("a", "1")  // 2
        try store.put("a", "2")  // 3
        try store.put("b", "1")  // 4
        try store.delete("b")  // 5
        try store.put("a", "3")  // 6
        #expect(try store.compact(5) == CompactionResponse(revision: 6))
        #expect(store.compactedRevision == 5)
        #expect(try store.get("a", revision: 5)?.value == b("2"))
        #expect(try store.get("b", revision: 5) == nil)
        #expect(try store.get("a")?.value == b("3"))
        #expect(try store.get("a")?.version == 3)
        #expect(throws: MVCCError.compacted) { try store.get("a", revision: 4) }
        #expect(throws: MVCCError.compacted) { try store.compact(5) }
        #expect(throws: MVCCError.compacted) { try store.compact(3) }
        #expect(throws: MVCCError.futureRevision) { try store.compact(7) }
        #expect(try store.compact(6).revision == 6)
        #expect(store.keyCount == 1)
    }

    @Test func compactingEverythingKeepsLiveKeysAndDropsDeletedOnes() throws {
        var store = Store()
        for i in 0..<1_200 { try store.put("k\(i)", "v") }
        for i in 0..<1_200 where i % 3 == 0 { try store.delete("k\(i)") }
        _ = try store.compact(store.currentRevision)
        #expect(store.keyCount == 800)
        #expect(store.index.count == 800)
        #expect(try store.range(RangeRequest(key: [0], rangeEnd: [0], countOnly: true)).count == 800)
        let live = (0..<1_200).filter { $0 % 3 != 0 }
        #expect(store.logicalSize == live.reduce(0) { $0 + Store.kvOverhead + Int64(b("k\($1)").count + 1) })
    }
}
