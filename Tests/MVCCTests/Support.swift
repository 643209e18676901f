@testable import MVCC

/// Byte keys and values from string literals, to keep the tests readable.
func b(_ text: String) -> [UInt8] { Array(text.utf8) }

extension Store {
    @discardableResult
    mutating func put(_ key: String, _ value: String, lease: Int64 = 0) throws -> PutResponse {
        try put(PutRequest(key: b(key), value: b(value), lease: lease)).response
    }

    @discardableResult
    mutating func delete(_ key: String, rangeEnd: String = "") throws -> DeleteRangeResponse {
        try deleteRange(DeleteRangeRequest(key: b(key), rangeEnd: b(rangeEnd))).response
    }

    func get(_ key: String, revision: Int64 = 0) throws -> KeyValue? {
        try range(RangeRequest(key: b(key), revision: revision)).kvs.first
    }

    func keys(_ request: RangeRequest) throws -> [String] {
        try range(request).kvs.map { String(decoding: $0.key, as: UTF8.self) }
    }
}

/// A small deterministic generator (SplitMix64) for the randomized tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
