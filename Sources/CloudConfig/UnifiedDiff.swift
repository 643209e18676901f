/// `diff -u` output for a file change, which `cloud-init --dry-run` prints
/// for every file it would write. Hunks match GNU diff's: 3 lines of
/// context, changes closer than 7 unchanged lines in one hunk, a last line
/// without a newline differs from the same text with one and is marked.
public enum UnifiedDiff {
    static let context = 3

    /// Nothing when `old` and `new` are equal; for a file to be created
    /// (`old` nil) the old side is /dev/null, and an empty new file is just
    /// the two header lines (GNU diff would print nothing). Content with a
    /// NUL byte is binary and gets diff's one-line verdict.
    public static func render(old: [UInt8]?, new: [UInt8], path: String) -> String {
        if let old, old == new { return "" }
        let oldName = old == nil ? "/dev/null" : path
        if old?.contains(0) == true || new.contains(0) {
            return "Binary files \(oldName) and \(path) differ\n"
        }
        let oldLines = splitLines(old ?? [])
        let newLines = splitLines(new)
        var output = "--- \(oldName)\n+++ \(path)\n"
        let script = LineDiff(oldLines, newLines).script
        for hunk in hunks(script) {
            output += hunkHeader(script[hunk])
            for edit in script[hunk] {
                switch edit.kind {
                case .keep: output += line(" ", oldLines[edit.old])
                case .delete: output += line("-", oldLines[edit.old])
                case .insert: output += line("+", newLines[edit.new])
                }
            }
        }
        return output
    }

    /// Lines with their "\n", so that a last line without one differs from the same text with it.
    static func splitLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? bytes.count
            lines.append(bytes[start..<end])
            start = end
        }
        return lines
    }

    private static func line(_ prefix: String, _ bytes: ArraySlice<UInt8>) -> String {
        if bytes.last == 0x0A { return prefix + String(decoding: bytes, as: UTF8.self) }
        return prefix + String(decoding: bytes, as: UTF8.self) + "\n\\ No newline at end of file\n"
    }

    /// Ranges of the edit script to print: each change with up to `context`
    /// kept lines around it, merged when their context would touch.
    static func hunks(_ script: [Edit]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for index in script.indices where script[index].kind != .keep {
            let lower = max(0, index - context)
            let upper = min(script.count, index + 1 + context)
            if let last = ranges.last, lower <= last.upperBound {
                ranges[ranges.count - 1] = last.lowerBound..<upper
            } else {
                ranges.append(lower..<upper)
            }
        }
        return ranges
    }

    /// `@@ -start,count +start,count @@`, with GNU's forms for one line
    /// (no count) and for none (the number of the line before, then ",0").
    private static func hunkHeader(_ edits: ArraySlice<Edit>) -> String {
        let first = edits.first!
        let oldCount = edits.count { $0.kind != .insert }
        let newCount = edits.count { $0.kind != .delete }
        func range(_ start: Int, _ count: Int) -> String {
            switch count {
            case 0: "\(start),0"
            case 1: "\(start + 1)"
            default: "\(start + 1),\(count)"
            }
        }
        return "@@ -\(range(first.old, oldCount)) +\(range(first.new, newCount)) @@\n"
    }

    /// One step from the old lines to the new, at line `old` of the old
    /// text and `new` of the new (0-based; for an insertion, `old` is the
    /// number of old lines before it, and the other way round).
    struct Edit: Equatable {
        enum Kind { case keep, delete, insert }
        var kind: Kind
        var old: Int
        var new: Int
    }
}

/// A shortest edit script between two lists of lines: Myers' O((N+M)D)
/// algorithm in linear space (middle snakes, divide and conquer). Lines
/// with no equal on the other side are changed in every alignment, so
/// they are set aside first: two unrelated files cost O(N+M), not O(N*M).
struct LineDiff {
    private(set) var script: [UnifiedDiff.Edit] = []

