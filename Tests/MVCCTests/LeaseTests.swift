import Testing
@testable import MVCC

@Suite struct LeaseTests {
    @Test func grantRules() throws {
        var store = Store()
        #expect(try store.grantLease(id: 1, ttl: 1, now: .seconds(0)) == LeaseGrantResponse(revision: 1, id: 1, ttl: 2))
        #expect(try store.grantLease(id: 2, ttl: 60, now: .seconds(0)).ttl == 60)
        #expect(throws: MVCCError.leaseExists) { try store.grantLease(id: 1, ttl: 5, now: .seconds(0)) }
        #expect(throws: MVCCError.leaseNotFound) { try store.grantLease(id: 0, ttl: 5, now: .seconds(0)) }
        #expect(throws: MVCCError.leaseTTLTooLarge) { try store.grantLease(id: 3, ttl: 9_000_000_001, now: .seconds(0)) }
        #expect(MVCCError.leaseExists.message == "etcdserver: lease already exists")
        #expect(MVCCError.leaseTTLTooLarge.message == "etcdserver: too large lease TTL")
        #expect(store.currentRevision == 1)
        #expect(store.leaseIDs == [1, 2])
        #expect(Store(configuration: StoreConfiguration(minLeaseTTL: 10)).minLeaseGrant() == 10)
    }

    @Test func attachmentFollowsTheLatestPut() throws {
        var store = Store()
        _ = try store.grantLease(id: 1, ttl: 10, now: .seconds(0))
        _ = try store.grantLease(id: 2, ttl: 10, now: .seconds(0))
        try store.put("a", "v", lease: 1)
        try store.put("b", "v", lease: 1)
        try store.put("c", "v", lease: 1)
        try store.put("b", "v", lease: 2)  // moves b to lease 2
        try store.put("c", "v")  // detaches c
        #expect(try store.leaseTimeToLive(id: 1, keys: true, now: .seconds(3)).keys == [b("a")])
        #expect(try store.leaseTimeToLive(id: 2, keys: true, now: .seconds(3)).keys == [b("b")])
        try store.delete("a")
        #expect(try store.leaseTimeToLive(id: 1, keys: true, now: .seconds(3)).keys == [])
    }

    @Test func revokeDeletesAttachedKeysInOneRevision() throws {
        var store = Store()
        _ = try store.grantLease(id: 5, ttl: 10, now: .seconds(0))
        for key in ["c", "a", "b"] { try store.put(key, "v", lease: 5) }
        try store.put("keep", "v")
        let result = try store.revokeLease(id: 5)
        #expect(result.response.revision == 6 && store.currentRevision == 6)
        #expect(result.events.map(\.kv.key) == [b("a"), b("b"), b("c")])
        #expect(result.events.allSatisfy { $0.kind == .delete && $0.kv.modRevision == 6 })
        #expect(try store.keys(RangeRequest(key: [0], rangeEnd: [0])) == ["keep"])
        #expect(throws: MVCCError.leaseNotFound) { try store.revokeLease(id: 5) }
        _ = try store.grantLease(id: 6, ttl: 10, now: .seconds(0))
        #expect(try store.revokeLease(id: 6).events.isEmpty)
        #expect(store.currentRevision == 6)
    }

    @Test func expiryRenewalAndTimeToLive() throws {
        var store = Store()
        _ = try store.grantLease(id: 1, ttl: 10, now: .seconds(0))
        _ = try store.grantLease(id: 2, ttl: 5, now: .seconds(0))
        try store.put("k", "v", lease: 1)
        #expect(store.expiredLeases(at: .seconds(4)) == [])
        #expect(store.expiredLeases(at: .seconds(5)) == [2])
        let ttl = try store.leaseTimeToLive(id: 1, keys: false, now: MonotonicInstant(nanoseconds: 3_500_000_000))
        #expect(ttl == LeaseTimeToLiveResponse(id: 1, ttl: 6, grantedTTL: 10, keys: []))
        #expect(try store.renewLease(id: 1, now: .seconds(8)) == 10)
        #expect(store.expiredLeases(at: .seconds(12)) == [2])
        #expect(store.leaseIDs == [2, 1])
        #expect(throws: MVCCError.leaseNotFound) { try store.renewLease(id: 2, now: .seconds(6)) }
        #expect(throws: MVCCError.leaseNotFound) { try store.renewLease(id: 3, now: .seconds(6)) }
        #expect(throws: MVCCError.leaseNotFound) { try store.leaseTimeToLive(id: 3, keys: false, now: .seconds(6)) }
        // The leader turns expiry into revokes, which delete the keys.
        for id in store.expiredLeases(at: .seconds(18)) { _ = try store.revokeLease(id: id) }
        #expect(try store.get("k") == nil)
        #expect(store.leaseIDs == [])
    }

    @Test func promotionRestartsEveryTTL() throws {
        var store = Store()
        _ = try store.grantLease(id: 1, ttl: 10, now: .seconds(0))
        store.promoteLeases(now: .seconds(100), extendSeconds: 2)
        #expect(store.expiredLeases(at: .seconds(111)) == [])
        #expect(store.expiredLeases(at: .seconds(112)) == [1])
    }

    @Test func generatedIDsArePositiveAndDistinct() {
        var generator = LeaseIDGenerator(memberID: 0x1234_5678_9abc_def0, unixMilliseconds: 1_700_000_000_000)
        let ids = (0..<1000).map { _ in generator.next() }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { $0 > 0 })
        #expect(ids[0] >> 48 == 0xdef0 & 0x7fff)
    }
}

extension Store {
    /// The TTL a grant asking for 1 second gets.
    func minLeaseGrant() -> Int64 {
        var copy = self
        return (try? copy.grantLease(id: 1, ttl: 1, now: .seconds(0)).ttl) ?? -1
    }
}
