@testable import CloudConfig
import Foundation
import Testing

/// `--dry-run`'s diffs against GNU diff and patch themselves.
struct UnifiedDiffTests {
    static let path = "/etc/example.conf"

    /// GNU `diff -u` (with `extra` options) of the two contents, its header
    /// lines without timestamps and with our names.
    static func gnuDiff(_ old: [UInt8]?, _ new: [UInt8], _ extra: [String] = []) throws -> String {
        let directory = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let oldFile = directory.appendingPathComponent("old"), newFile = directory.appendingPathComponent("new")
        if let old { try Data(old).write(to: oldFile) }
        try Data(new).write(to: newFile)
        let (output, status) = try ExternalTool.run("/usr/bin/diff", ["-u"] + extra + [old == nil ? "/dev/null" : oldFile.path, newFile.path])
        #expect(status == (output.isEmpty ? 0 : 1))
        var lines = String(decoding: output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.count >= 2 {
            lines[0] = "--- " + (old == nil ? "/dev/null" : path)
            lines[1] = "+++ " + path
        }
        return lines.joined(separator: "\n")
    }

    /// What `patch` makes of `old` with our diff.
    static func patched(_ old: [UInt8], _ diff: String) throws -> [UInt8] {
        let directory = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let oldFile = directory.appendingPathComponent("old"), diffFile = directory.appendingPathComponent("diff")
        let outFile = directory.appendingPathComponent("out")
        try Data(old).write(to: oldFile)
        try Data(diff.utf8).write(to: diffFile)
        let (_, status) = try ExternalTool.run("/usr/bin/patch", ["--quiet", "-o", outFile.path, oldFile.path, diffFile.path])
        #expect(status == 0)
        return [UInt8](try Data(contentsOf: outFile))
    }

    static func render(_ old: String?, _ new: String) -> String {
        UnifiedDiff.render(old: old.map { Array($0.utf8) }, new: Array(new.utf8), path: path)
    }

    static let config = (1...30).map { "key\($0) = value\($0)\n" }.joined()

    /// Cases whose every hunk and line GNU diff prints the same.
    static let cases: [(String?, String)] = [
        ("a\nb\nc\n", "a\nB\nc\n"),
        (config, config.replacingOccurrences(of: "value15\n", with: "changed\n")),
        (config, "first\n" + config),
        (config, config + "last\n"),
        (config, config.replacingOccurrences(of: "key1 = value1\n", with: "")),
        // Changes 6 unchanged lines apart share a hunk; 7 apart do not.
        (config, config.replacingOccurrences(of: "value10\n", with: "x\n").replacingOccurrences(of: "value17\n", with: "y\n")),
        (config, config.replacingOccurrences(of: "value10\n", with: "x\n").replacingOccurrences(of: "value18\n", with: "y\n")),
        (nil, "#!/bin/sh\necho hi\n"),
        (nil, "no newline"),
        ("", "now\nsomething\n"),
        ("all\ngone\n", ""),
        ("a\nb", "a\nb\n"),
        ("a\nb\n", "a\nb"),
        ("a\nb", "a\nc"),
        ("x\na\nb", "y\na\nb"),
        // Runs of equal lines: where an inserted or deleted copy goes.
        ("[Unit]\n\n[Service]\nA=1\n\n[Install]\n", "[Unit]\n\n\n[Service]\nA=1\n\n[Install]\nW=x\n"),
        ("{\n}\n{\n}\n{\n}\n", "{\n}\n{\n}\n"),
        ("a\na\na\nb\n", "a\na\na\na\nb\n"),
        ("\n\n\n\n", "\n\n"),
    ]

    @Test(arguments: cases.indices)
    func matchesGNUDiff(index: Int) throws {
        let (old, new) = Self.cases[index]
        #expect(Self.render(old, new) == (try Self.gnuDiff(old.map { Array($0.utf8) }, Array(new.utf8))))
    }

    @Test func formsGNUDiffDoesNotHave() {
        #expect(Self.render("same\n", "same\n") == "")
        #expect(Self.render("", "") == "")
        #expect(Self.render(nil, "") == "--- /dev/null\n+++ /etc/example.conf\n")
        #expect(UnifiedDiff.render(old: [1, 0], new: [2], path: "/bin/x") == "Binary files /bin/x and /bin/x differ\n")
        #expect(UnifiedDiff.render(old: nil, new: [0], path: "/bin/x") == "Binary files /dev/null and /bin/x differ\n")
    }

    /// Distinct lines, some deleted and some new ones added: one alignment
    /// only, so GNU's text exactly.
    @Test func randomEditsOfDistinctLinesMatchGNUDiff() throws {
        var generator = SeededGenerator(seed: 42)
        for round in 0..<40 {
            let old = (0..<Int.random(in: 0...60, using: &generator)).map { "line \($0)\n" }
            var new = old
            for edit in 0..<Int.random(in: 0...8, using: &generator) {
                let position = Int.random(in: 0...new.count, using: &generator)
                if Bool.random(using: &generator), position < new.count { new.remove(at: position) } else { new.insert("new \(round).\(edit)\n", at: position) }
            }
            var newText = new.joined()
            if Bool.random(using: &generator), !newText.isEmpty { newText.removeLast() }
            let oldText = old.joined()
            #expect(Self.render(oldText, newText) == (try Self.gnuDiff(Array(oldText.utf8), Array(newText.utf8))), "round \(round)")
        }
    }

    /// Few distinct lines allow many shortest scripts, where GNU's choice
    /// may differ from ours: then the diff must apply with `patch` and be
    /// exactly as short as `diff --minimal`'s.
    @Test func randomEditsOfRepeatedLinesApplyAndAreMinimal() throws {
        var generator = SeededGenerator(seed: 7)
        func changedLines(_ diff: String) -> Int {
            diff.split(separator: "\n").count { ($0.hasPrefix("-") && !$0.hasPrefix("---")) || ($0.hasPrefix("+") && !$0.hasPrefix("+++")) }
        }
        for round in 0..<40 {
            let alphabet = ["{\n", "}\n", "\n", "x = 1\n"]
            let old = (0..<Int.random(in: 0...50, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            var new = old
            for _ in 0..<Int.random(in: 1...10, using: &generator) {
                let position = Int.random(in: 0...new.count, using: &generator)
                if Bool.random(using: &generator), position < new.count { new.remove(at: position) } else { new.insert(alphabet.randomElement(using: &generator)!, at: position) }
            }
            let oldBytes = Array(old.joined().utf8), newBytes = Array(new.joined().utf8)
            let ours = UnifiedDiff.render(old: oldBytes, new: newBytes, path: Self.path)
            if oldBytes == newBytes { #expect(ours.isEmpty); continue }
            #expect(try Self.patched(oldBytes, ours) == newBytes, "round \(round)")
            #expect(changedLines(ours) == changedLines(try Self.gnuDiff(oldBytes, newBytes, ["--minimal"])), "round \(round)")
        }
    }

    @Test func fiveThousandLines() throws {
        var generator = SeededGenerator(seed: 5000)
        let old = (0..<5000).map { "line \($0) \(Int.random(in: 0..<10, using: &generator))\n" }
        var new = old
        for edit in 0..<300 {
            let position = Int.random(in: 0..<new.count, using: &generator)
            if Bool.random(using: &generator) { new.remove(at: position) } else { new.insert("new \(edit)\n", at: position) }
        }
        let oldBytes = Array(old.joined().utf8), newBytes = Array(new.joined().utf8)
        #expect(UnifiedDiff.render(old: oldBytes, new: newBytes, path: Self.path) == (try Self.gnuDiff(oldBytes, newBytes)))
        let unrelated = Array((0..<5000).map { "other \($0)\n" }.joined().utf8)
        #expect(UnifiedDiff.render(old: oldBytes, new: unrelated, path: Self.path) == (try Self.gnuDiff(oldBytes, unrelated)))
    }
}

/// SplitMix64: the random cases are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