    init(_ old: [ArraySlice<UInt8>], _ new: [ArraySlice<UInt8>]) {
        var numbers: [ArraySlice<UInt8>: Int] = [:]
        func number(_ line: ArraySlice<UInt8>) -> Int {
            if let known = numbers[line] { return known }
            numbers[line] = numbers.count
            return numbers.count - 1
        }
        let oldNumbers = old.map(number)
        let newNumbers = new.map(number)
        let inOld = Set(oldNumbers), inNew = Set(newNumbers)
        let oldShared = oldNumbers.indices.filter { inNew.contains(oldNumbers[$0]) }
        let newShared = newNumbers.indices.filter { inOld.contains(newNumbers[$0]) }

        var aligner = Aligner(old: oldShared.map { oldNumbers[$0] }, new: newShared.map { newNumbers[$0] })
        aligner.compare(0, oldShared.count, 0, newShared.count)

        var deleted = oldNumbers.map { !inNew.contains($0) }
        var inserted = newNumbers.map { !inOld.contains($0) }
        for (sharedIndex, index) in oldShared.enumerated() where aligner.deleted[sharedIndex] { deleted[index] = true }
        for (sharedIndex, index) in newShared.enumerated() where aligner.inserted[sharedIndex] { inserted[index] = true }
        Self.slideRuns(&deleted, lines: oldNumbers, otherChanged: inserted)
        Self.slideRuns(&inserted, lines: newNumbers, otherChanged: deleted)

        var oldIndex = 0, newIndex = 0
        while oldIndex < old.count || newIndex < new.count {
            if oldIndex < old.count, deleted[oldIndex] {
                script.append(.init(kind: .delete, old: oldIndex, new: newIndex))
                oldIndex += 1
            } else if newIndex < new.count, inserted[newIndex] {
                script.append(.init(kind: .insert, old: oldIndex, new: newIndex))
                newIndex += 1
            } else {
                script.append(.init(kind: .keep, old: oldIndex, new: newIndex))
                oldIndex += 1
                newIndex += 1
            }
        }
    }

    /// Moves each run of changed lines where GNU diff puts it, among the
    /// places an equal script allows: merged with neighbouring runs where
    /// sliding lets it, else as far down as it goes, unless a run of changes
    /// on the other side ends higher up, which it then lines up with. This
    /// is GNU's shift_boundaries, so that hunks read the same as `diff -u`.
    private static func slideRuns(_ changed: inout [Bool], lines: [Int], otherChanged other: [Bool]) {
        let end = changed.count
        func isChanged(_ index: Int) -> Bool { index >= 0 && index < end && changed[index] }
        func otherIsChanged(_ index: Int) -> Bool { index >= 0 && index < other.count && other[index] }
        // `index` walks this side, `otherIndex` the matching place on the other.
        var index = 0, otherIndex = 0
        while true {
            while index < end, !changed[index] {
                while otherIsChanged(otherIndex) { otherIndex += 1 }
                otherIndex += 1
                index += 1
            }
            if index == end { return }
            var start = index
            while isChanged(index) { index += 1 }
            while otherIsChanged(otherIndex) { otherIndex += 1 }

            var alignedEnd: Int
            var length: Int
            repeat {
                length = index - start
                while start > 0, lines[start - 1] == lines[index - 1] {
                    start -= 1
                    changed[start] = true
                    index -= 1
                    changed[index] = false
                    while isChanged(start - 1) { start -= 1 }
                    otherIndex -= 1
                    while otherIsChanged(otherIndex) { otherIndex -= 1 }
                }
                alignedEnd = otherIsChanged(otherIndex - 1) ? index : end
                while index < end, lines[start] == lines[index] {
                    changed[start] = false
                    start += 1
                    changed[index] = true
                    index += 1
                    while isChanged(index) { index += 1 }
                    otherIndex += 1
                    while otherIsChanged(otherIndex) {
                        alignedEnd = index
                        otherIndex += 1
                    }
                }
            } while length != index - start

            while alignedEnd < index {
                start -= 1
                changed[start] = true
                index -= 1
                changed[index] = false
                otherIndex -= 1
                while otherIsChanged(otherIndex) { otherIndex -= 1 }
            }
        }
    }

    /// Marks which old lines to delete and which new lines to insert.
    private struct Aligner {
        let a: [Int]
        let b: [Int]
        var deleted: [Bool]
        var inserted: [Bool]
        /// The furthest x reached on each diagonal k (at `offset + k`), forward
        /// from the start and backward from the end (x counted from the end).
        var forward: [Int]
        var backward: [Int]
        let offset: Int
        static let unreachable = -1

