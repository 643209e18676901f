import EtcdAPI
import GRPCWire
import Foundation
import SwiftProtobuf
import Testing
@testable import KVServer
@testable import MVCC

private func b(_ string: String) -> [UInt8] { Array(string.utf8) }
private func d(_ string: String) -> Data { Data(string.utf8) }

private let context = ResponseHeaderContext(clusterID: 0x1111_2222_3333_4444, memberID: 0x5555_6666_7777_8888, raftTerm: 9)

private func kv(_ key: String, create: Int64, mod: Int64, version: Int64, value: String, lease: Int64 = 0) -> KeyValue {
    KeyValue(key: b(key), createRevision: create, modRevision: mod, version: version, value: b(value), lease: lease)
}

/// Every field of the protobuf KeyValue against the store's.
private func expectSame(_ message: Mvccpb_KeyValue, _ kv: KeyValue, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(Array(message.key) == kv.key, sourceLocation: sourceLocation)
    #expect(message.createRevision == kv.createRevision, sourceLocation: sourceLocation)
    #expect(message.modRevision == kv.modRevision, sourceLocation: sourceLocation)
    #expect(message.version == kv.version, sourceLocation: sourceLocation)
    #expect(Array(message.value) == kv.value, sourceLocation: sourceLocation)
    #expect(message.lease == kv.lease, sourceLocation: sourceLocation)
}

private func expectTopHeader(_ header: Etcdserverpb_ResponseHeader, revision: Int64, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(header == context.header(revision: revision), sourceLocation: sourceLocation)
    #expect(header.clusterID == 0x1111_2222_3333_4444, sourceLocation: sourceLocation)
    #expect(header.memberID == 0x5555_6666_7777_8888, sourceLocation: sourceLocation)
    #expect(header.raftTerm == 9, sourceLocation: sourceLocation)
    #expect(header.revision == revision, sourceLocation: sourceLocation)
}

private func rangeOp(_ key: String) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestRange.key = d(key)
    return op
}

private func putOp(_ key: String, _ value: String = "v") -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestPut.key = d(key)
    op.requestPut.value = d(value)
    return op
}

private func deleteOp(_ key: String, _ rangeEnd: String = "") -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestDeleteRange.key = d(key)
    op.requestDeleteRange.rangeEnd = d(rangeEnd)
    return op
}

private func txnOp(_ txn: Etcdserverpb_TxnRequest) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestTxn = txn
    return op
}

private func compare(
    _ key: String, _ target: Etcdserverpb_Compare.CompareTarget, _ result: Etcdserverpb_Compare.CompareResult,
    _ operand: Etcdserverpb_Compare.OneOf_TargetUnion?
) -> Etcdserverpb_Compare {
    var compare = Etcdserverpb_Compare()
    compare.key = d(key)
    compare.target = target
    compare.result = result
    compare.targetUnion = operand
    return compare
}

@Suite struct EtcdMappingTests {
    // MARK: KV requests

