import Testing
@testable import MVCC

@Suite struct TxnTests {
    func put(_ key: String, _ value: String = "v") -> RequestOp { .put(PutRequest(key: b(key), value: b(value))) }
    func get(_ key: String, rangeEnd: String = "") -> RequestOp { .range(RangeRequest(key: b(key), rangeEnd: b(rangeEnd))) }
    func delete(_ key: String, rangeEnd: [UInt8] = []) -> RequestOp { .deleteRange(DeleteRangeRequest(key: b(key), rangeEnd: rangeEnd)) }

    @Test func missingKeysCompareAsZeroExceptValue() throws {
        let store = Store()
        #expect(store.holds(Compare(key: b("nope"), target: .version(0), result: .equal)))
        #expect(store.holds(Compare(key: b("nope"), target: .createRevision(0), result: .equal)))
        #expect(store.holds(Compare(key: b("nope"), target: .modRevision(0), result: .equal)))
        #expect(store.holds(Compare(key: b("nope"), target: .lease(0), result: .equal)))
        #expect(store.holds(Compare(key: b("nope"), target: .version(1), result: .less)))
        #expect(!store.holds(Compare(key: b("nope"), target: .value([]), result: .equal)))
        #expect(!store.holds(Compare(key: b("nope"), target: .value(b("x")), result: .notEqual)))
    }

    @Test func everyKeyInACompareRangeMustHold() throws {
        var store = Store()
        try store.put("a", "1")
        try store.put("b", "2")
        try store.put("c", "3")
        #expect(store.holds(Compare(key: b("a"), rangeEnd: b("c"), target: .value(b("3")), result: .less)))
        #expect(!store.holds(Compare(key: b("a"), rangeEnd: [0], target: .value(b("3")), result: .less)))
        #expect(store.holds(Compare(key: b("a"), rangeEnd: [0], target: .modRevision(1), result: .greater)))
        #expect(store.holds(Compare(key: b("x"), rangeEnd: b("z"), target: .version(0), result: .equal)))
    }

    @Test func successAndFailureBranches() throws {
        var store = Store()
        try store.put("k", "1")
        let request = TxnRequest(
            compare: [Compare(key: b("k"), target: .value(b("1")), result: .equal)],
            success: [put("k", "2"), put("other")], failure: [get("k")])
        let first = try store.txn(request)
        #expect(first.response.succeeded && first.response.revision == 3)
        #expect(first.events.map(\.kv.modRevision) == [3, 3])
        #expect(store.currentRevision == 3)
        let second = try store.txn(request)
        #expect(!second.response.succeeded && second.response.revision == 3 && second.events.isEmpty)
        guard case .range(let range) = second.response.responses[0] else { Issue.record(); return }
        #expect(range.kvs.map(\.value) == [b("2")])
    }

