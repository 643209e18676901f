/// A map from byte-string keys to values in key order: a list of sorted
/// chunks of at most `chunkCapacity` entries (a two-level B-tree, in the
/// manner of Python's sortedcontainers). Lookups are two binary searches;
/// an insert moves at most one chunk's entries plus, on a split, the chunk
/// list, so it stays cheap at a million keys where one sorted array would
/// move megabytes per insert. Plain arrays give it value semantics.
struct OrderedKeyIndex<Value: Sendable>: Sendable {
    struct Entry: Sendable {
        var key: [UInt8]
        var value: Value
    }

    static var chunkCapacity: Int { 512 }

    private var chunks: [[Entry]] = []
    private(set) var count = 0

    /// Where `key` is or would be inserted.
    private struct Position {
        var chunk: Int
        var offset: Int
        var found: Bool
    }

    private func position(of key: [UInt8]) -> Position {
        // The first chunk whose last key is >= key holds it; past the end, the last chunk.
        var low = 0
        var high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if compareBytes(chunks[middle][chunks[middle].count - 1].key, key) < 0 {
                low = middle + 1
            } else {
                high = middle
            }
        }
        if low == chunks.count {
            return Position(chunk: max(0, chunks.count - 1), offset: chunks.last?.count ?? 0, found: false)
        }
        let (offset, found) = Self.search(chunks[low], for: key)
        return Position(chunk: low, offset: offset, found: found)
    }

    private static func search(_ entries: [Entry], for key: [UInt8]) -> (Int, Bool) {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            let order = compareBytes(entries[middle].key, key)
            if order == 0 { return (middle, true) }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return (low, false)
    }

    subscript(key: [UInt8]) -> Value? {
        let at = position(of: key)
        return at.found ? chunks[at.chunk][at.offset].value : nil
    }

    /// Runs `body` on the value for `key`, inserting `makeValue()` first when the
    /// key is missing; removes the entry when `body` leaves it `nil`.
    mutating func update<Result>(
        _ key: [UInt8], inserting makeValue: () -> Value, _ body: (inout Value) -> Result
    ) -> Result {
        let at = position(of: key)
        if at.found {
            return body(&chunks[at.chunk][at.offset].value)
        }
        var value = makeValue()
        let result = body(&value)
        insert(Entry(key: key, value: value), at: at)
        return result
    }

    /// Runs `body` on the value for an existing key; removes the entry when it returns false.
    mutating func modify(_ key: [UInt8], _ body: (inout Value) -> Bool) {
        let at = position(of: key)
        guard at.found else { return }
        if !body(&chunks[at.chunk][at.offset].value) {
            remove(at: at)
        }
    }

    private mutating func insert(_ entry: Entry, at position: Position) {
        count += 1
        if chunks.isEmpty {
            chunks.append([entry])
            return
        }
        chunks[position.chunk].insert(entry, at: position.offset)
        if chunks[position.chunk].count > Self.chunkCapacity {
            let half = chunks[position.chunk].count / 2
            let upper = Array(chunks[position.chunk][half...])
            chunks[position.chunk].removeSubrange(half...)
            chunks.insert(upper, at: position.chunk + 1)
        }
    }

    private mutating func remove(at position: Position) {
        count -= 1
        chunks[position.chunk].remove(at: position.offset)
        if chunks[position.chunk].isEmpty {
            chunks.remove(at: position.chunk)
        }
    }

    /// Visits the entries in `range` in key order until `body` returns false.
    func forEach(in range: KeyRange, _ body: (Entry) throws -> Bool) rethrows {
        if case .single(let key) = range {
            let at = position(of: key)
            if at.found { _ = try body(chunks[at.chunk][at.offset]) }
            return
        }
        let start = position(of: range.lowerBound)
        var chunk = start.chunk
        var offset = start.offset
        while chunk < chunks.count {
            let entries = chunks[chunk]
            while offset < entries.count {
                let entry = entries[offset]
                if case .between(_, let end) = range, compareBytes(entry.key, end) >= 0 { return }
                if try !body(entry) { return }
                offset += 1
            }
            chunk += 1
            offset = 0
        }
    }

    /// Rewrites every value in key order, dropping those `transform` turns into nil,
    /// and repacks the chunks (after a compaction has emptied many of them).
    mutating func compactMap(_ transform: (Entry) -> Value?) {
        var packed: [[Entry]] = []
        var current: [Entry] = []
        current.reserveCapacity(Self.chunkCapacity)
        count = 0
        for chunk in chunks {
            for entry in chunk {
                guard let value = transform(entry) else { continue }
                current.append(Entry(key: entry.key, value: value))
                count += 1
                if current.count == Self.chunkCapacity / 2 {
                    packed.append(current)
                    current.removeAll(keepingCapacity: true)
                }
            }
        }
        if !current.isEmpty { packed.append(current) }
        chunks = packed
    }
}
