import CoreboxCore
import Testing

@Suite struct StringHelpersTests {
    @Test func joinedByIsJoinedWithSeparator() {
        for parts in [[], [""], ["a"], ["a", "b", "c"], ["", "x", ""], ["cpu", "cpuacct"]] as [[String]] {
            for separator in ["", ",", " / "] {
                #expect(parts.joined(by: separator) == parts.joined(separator: separator))
            }
        }
    }

    @Test func trimmingWhiteSpaceAsGo() {
        #expect(" \t a b \n\u{00A0}".trimmingWhiteSpace == "a b")
        #expect("".trimmingWhiteSpace == "")
    }

    @Test func splitByByteIsSplitBySeparator() {
        for text in ["", "/", "a", "//a//b/", "/sys/fs/cgroup/cpu,cpuacct", "grüße/ünïcode/e\u{301}/x", "a\tb\t\tc"] {
            for separator in ["/", "\t", ","] as [Character] {
                let byte = separator.asciiValue!
                #expect(text.split(byte: byte) == text.split(separator: separator).map(String.init), "\(text)")
                #expect(text.split(byte: byte, omittingEmpty: false)
                        == text.split(separator: separator, omittingEmptySubsequences: false).map(String.init), "\(text)")
            }
        }
    }

    @Test func afterPrefixComparesTheBytes() {
        #expect("start-time 42".after(prefix: "start-time ") == "42")
        #expect("start-time ".after(prefix: "start-time ") == "")
        #expect("start".after(prefix: "start-time ") == nil)
        #expect("grüße welt".after(prefix: "grüße ") == "welt")
        #expect("x".after(prefix: "") == "x")
    }
}