    @Test func readsInsideATxnSeeItsEarlierWrites() throws {
        var store = Store()
        try store.put("a", "old")  // 2
        try store.put("b", "doomed")  // 3
        let result = try store.txn(TxnRequest(success: [get("a"), delete("zz"), put("a", "new"), get("a"), delete("b"), get("b")]))
        #expect(result.response.responses == [
            .range(RangeResponse(revision: 3, kvs: [try store.get("a", revision: 3)!], more: false, count: 1)),
            .deleteRange(DeleteRangeResponse(revision: 3, deleted: 0, prevKvs: [])),
            .put(PutResponse(revision: 4)),
            .range(RangeResponse(revision: 4, kvs: [KeyValue(key: b("a"), createRevision: 2, modRevision: 4, version: 2, value: b("new"))], more: false, count: 1)),
            .deleteRange(DeleteRangeResponse(revision: 4, deleted: 1, prevKvs: [])),
            .range(RangeResponse(revision: 4, kvs: [], more: false, count: 0)),
        ])
        #expect(result.events.map(\.kind) == [.put, .delete])
        #expect(result.events.map(\.kv.modRevision) == [4, 4])
        #expect(store.currentRevision == 4)
    }

    @Test func nestedComparesSeeTheStateBeforeTheTxn() throws {
        var store = Store()
        try store.put("flag", "off")
        let nested = TxnRequest(
            compare: [Compare(key: b("flag"), target: .value(b("off")), result: .equal)],
            success: [put("saw-off")], failure: [put("saw-on")])
        let result = try store.txn(TxnRequest(success: [put("flag", "on"), .txn(nested)]))
        #expect(try store.get("saw-off") != nil && store.get("saw-on") == nil)
        guard case .txn(let inner) = result.response.responses[1] else { Issue.record(); return }
        #expect(inner == TxnResponse(revision: 0, succeeded: true, responses: [.put(PutResponse(revision: 3))]))
        #expect(result.response.revision == 3)
    }

    @Test func readOnlyTxnMakesNoRevision() throws {
        var store = Store()
        try store.put("a", "1")
        let result = try store.txn(TxnRequest(success: [get("a")]))
        #expect(result.response.revision == 2 && result.events.isEmpty && store.currentRevision == 2)
    }

    @Test func operationLimit() throws {
        var store = Store()
        let many = (0..<129).map { put("k\($0)") }
        #expect(throws: MVCCError.tooManyOperations) { try store.txn(TxnRequest(success: many)) }
        #expect(throws: MVCCError.tooManyOperations) { try store.txn(TxnRequest(failure: many)) }
        let compares = (0..<129).map { _ in Compare(key: b("k"), target: .version(0), result: .equal) }
        #expect(throws: MVCCError.tooManyOperations) { try store.txn(TxnRequest(compare: compares)) }
        #expect(try store.txn(TxnRequest(success: Array(many.dropLast()))).events.count == 128)
        // A nested txn gets the budget its parent leaves: 128 - 100.
        let nested = TxnRequest(success: (0..<29).map { get("n\($0)") })
        let outer = (0..<99).map { get("o\($0)") } + [RequestOp.txn(nested)]
        #expect(throws: MVCCError.tooManyOperations) { try store.txn(TxnRequest(success: outer)) }
        #expect(throws: MVCCError.emptyKey) { try store.txn(TxnRequest(compare: [Compare(key: [], target: .version(0), result: .equal)])) }
        #expect(throws: MVCCError.emptyKey) { try store.txn(TxnRequest(failure: [put("")])) }
        #expect(MVCCError.tooManyOperations.message == "etcdserver: too many operations in txn request")
    }

    @Test(arguments: [
        ["put a", "put a"],
        ["put a", "del a"],
        ["del a..c", "put b"],
        ["put b", "txn(put b | )"],
        ["txn(put b | )", "put b"],
        ["del b", "txn(put b | )"],
        ["txn(del b | )", "put b"],
        ["txn(put b | put c)", "txn( | put b)"],
        ["txn(txn(put x | ) | )", "put x"],
    ])
    func duplicateKeys(ops: [String]) throws {
        var store = Store()
        #expect(throws: MVCCError.duplicateKey) { try store.txn(TxnRequest(success: ops.map(parse))) }
        #expect(throws: MVCCError.duplicateKey) { try store.txn(TxnRequest(failure: ops.map(parse))) }
        #expect(MVCCError.duplicateKey.message == "etcdserver: duplicate key given in txn request")
    }

    @Test(arguments: [
        ["put a", "put b", "del c", "del c"],
        ["txn(put a | put a)"],
        ["del a..c", "put c"],
        ["del a.. ", "put b"],  // etcd 3.4 treats a from-key delete as the empty interval [a, "\0")
        ["txn(put b | )", "txn(del b | )"],  // a later nested delete is not checked against earlier puts
    ])
    func allowedCombinations(ops: [String]) throws {
        var store = Store()
        _ = try store.txn(TxnRequest(success: ops.map(parse)))
    }

    /// "put k", "del a..c" ([a, c)), "del a.. " (from a), "txn(then ops | else ops)".
    func parse(_ text: String) -> RequestOp {
        if text.hasPrefix("txn(") {
            let body = text.dropFirst(4).dropLast()
            let nestedDepth = body.hasPrefix("txn(")
            let split = nestedDepth ? body.lastIndex(of: "|")! : body.firstIndex(of: "|")!
            let branch = { (part: Substring) -> [RequestOp] in
                let trimmed = part.trimmingPrefix(" ")
                let cleaned = trimmed.hasSuffix(" ") ? trimmed.dropLast() : trimmed
                return cleaned.isEmpty ? [] : [self.parse(String(cleaned))]
            }
            return .txn(TxnRequest(success: branch(body[..<split]), failure: branch(body[body.index(after: split)...])))
        }
        let words = text.split(separator: " ")
        if words[0] == "put" { return put(String(words[1])) }
        let bounds = text.dropFirst(4).split(separator: ".", omittingEmptySubsequences: true)
        if text.hasSuffix(".. ") { return delete(String(bounds[0]), rangeEnd: [0]) }
        return bounds.count == 2 ? delete(String(bounds[0]), rangeEnd: b(String(bounds[1]))) : delete(String(bounds[0]))
    }

    @Test func checksRunBeforeAnyWrite() throws {
        var store = Store()
        try store.put("a", "1")
        #expect(throws: MVCCError.leaseNotFound) {
            try store.txn(TxnRequest(success: [put("b"), .put(PutRequest(key: b("c"), lease: 99))]))
        }
        #expect(throws: MVCCError.keyNotFound) {
            try store.txn(TxnRequest(success: [put("b"), .put(PutRequest(key: b("c"), ignoreValue: true))]))
        }
        #expect(throws: MVCCError.futureRevision) {
            try store.txn(TxnRequest(success: [put("b"), .range(RangeRequest(key: b("a"), revision: 3))]))
        }
        // Puts are checked before ranges, whatever their order.
        #expect(throws: MVCCError.leaseNotFound) {
            try store.txn(TxnRequest(success: [.range(RangeRequest(key: b("a"), revision: 9)), .put(PutRequest(key: b("c"), lease: 99))]))
        }
        // Only the chosen branch is checked.
        _ = try store.txn(TxnRequest(success: [put("b")], failure: [.put(PutRequest(key: b("c"), lease: 99))]))
        #expect(store.currentRevision == 3)
        #expect(try store.get("c") == nil)
    }
}
