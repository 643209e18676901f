import CoreboxSystem
import Glibc
import Testing

@Suite struct EnvironmentTests {
    /// Builds a NULL-terminated array of C strings like `environ` for `body`.
    static func withEntries<T>(_ entries: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
        let pointers = entries.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    @Test func entriesSplitAtTheFirstEquals() {
        let variables = Self.withEntries([
            "PATH=/usr/bin:/bin", "OPTIONS=a=b=c", "EMPTY=", "NO_EQUALS", "GREETING=grüße", "=nameless", "PATH=/sbin",
        ]) { ProcessEnvironment.variables($0) }
        #expect(variables == [
            "PATH": "/sbin", "OPTIONS": "a=b=c", "EMPTY": "", "GREETING": "grüße", "": "nameless",
        ])
    }

    @Test func theProcessEnvironmentAgreesWithGetenv() {
        let variables = ProcessEnvironment.current()
        #expect(variables["PATH"] == getenv("PATH").map { String(cString: $0) })
        #expect(!variables.isEmpty)
    }
}