        init(old: [Int], new: [Int]) {
            a = old
            b = new
            deleted = Array(repeating: false, count: old.count)
            inserted = Array(repeating: false, count: new.count)
            offset = old.count + new.count + 1
            forward = Array(repeating: Self.unreachable, count: 2 * offset + 1)
            backward = forward
        }

        mutating func compare(_ aStart: Int, _ aEnd: Int, _ bStart: Int, _ bEnd: Int) {
            var aStart = aStart, aEnd = aEnd, bStart = bStart, bEnd = bEnd
            while aStart < aEnd, bStart < bEnd, a[aStart] == b[bStart] { aStart += 1; bStart += 1 }
            while aStart < aEnd, bStart < bEnd, a[aEnd - 1] == b[bEnd - 1] { aEnd -= 1; bEnd -= 1 }
            if aStart == aEnd {
                for index in bStart..<bEnd { inserted[index] = true }
                return
            }
            if bStart == bEnd {
                for index in aStart..<aEnd { deleted[index] = true }
                return
            }
            // Both sides are left after the common ends: at least two edits, so
            // each half of the path has at least one, fewer than the whole.
            let snake = middleSnake(aStart, aEnd, bStart, bEnd)
            compare(aStart, snake.aStart, bStart, snake.bStart)
            compare(snake.aEnd, aEnd, snake.bEnd, bEnd)
        }

        /// The furthest point on diagonal `k` after one more edit than the
        /// step before, in an n-by-m grid, or nil when it lies outside.
        private func nextStart(_ reached: [Int], _ k: Int, _ step: Int, _ n: Int, _ m: Int) -> Int? {
            if step == 0 { return 0 }
            let down = k + 1 <= step - 1 ? reached[offset + k + 1] : Self.unreachable
            let right = k - 1 >= -(step - 1) && reached[offset + k - 1] >= 0 ? reached[offset + k - 1] + 1 : Self.unreachable
            let downFits = down >= 0 && down - k <= m
            let rightFits = right >= 0 && right <= n
            if downFits, !rightFits || down >= right { return down }
            return rightFits ? right : nil
        }

        /// A snake on a shortest path through the box, found where the paths
        /// from both of its corners meet.
        private mutating func middleSnake(_ aStart: Int, _ aEnd: Int, _ bStart: Int, _ bEnd: Int) -> (aStart: Int, bStart: Int, aEnd: Int, bEnd: Int) {
            let n = aEnd - aStart, m = bEnd - bStart
            let delta = n - m
            let deltaIsOdd = delta & 1 != 0
            for step in 0...((n + m + 1) / 2) {
                for k in stride(from: -step, through: step, by: 2) {
                    guard var x = nextStart(forward, k, step, n, m) else {
                        forward[offset + k] = Self.unreachable
                        continue
                    }
                    let xStart = x
                    while x < n, x - k < m, a[aStart + x] == b[bStart + x - k] { x += 1 }
                    forward[offset + k] = x
                    let reverseK = delta - k
                    if deltaIsOdd, abs(reverseK) <= step - 1, backward[offset + reverseK] >= 0, x + backward[offset + reverseK] >= n {
                        return (aStart + xStart, bStart + xStart - k, aStart + x, bStart + x - k)
                    }
                }
                for k in stride(from: -step, through: step, by: 2) {
                    guard var x = nextStart(backward, k, step, n, m) else {
                        backward[offset + k] = Self.unreachable
                        continue
                    }
                    let xStart = x
                    while x < n, x - k < m, a[aEnd - 1 - x] == b[bEnd - 1 - (x - k)] { x += 1 }
                    backward[offset + k] = x
                    let forwardK = delta - k
                    if !deltaIsOdd, abs(forwardK) <= step, forward[offset + forwardK] >= 0, x + forward[offset + forwardK] >= n {
                        return (aEnd - x, bEnd - (x - k), aEnd - xStart, bEnd - (xStart - k))
                    }
                }
            }
            preconditionFailure("the forward and backward paths always meet")
        }
    }
}
