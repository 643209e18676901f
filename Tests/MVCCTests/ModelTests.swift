import Testing
@testable import MVCC

/// The reference: the whole key space at every revision, as plain dictionaries.
private struct ReferenceModel {
    var states: [[String: KeyValue]] = [[:], [:]]  // index = revision; revision 0 unused
    var compacted: Int64 = -1

    var current: Int64 { Int64(states.count - 1) }

    /// One revision applying `puts` and deleting `deletes` (disjoint), or none if nothing changes.
    mutating func write(puts: [(String, String)], deletes: [String]) {
        var state = states[Int(current)]
        let revision = current + 1
        let doomed = deletes.filter { state[$0] != nil }
        if puts.isEmpty && doomed.isEmpty { return }
        for (key, value) in puts {
            let previous = state[key]
            state[key] = KeyValue(
                key: b(key), createRevision: previous?.createRevision ?? revision, modRevision: revision,
                version: (previous?.version ?? 0) + 1, value: b(value))
        }
        for key in doomed { state[key] = nil }
        states.append(state)
    }

    /// The changes at each revision from `start`, keys in order within a revision.
    func events(from start: Int64) -> [Event] {
        var events: [Event] = []
        for revision in stride(from: max(start, 2), through: current, by: 1) {
            let before = states[Int(revision) - 1]
            let after = states[Int(revision)]
            for key in Set(before.keys).union(after.keys).sorted() where before[key] != after[key] {
                let prev = revision - 1 >= compacted ? before[key] : nil
                if let kv = after[key] {
                    events.append(Event(kind: .put, kv: kv, prevKv: prev))
                } else {
                    events.append(Event(kind: .delete, kv: KeyValue(key: b(key), modRevision: revision), prevKv: prev))
                }
            }
        }
        return events
    }
}

@Suite struct ModelTests {
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomOperationsMatchTheReference(seed: UInt64) throws {
        var random = SeededGenerator(state: seed)
        var store = Store()
        var model = ReferenceModel()
        let keys = (0..<12).map { "k" + String($0 + 10) }
        for step in 0..<400 {
            let key = keys.randomElement(using: &random)!
            let value = "v\(step)"
            switch Int.random(in: 0..<20, using: &random) {
            case 0..<11:
                try store.put(key, value)
                model.write(puts: [(key, value)], deletes: [])
            case 11..<14:
                try store.delete(key)
                model.write(puts: [], deletes: [key])
            case 14..<16:
                let end = keys.randomElement(using: &random)!
                try store.delete(key, rangeEnd: end)
                model.write(puts: [], deletes: keys.filter { $0 >= key && $0 < end })
            case 16..<19:
                // Put two keys if `key` is at an expected version, else delete one.
                let version = Int64.random(in: 0...2, using: &random)
                let pair = Array(Set([key, keys.randomElement(using: &random)!])).sorted()
                let other = keys.randomElement(using: &random)!
                let txn = TxnRequest(
                    compare: [Compare(key: b(key), target: .version(version), result: .equal)],
                    success: pair.map { .put(PutRequest(key: b($0), value: b(value))) },
                    failure: [.deleteRange(DeleteRangeRequest(key: b(other)))])
                let result = try store.txn(txn)
                let holds = (model.states[Int(model.current)][key]?.version ?? 0) == version
                #expect(result.response.succeeded == holds)
                if holds {
                    model.write(puts: pair.map { ($0, value) }, deletes: [])
                } else {
                    model.write(puts: [], deletes: [other])
                }
            default:
                guard store.current > max(model.compacted, 1) else { continue }
                let revision = Int64.random(in: max(model.compacted + 1, 1)...model.current, using: &random)
                _ = try store.compact(revision)
                model.compacted = revision
            }
            #expect(store.currentRevision == model.current)
            try compareReads(store, model, using: &random)
        }
    }

    private func compareReads(_ store: Store, _ model: ReferenceModel, using random: inout SeededGenerator) throws {
        let revision = Int64.random(in: max(model.compacted, 1)...model.current, using: &random)
        let expected = model.states[Int(revision)].sorted { $0.key < $1.key }.map(\.value)
        let all = try store.range(RangeRequest(key: [0], rangeEnd: [0], revision: revision))
        #expect(all.kvs == expected)
        #expect(all.count == Int64(expected.count))
        let limit = Int64.random(in: 1...4, using: &random)
        let limited = try store.range(RangeRequest(key: b("k14"), rangeEnd: b("k19"), limit: limit, revision: revision))
        let inRange = expected.filter { compareBytes($0.key, b("k14")) >= 0 && compareBytes($0.key, b("k19")) < 0 }
        #expect(limited.kvs == Array(inRange.prefix(Int(limit))))
        #expect(limited.more == (inRange.count > limit) && limited.count == Int64(inRange.count))
        let start = Int64.random(in: (model.compacted + 1)...(model.current + 1), using: &random)
        #expect(try store.events(in: .from([0]), from: start) == model.events(from: start))
        if model.compacted > 1 {
            #expect(throws: MVCCError.compacted) { try store.range(RangeRequest(key: b("k10"), revision: model.compacted - 1)) }
        }
    }
}

private extension Store {
    var current: Int64 { currentRevision }
}