    @Test func rangeRequestMapsEveryField() throws {
        var message = Etcdserverpb_RangeRequest()
        message.key = d("a")
        message.rangeEnd = d("z")
        message.limit = 7
        message.revision = 42
        message.sortOrder = .descend
        message.sortTarget = .mod
        message.serializable = true
        message.keysOnly = true
        message.countOnly = true
        message.minModRevision = 3
        message.maxModRevision = 30
        message.minCreateRevision = 2
        message.maxCreateRevision = 20
        let request = try RangeRequest(message)
        #expect(
            request
                == RangeRequest(
                    key: b("a"), rangeEnd: b("z"), limit: 7, revision: 42, sortOrder: .descend, sortTarget: .mod,
                    keysOnly: true, countOnly: true, minModRevision: 3, maxModRevision: 30,
                    minCreateRevision: 2, maxCreateRevision: 20
                ))
        #expect(message.consistency == .serializable)
        message.serializable = false
        #expect(message.consistency == .linearizable)
        // Defaults stay defaults.
        var plain = Etcdserverpb_RangeRequest()
        plain.key = d("k")
        #expect(try RangeRequest(plain) == RangeRequest(key: b("k")))
    }

    @Test(arguments: [
        (Etcdserverpb_RangeRequest.SortOrder.none, RangeRequest.SortOrder.none),
        (.ascend, .ascend), (.descend, .descend),
    ])
    func rangeSortOrders(_ order: Etcdserverpb_RangeRequest.SortOrder, _ expected: RangeRequest.SortOrder) throws {
        var message = Etcdserverpb_RangeRequest()
        message.key = d("k")
        message.sortOrder = order
        #expect(try RangeRequest(message).sortOrder == expected)
    }

    @Test(arguments: [
        (Etcdserverpb_RangeRequest.SortTarget.key, RangeRequest.SortTarget.key),
        (.version, .version), (.create, .create), (.mod, .mod), (.value, .value),
    ])
    func rangeSortTargets(_ target: Etcdserverpb_RangeRequest.SortTarget, _ expected: RangeRequest.SortTarget) throws {
        var message = Etcdserverpb_RangeRequest()
        message.key = d("k")
        message.sortTarget = target
        #expect(try RangeRequest(message).sortTarget == expected)
    }

    @Test func rangeChecks() {
        var message = Etcdserverpb_RangeRequest()
        message.rangeEnd = d("z")
        #expect(throws: GRPCStatus(.invalidArgument, "etcdserver: key is not provided")) {
            try RangeRequest(message)
        }
        message.key = d("a")
        message.sortOrder = .UNRECOGNIZED(3)
        #expect(throws: GRPCStatus(.invalidArgument, "etcdserver: invalid sort option")) {
            try RangeRequest(message)
        }
        message.sortOrder = .ascend
        message.sortTarget = .UNRECOGNIZED(5)
        #expect(throws: GRPCStatus.invalidSortOption) { try RangeRequest(message) }
        // The key check comes first, as in etcd.
        message.key = Data()
        #expect(throws: GRPCStatus(.emptyKey)) { try RangeRequest(message) }
    }

    @Test func putRequestMapsEveryField() throws {
        var message = Etcdserverpb_PutRequest()
        message.key = d("k")
        message.value = Data([0, 1, 0xff])
        message.lease = 77
        message.prevKv = true
        #expect(try PutRequest(message) == PutRequest(key: b("k"), value: [0, 1, 0xff], lease: 77, prevKv: true))

        var ignoring = Etcdserverpb_PutRequest()
        ignoring.key = d("k")
        ignoring.ignoreValue = true
        ignoring.ignoreLease = true
        #expect(try PutRequest(ignoring) == PutRequest(key: b("k"), ignoreValue: true, ignoreLease: true))
    }

    @Test func putChecksInEtcdsOrder() {
        var message = Etcdserverpb_PutRequest()
        message.value = d("v")
        message.lease = 5
        message.ignoreValue = true
        message.ignoreLease = true
        #expect(throws: GRPCStatus(.invalidArgument, "etcdserver: key is not provided")) {
            try PutRequest(message)
        }
        message.key = d("k")
        #expect(throws: GRPCStatus(.invalidArgument, "etcdserver: value is provided")) {
            try PutRequest(message)
        }
        message.value = Data()
        #expect(throws: GRPCStatus(.invalidArgument, "etcdserver: lease is provided")) {
            try PutRequest(message)
        }
        message.lease = 0
        #expect(throws: Never.self) { try PutRequest(message) }
    }

    @Test func deleteRangeRequestMapsEveryField() throws {
        var message = Etcdserverpb_DeleteRangeRequest()
        message.key = d("a")
        message.rangeEnd = Data([0])
        message.prevKv = true
        #expect(try DeleteRangeRequest(message) == DeleteRangeRequest(key: b("a"), rangeEnd: [0], prevKv: true))
        message.key = Data()
        #expect(throws: GRPCStatus(.invalidArgument, "etcdserver: key is not provided")) {
            try DeleteRangeRequest(message)
        }
    }

    @Test func compareMapsEveryTargetAndResult() {
        let results: [(Etcdserverpb_Compare.CompareResult, Compare.Result)] = [
            (.equal, .equal), (.greater, .greater), (.less, .less), (.notEqual, .notEqual),
        ]
        let targets: [(Etcdserverpb_Compare.CompareTarget, Etcdserverpb_Compare.OneOf_TargetUnion, Compare.Target)] = [
            (.version, .version(3), .version(3)),
            (.create, .createRevision(4), .createRevision(4)),
            (.mod, .modRevision(5), .modRevision(5)),
            (.value, .value(Data([9, 8])), .value([9, 8])),
            (.lease, .lease(6), .lease(6)),
        ]
        for (result, expectedResult) in results {
            for (target, operand, expectedTarget) in targets {
                var message = compare("a", target, result, operand)
                message.rangeEnd = d("b")
                #expect(
                    Compare(message) == Compare(key: b("a"), rangeEnd: b("b"), target: expectedTarget, result: expectedResult))
            }
        }
    }

    @Test func compareOperandComesOnlyFromTheMatchingUnionCase() {
        // etcd reads the operand only from the case `target` names; anything else is zero.
        #expect(Compare(compare("a", .version, .equal, .modRevision(5))).target == .version(0))
        #expect(Compare(compare("a", .mod, .equal, .version(5))).target == .modRevision(0))
        #expect(Compare(compare("a", .value, .equal, .lease(5))).target == .value([]))
        #expect(Compare(compare("a", .lease, .equal, nil)).target == .lease(0))
        #expect(Compare(compare("a", .create, .equal, .value(d("x")))).target == .createRevision(0))
    }

    /// Unknown targets and results, which etcd accepts: decided by a store holding "a" and not "m".
    @Test func unknownCompareEnumsBehaveAsEtcds() throws {
        var store = Store()
        _ = try store.put(PutRequest(key: b("a"), value: b("1")))
        let cases: [(key: String, target: Etcdserverpb_Compare.CompareTarget, result: Etcdserverpb_Compare.CompareResult, holds: Bool)] = [
            // Unknown result: true, except VALUE on a missing key.
            ("a", .version, .UNRECOGNIZED(9), true), ("m", .version, .UNRECOGNIZED(9), true),
            ("a", .value, .UNRECOGNIZED(9), true), ("m", .value, .UNRECOGNIZED(9), false),
            ("m", .lease, .UNRECOGNIZED(9), true),
            // Unknown target: compares as equal.
            ("a", .UNRECOGNIZED(7), .equal, true), ("m", .UNRECOGNIZED(7), .equal, true),
            ("a", .UNRECOGNIZED(7), .notEqual, false), ("a", .UNRECOGNIZED(7), .greater, false),
            ("m", .UNRECOGNIZED(7), .less, false),
            ("a", .UNRECOGNIZED(7), .UNRECOGNIZED(9), true),
        ]
        for test in cases {
            let request = TxnRequest(compare: [Compare(compare(test.key, test.target, test.result, .version(1)))])
            #expect(try store.txn(request).response.succeeded == test.holds, "\(test)")
        }
    }

    @Test func nestedTxnRequestMaps() throws {
        var inner = Etcdserverpb_TxnRequest()
        inner.compare = [compare("x", .value, .equal, .value(d("1")))]
        inner.success = [putOp("p", "2")]
        inner.failure = [deleteOp("q", "r")]
        var outer = Etcdserverpb_TxnRequest()
        var lease = compare("a", .lease, .notEqual, .lease(3))
        lease.rangeEnd = Data([0])
        outer.compare = [compare("a", .mod, .greater, .modRevision(2)), lease]
        outer.success = [rangeOp("a"), txnOp(inner)]
        outer.failure = [putOp("b")]
        let request = try TxnRequest(outer, maxOperations: 128)
        let expected = TxnRequest(
            compare: [
                Compare(key: b("a"), target: .modRevision(2), result: .greater),
                Compare(key: b("a"), rangeEnd: [0], target: .lease(3), result: .notEqual),
            ],
            success: [
                .range(RangeRequest(key: b("a"))),
                .txn(TxnRequest(
                    compare: [Compare(key: b("x"), target: .value(b("1")), result: .equal)],
                    success: [.put(PutRequest(key: b("p"), value: b("2")))],
                    failure: [.deleteRange(DeleteRangeRequest(key: b("q"), rangeEnd: b("r")))]
                )),
            ],
            failure: [.put(PutRequest(key: b("b"), value: b("v")))]
        )
        #expect(request == expected)
    }

    @Test func txnOperationLimit() throws {
        var txn = Etcdserverpb_TxnRequest()
        txn.success = (0..<4).map { putOp("k\($0)") }
        #expect(throws: Never.self) { try TxnRequest(txn, maxOperations: 4) }
        let tooMany = GRPCStatus(.invalidArgument, "etcdserver: too many operations in txn request")
        #expect(throws: tooMany) { try TxnRequest(txn, maxOperations: 3) }
        // The largest list counts, not the sum.
        txn.compare = (0..<4).map { compare("k\($0)", .version, .equal, .version(0)) }
        txn.failure = (0..<4).map { rangeOp("k\($0)") }
        #expect(throws: Never.self) { try TxnRequest(txn, maxOperations: 4) }
        // A nested txn gets the budget its parent left: 6 - 4 = 2.
        var nested = Etcdserverpb_TxnRequest()
        nested.success = [putOp("n1"), putOp("n2")]
        var outer = Etcdserverpb_TxnRequest()
        outer.success = [txnOp(nested)] + (0..<3).map { putOp("o\($0)") }
        #expect(throws: Never.self) { try TxnRequest(outer, maxOperations: 6) }
        outer.success.append(putOp("o3"))
        #expect(throws: tooMany) { try TxnRequest(outer, maxOperations: 6) }
    }

    @Test func txnChecks() {
        var emptyCompare = Etcdserverpb_TxnRequest()
        emptyCompare.compare = [compare("", .version, .equal, .version(0))]
        #expect(throws: GRPCStatus(.invalidArgument, "etcdserver: key is not provided")) {
            try TxnRequest(emptyCompare, maxOperations: 128)
        }
        var emptyOp = Etcdserverpb_TxnRequest()
        emptyOp.failure = [putOp("a"), Etcdserverpb_RequestOp()]
        #expect(throws: GRPCStatus(.invalidArgument, "etcdserver: key not found")) {
            try TxnRequest(emptyOp, maxOperations: 128)
        }
        var nestedEmptyKey = Etcdserverpb_TxnRequest()
        nestedEmptyKey.success = [txnOp(emptyOp), txnOp(Etcdserverpb_TxnRequest()), rangeOp("")]
        // The first error in etcd's walk wins: the nested empty op before the later empty range key.
        #expect(throws: GRPCStatus(.keyNotFound)) { try TxnRequest(nestedEmptyKey, maxOperations: 128) }
        var invalidSort = Etcdserverpb_TxnRequest()
        var sorted = rangeOp("a")
        sorted.requestRange.sortTarget = .UNRECOGNIZED(12)
        invalidSort.success = [sorted]
        #expect(throws: GRPCStatus.invalidSortOption) { try TxnRequest(invalidSort, maxOperations: 128) }
        // Too many ops is checked before anything inside.
        var both = emptyOp
        both.compare = [compare("", .version, .equal, .version(0))]
        #expect(throws: GRPCStatus(.tooManyOperations)) { try TxnRequest(both, maxOperations: 1) }
    }

    @Test func txnDuplicateKeysAreRejectedBeforeProposing() {
        var txn = Etcdserverpb_TxnRequest()
        txn.success = [putOp("a"), deleteOp("0", "b")]
        #expect(throws: GRPCStatus(.invalidArgument, "etcdserver: duplicate key given in txn request")) {
            try TxnRequest(txn, maxOperations: 128)
        }
        // The two branches of one nested txn may put the same key.
        var nested = Etcdserverpb_TxnRequest()
        nested.success = [putOp("a")]
        nested.failure = [putOp("a")]
        var outer = Etcdserverpb_TxnRequest()
        outer.success = [txnOp(nested)]
        #expect(throws: Never.self) { try TxnRequest(outer, maxOperations: 128) }
        outer.success.append(putOp("a"))
        #expect(throws: GRPCStatus(.duplicateKey)) { try TxnRequest(outer, maxOperations: 128) }
    }

    @Test func compactionRequest() {
        var message = Etcdserverpb_CompactionRequest()
        message.revision = 12
        message.physical = true
        #expect(CompactionRequest(message).revision == 12)
        message.physical = false
        #expect(CompactionRequest(message).revision == 12)
    }

    // MARK: KV responses

    @Test func keyValueMapsEveryField() {
        let value = kv("key", create: 2, mod: 5, version: 3, value: "value", lease: 0x7fff_0000_0000_0001)
        expectSame(Mvccpb_KeyValue(value), value)
        #expect(Mvccpb_KeyValue(KeyValue(key: b("k"))) == {
            var message = Mvccpb_KeyValue()
            message.key = d("k")
            return message
        }())
    }

    @Test func rangeResponse() {
        let kvs = [kv("a", create: 2, mod: 2, version: 1, value: "1"), kv("b", create: 3, mod: 4, version: 2, value: "2", lease: 8)]
        let message = Etcdserverpb_RangeResponse(RangeResponse(revision: 4, kvs: kvs, more: true, count: 5), context: context)
        expectTopHeader(message.header, revision: 4)
        #expect(message.kvs.count == 2)
        for (m, kv) in zip(message.kvs, kvs) { expectSame(m, kv) }
        #expect(message.more)
        #expect(message.count == 5)
        let empty = Etcdserverpb_RangeResponse(RangeResponse(revision: 1, kvs: [], more: false, count: 0), context: context)
        #expect(empty.kvs.isEmpty && !empty.more && empty.count == 0 && empty.hasHeader)
    }

    @Test func putResponse() {
        let previous = kv("a", create: 2, mod: 3, version: 2, value: "old", lease: 4)
        let with = Etcdserverpb_PutResponse(PutResponse(revision: 6, prevKv: previous), context: context)
        expectTopHeader(with.header, revision: 6)
        #expect(with.hasPrevKv)
        expectSame(with.prevKv, previous)
        let without = Etcdserverpb_PutResponse(PutResponse(revision: 6, prevKv: nil), context: context)
        #expect(!without.hasPrevKv)
    }

    @Test func deleteRangeResponse() {
        let previous = [kv("a", create: 2, mod: 3, version: 2, value: "x"), kv("b", create: 4, mod: 4, version: 1, value: "y")]
        let message = Etcdserverpb_DeleteRangeResponse(DeleteRangeResponse(revision: 7, deleted: 2, prevKvs: previous), context: context)
        expectTopHeader(message.header, revision: 7)
        #expect(message.deleted == 2)
        #expect(message.prevKvs.count == 2)
        for (m, kv) in zip(message.prevKvs, previous) { expectSame(m, kv) }
    }

    @Test func compactionResponse() {
        let message = Etcdserverpb_CompactionResponse(CompactionResponse(revision: 9), context: context)
        expectTopHeader(message.header, revision: 9)
    }

    /// etcd fills only the top header; nested op responses carry their own revision alone
    /// and a nested txn's header is present but all zero.
    @Test func txnResponseHeadersAsEtcd() throws {
        var store = Store()
        _ = try store.put(PutRequest(key: b("a"), value: b("1")))
        var inner = Etcdserverpb_TxnRequest()
        inner.success = [putOp("c", "3"), rangeOp("c")]
        var outer = Etcdserverpb_TxnRequest()
        outer.compare = [compare("a", .value, .equal, .value(d("1")))]
        var put = putOp("b", "2")
        put.requestPut.prevKv = true
        var delete = deleteOp("a")
        delete.requestDeleteRange.prevKv = true
        outer.success = [rangeOp("a"), put, txnOp(inner), delete]
        let response = try store.txn(TxnRequest(outer, maxOperations: 128)).response
        let message = Etcdserverpb_TxnResponse(response, context: context)

        expectTopHeader(message.header, revision: 3)
        #expect(message.succeeded)
        #expect(message.responses.count == 4)
        let range = message.responses[0].responseRange
        #expect(range.header == ResponseHeaderContext.nested.header(revision: 2))
        #expect(range.hasHeader && range.header.clusterID == 0 && range.header.raftTerm == 0)
        #expect(range.count == 1)
        expectSame(range.kvs[0], kv("a", create: 2, mod: 2, version: 1, value: "1"))
        let putResponse = message.responses[1].responsePut
        #expect(putResponse.header.revision == 3 && putResponse.header.memberID == 0)
        #expect(!putResponse.hasPrevKv)
        let nested = message.responses[2].responseTxn
        #expect(nested.hasHeader)
        #expect(nested.header == Etcdserverpb_ResponseHeader())
        #expect(nested.succeeded)
        #expect(nested.responses.count == 2)
        #expect(nested.responses[0].responsePut.header.revision == 3)
        #expect(nested.responses[1].responseRange.kvs.map { Array($0.value) } == [b("3")])
        let deleted = message.responses[3].responseDeleteRange
        #expect(deleted.deleted == 1 && deleted.header.revision == 3)
        expectSame(deleted.prevKvs[0], kv("a", create: 2, mod: 2, version: 1, value: "1"))
        for op in message.responses {
            if case nil = op.response { Issue.record("a response op without its response") }
        }
    }

    // MARK: Leases

    @Test func leaseRequestsMapEveryField() {
        var grant = Etcdserverpb_LeaseGrantRequest()
        grant.id = 0x1234
        grant.ttl = 60
        let request = LeaseGrantRequest(grant)
        #expect(request.id == 0x1234 && request.ttl == 60)
        #expect(LeaseGrantRequest(Etcdserverpb_LeaseGrantRequest()).id == 0)

        var revoke = Etcdserverpb_LeaseRevokeRequest()
        revoke.id = -5
        #expect(LeaseRevokeRequest(revoke).id == -5)

        var timeToLive = Etcdserverpb_LeaseTimeToLiveRequest()
        timeToLive.id = 99
        timeToLive.keys = true
        #expect(LeaseTimeToLiveRequest(timeToLive).id == 99 && LeaseTimeToLiveRequest(timeToLive).keys)
        timeToLive.keys = false
        #expect(!LeaseTimeToLiveRequest(timeToLive).keys)
    }

    @Test func leaseGrantAndRevokeResponses() throws {
        var store = Store()
        var grant = Etcdserverpb_LeaseGrantRequest()
        grant.id = 7
        grant.ttl = 1
        let request = LeaseGrantRequest(grant)
        let granted = try store.grantLease(id: request.id, ttl: request.ttl, now: .seconds(0))
        let message = Etcdserverpb_LeaseGrantResponse(granted, context: context)
        expectTopHeader(message.header, revision: 1)
        #expect(message.id == 7)
        #expect(message.ttl == 2)  // raised to the minimum TTL
        #expect(message.error == "")

        _ = try store.put(PutRequest(key: b("k"), lease: 7))
        let revoked = try store.revokeLease(id: LeaseRevokeRequest(.with { $0.id = 7 }).id)
        let revokeMessage = Etcdserverpb_LeaseRevokeResponse(revoked.response, context: context)
        expectTopHeader(revokeMessage.header, revision: 3)
        #expect(revokeMessage.hasHeader)
    }

    @Test func leaseTimeToLiveResponse() throws {
        var store = Store()
        _ = try store.grantLease(id: 5, ttl: 30, now: .seconds(0))
        _ = try store.put(PutRequest(key: b("b"), lease: 5))
        _ = try store.put(PutRequest(key: b("a"), lease: 5))
        let request = LeaseTimeToLiveRequest(.with { $0.id = 5; $0.keys = true })
        let found = Result { () throws(MVCCError) in
            try store.leaseTimeToLive(id: request.id, keys: request.keys, now: .seconds(10))
        }
        let message = try Etcdserverpb_LeaseTimeToLiveResponse(found, id: 5, revision: store.currentRevision, context: context)
        expectTopHeader(message.header, revision: 3)
        #expect(message.id == 5)
        #expect(message.ttl == 20)
        #expect(message.grantedTtl == 30)
        #expect(message.keys == [d("a"), d("b")])

        // etcd answers an unknown lease, it does not fail.
        let missing = Result { () throws(MVCCError) in try store.leaseTimeToLive(id: 6, keys: true, now: .seconds(10)) }
        let notFound = try Etcdserverpb_LeaseTimeToLiveResponse(missing, id: 6, revision: 3, context: context)
        expectTopHeader(notFound.header, revision: 3)
        #expect(notFound.id == 6 && notFound.ttl == -1 && notFound.grantedTtl == 0 && notFound.keys.isEmpty)

        #expect(throws: GRPCStatus(.noSpace)) {
            try Etcdserverpb_LeaseTimeToLiveResponse(.failure(.noSpace), id: 6, revision: 3, context: context)
        }
    }

    @Test func leaseKeepAliveResponse() throws {
        var store = Store()
        _ = try store.grantLease(id: 5, ttl: 30, now: .seconds(0))
        let renewed = Result { () throws(MVCCError) in try store.renewLease(id: 5, now: .seconds(10)) }
        let message = try Etcdserverpb_LeaseKeepAliveResponse(id: 5, renewal: renewed, revision: 1, context: context)
        expectTopHeader(message.header, revision: 1)
        #expect(message.id == 5 && message.ttl == 30)
        // Expired or unknown: TTL 0 on the stream, no error.
        let expired = Result { () throws(MVCCError) in try store.renewLease(id: 5, now: .seconds(40)) }
        let gone = try Etcdserverpb_LeaseKeepAliveResponse(id: 5, renewal: expired, revision: 1, context: context)
        #expect(gone.id == 5 && gone.ttl == 0)
        #expect(throws: GRPCStatus(.leaseTTLTooLarge)) {
            try Etcdserverpb_LeaseKeepAliveResponse(id: 5, renewal: .failure(.leaseTTLTooLarge), revision: 1, context: context)
        }
    }

    // MARK: Errors

    /// etcd 3.4's rpctypes/error.go, by gRPC code number and exact text.
    @Test(arguments: [
        (MVCCError.emptyKey, 3, "etcdserver: key is not provided"),
        (.keyNotFound, 3, "etcdserver: key not found"),
        (.valueProvided, 3, "etcdserver: value is provided"),
        (.leaseProvided, 3, "etcdserver: lease is provided"),
        (.tooManyOperations, 3, "etcdserver: too many operations in txn request"),
        (.duplicateKey, 3, "etcdserver: duplicate key given in txn request"),
        (.compacted, 11, "etcdserver: mvcc: required revision has been compacted"),
        (.futureRevision, 11, "etcdserver: mvcc: required revision is a future revision"),
        (.noSpace, 8, "etcdserver: mvcc: database space exceeded"),
        (.leaseNotFound, 5, "etcdserver: requested lease not found"),
        (.leaseExists, 9, "etcdserver: lease already exists"),
        (.leaseTTLTooLarge, 11, "etcdserver: too large lease TTL"),
    ])
    func errorStatuses(_ error: MVCCError, _ code: Int, _ message: String) {
        let status = GRPCStatus(error)
        #expect(status.code.rawValue == code)
        #expect(status.message == message)
    }

    @Test func statusCodeNames() {
        #expect(GRPCStatus.Code.invalidArgument.rawValue == 3)
        #expect(GRPCStatus.Code.notFound.rawValue == 5)
        #expect(GRPCStatus.Code.resourceExhausted.rawValue == 8)
        #expect(GRPCStatus.Code.failedPrecondition.rawValue == 9)
        #expect(GRPCStatus.Code.outOfRange.rawValue == 11)
        #expect(GRPCStatus.invalidSortOption.code == .invalidArgument)
    }

    /// The statuses the store's own failures turn into, end to end.
    @Test func storeFailuresBecomeGRPCStatuses() throws {
        var store = Store()
        _ = try store.put(PutRequest(key: b("a")))
        _ = try store.put(PutRequest(key: b("a")))
        _ = try store.compact(3)
        func status(_ body: () throws(MVCCError) -> Void) -> GRPCStatus? {
            do { try body() } catch { return GRPCStatus(error) }
            return nil
        }
        var old = Etcdserverpb_RangeRequest()
        old.key = d("a")
        old.revision = 2
        let compactedRead = try RangeRequest(old)
        old.revision = 9
        let futureRead = try RangeRequest(old)
        let leasedPut = try PutRequest(.with { $0.key = d("b"); $0.lease = 42 })
        let ignoringPut = try PutRequest(.with { $0.key = d("zz"); $0.ignoreValue = true })
        let compacted = status { () throws(MVCCError) in _ = try store.range(compactedRead) }
        #expect(compacted == GRPCStatus(.outOfRange, "etcdserver: mvcc: required revision has been compacted"))
        let future = status { () throws(MVCCError) in _ = try store.range(futureRead) }
        #expect(future == GRPCStatus(.outOfRange, "etcdserver: mvcc: required revision is a future revision"))
        let unknownLease = status { () throws(MVCCError) in _ = try store.put(leasedPut) }
        #expect(unknownLease == GRPCStatus(.notFound, "etcdserver: requested lease not found"))
        let missingKey = status { () throws(MVCCError) in _ = try store.put(ignoringPut) }
        #expect(missingKey == GRPCStatus(.invalidArgument, "etcdserver: key not found"))
    }

    // MARK: Watch events

    @Test func watchEventsFromTheStore() throws {
        var store = Store()
        _ = try store.put(PutRequest(key: b("a"), value: b("1")))
        let put = try store.put(PutRequest(key: b("a"), value: b("2"))).events
        let delete = try store.deleteRange(DeleteRangeRequest(key: b("a"))).events
        #expect(put.count == 1 && delete.count == 1)

        let putEvent = Mvccpb_Event(put[0], prevKv: true)
        #expect(putEvent.type == .put)
        expectSame(putEvent.kv, kv("a", create: 2, mod: 3, version: 2, value: "2"))
        #expect(putEvent.hasPrevKv)
        expectSame(putEvent.prevKv, kv("a", create: 2, mod: 2, version: 1, value: "1"))

        let deleteEvent = Mvccpb_Event(delete[0], prevKv: true)
        #expect(deleteEvent.type == .delete)
        expectSame(deleteEvent.kv, KeyValue(key: b("a"), modRevision: 4))
        expectSame(deleteEvent.prevKv, kv("a", create: 2, mod: 3, version: 2, value: "2"))

        // A watcher without prev_kv gets none; an event without one sends none.
        #expect(!Mvccpb_Event(put[0], prevKv: false).hasPrevKv)
        #expect(!Mvccpb_Event(Event(kind: .put, kv: kv("n", create: 5, mod: 5, version: 1, value: "x")), prevKv: true).hasPrevKv)

        let wire: [UInt8] = try deleteEvent.serializedBytes()
        let parsed = try Mvccpb_Event(serializedBytes: wire)
        #expect(parsed == deleteEvent)
        #expect(parsed.type.rawValue == 1)
    }

    // MARK: The wire

    /// What a client sends: protobuf bytes, parsed, mapped, applied, answered, and parsed back.
    @Test func wireLevelTxnRoundTrip() throws {
        var nested = Etcdserverpb_TxnRequest()
        nested.compare = [compare("missing", .version, .equal, .version(0))]
        nested.success = [putOp("n", "nested")]
        var request = Etcdserverpb_TxnRequest()
        request.compare = [compare("k", .create, .equal, .createRevision(0))]
        request.success = [putOp("k", "v"), txnOp(nested)]
        request.failure = [rangeOp("k")]
        let wire: [UInt8] = try request.serializedBytes()
        let parsed = try Etcdserverpb_TxnRequest(serializedBytes: wire)

        var store = Store()
        let applied = try store.txn(TxnRequest(parsed, maxOperations: 128)).response
        let answer: [UInt8] = try Etcdserverpb_TxnResponse(applied, context: context).serializedBytes()
        let received = try Etcdserverpb_TxnResponse(serializedBytes: answer)
        expectTopHeader(received.header, revision: 2)
        #expect(received.succeeded)
        #expect(received.responses[0].responsePut.header.revision == 2)
        #expect(received.responses[1].responseTxn.succeeded)
        #expect(received.responses[1].responseTxn.hasHeader)
        #expect(received.responses[1].responseTxn.responses[0].responsePut.header.revision == 2)

        var range = Etcdserverpb_RangeRequest()
        range.key = d("k")
        range.rangeEnd = Data([0])
        range.sortOrder = .descend
        range.serializable = true
        let rangeParsed = try Etcdserverpb_RangeRequest(serializedBytes: range.serializedBytes() as [UInt8])
        #expect(rangeParsed.consistency == .serializable)
        let read = try store.range(RangeRequest(rangeParsed))
        let rangeAnswer = try Etcdserverpb_RangeResponse(
            serializedBytes: Etcdserverpb_RangeResponse(read, context: context).serializedBytes() as [UInt8])
        #expect(rangeAnswer.kvs.map { Array($0.key) } == [b("n"), b("k")])
        #expect(rangeAnswer.count == 2)
        expectTopHeader(rangeAnswer.header, revision: 2)
    }

    /// A request op with no request set (a client bug, or a newer field) parses and is refused.
    @Test func wireLevelEmptyOpIsRefused() throws {
        var request = Etcdserverpb_TxnRequest()
        request.success = [Etcdserverpb_RequestOp()]
        let parsed = try Etcdserverpb_TxnRequest(serializedBytes: request.serializedBytes() as [UInt8])
        #expect(parsed.success.count == 1)
        #expect(throws: GRPCStatus(.keyNotFound)) { try TxnRequest(parsed, maxOperations: 128) }
    }

    // MARK: Randomized

    /// Random store responses, mapped and sent over the wire, keep every field.
    @Test func randomResponsesKeepEveryField() throws {
        var rng = SplitMix64(seed: 0x6574_6364)
        func randomKV() -> KeyValue {
            KeyValue(
                key: (0..<rng.next(upTo: 8) + 1).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                createRevision: Int64(rng.next(upTo: 1000)), modRevision: Int64(rng.next(upTo: 1000)),
                version: Int64(rng.next(upTo: 50)),
                value: (0..<rng.next(upTo: 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                lease: Int64(bitPattern: rng.next()))
        }
        func randomOp(depth: Int) -> ResponseOp {
            let revision = Int64(rng.next(upTo: 1000))
            switch rng.next(upTo: depth > 1 ? 3 : 4) {
            case 0:
                return .range(RangeResponse(
                    revision: revision, kvs: (0..<rng.next(upTo: 4)).map { _ in randomKV() },
                    more: rng.next(upTo: 2) == 1, count: Int64(rng.next(upTo: 100))))
            case 1: return .put(PutResponse(revision: revision, prevKv: rng.next(upTo: 2) == 1 ? randomKV() : nil))
            case 2:
                return .deleteRange(DeleteRangeResponse(
                    revision: revision, deleted: Int64(rng.next(upTo: 10)), prevKvs: (0..<rng.next(upTo: 3)).map { _ in randomKV() }))
            default:
                return .txn(TxnResponse(
                    revision: 0, succeeded: rng.next(upTo: 2) == 1,
                    responses: (0..<rng.next(upTo: 4)).map { _ in randomOp(depth: depth + 1) }))
            }
        }
        func check(_ message: Etcdserverpb_ResponseOp, _ op: ResponseOp) {
            switch (message.response, op) {
            case (.responseRange(let m)?, .range(let r)):
                #expect(m.header == ResponseHeaderContext.nested.header(revision: r.revision))
                #expect(m.kvs.count == r.kvs.count && m.more == r.more && m.count == r.count)
                for (a, b) in zip(m.kvs, r.kvs) { expectSame(a, b) }
            case (.responsePut(let m)?, .put(let r)):
                #expect(m.header.revision == r.revision && m.hasPrevKv == (r.prevKv != nil))
                if let prev = r.prevKv { expectSame(m.prevKv, prev) }
            case (.responseDeleteRange(let m)?, .deleteRange(let r)):
                #expect(m.header.revision == r.revision && m.deleted == r.deleted && m.prevKvs.count == r.prevKvs.count)
                for (a, b) in zip(m.prevKvs, r.prevKvs) { expectSame(a, b) }
            case (.responseTxn(let m)?, .txn(let r)):
                #expect(m.header == Etcdserverpb_ResponseHeader() && m.hasHeader)
                #expect(m.succeeded == r.succeeded && m.responses.count == r.responses.count)
                for (a, b) in zip(m.responses, r.responses) { check(a, b) }
            default:
                Issue.record("response op \(op) mapped to \(String(describing: message.response))")
            }
        }
        for _ in 0..<200 {
            let response = TxnResponse(
                revision: Int64(rng.next(upTo: 1 << 40)), succeeded: rng.next(upTo: 2) == 1,
                responses: (0..<rng.next(upTo: 6)).map { _ in randomOp(depth: 0) })
            let wire: [UInt8] = try Etcdserverpb_TxnResponse(response, context: context).serializedBytes()
            let message = try Etcdserverpb_TxnResponse(serializedBytes: wire)
            expectTopHeader(message.header, revision: response.revision)
            #expect(message.succeeded == response.succeeded)
            #expect(message.responses.count == response.responses.count)
            for (m, op) in zip(message.responses, response.responses) { check(m, op) }
        }
    }
}

/// A small seeded generator, so a failure replays.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func next(upTo bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
