import Testing
@testable import MVCC

/// The space quota: a write that would not fit fails with NOSPACE before it changes anything.
@Suite struct QuotaTests {
    @Test func writesPastTheQuotaFailAndChangeNothing() throws {
        // Two puts of 256 + 1 + 1000 bytes fit in 3000; the third does not.
        var store = Store(configuration: StoreConfiguration(quotaBytes: 3000))
        let value = [UInt8](repeating: 1, count: 1000)
        _ = try store.put(PutRequest(key: b("a"), value: value))
        _ = try store.put(PutRequest(key: b("b"), value: value))
        let revision = store.currentRevision
        #expect(throws: MVCCError.noSpace) { try store.put(PutRequest(key: b("c"), value: value)) }
        #expect(throws: MVCCError.noSpace) {
            try store.txn(TxnRequest(success: [.put(PutRequest(key: b("c"), value: value))]))
        }
        #expect(store.currentRevision == revision)
        // Deletes and reads cost nothing; a txn without puts passes.
        _ = try store.txn(TxnRequest(success: [.range(RangeRequest(key: b("a")))]))
        _ = try store.deleteRange(DeleteRangeRequest(key: b("a")))
        #expect(store.currentRevision == revision + 1)
    }

    @Test func aNegativeQuotaMeansNone() throws {
        var store = Store(configuration: StoreConfiguration(quotaBytes: -1))
        for number in 0..<50 {
            _ = try store.put(PutRequest(key: b("k\(number)"), value: [UInt8](repeating: 0, count: 1000)))
        }
        #expect(store.keyCount == 50)
    }
}
