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
}
