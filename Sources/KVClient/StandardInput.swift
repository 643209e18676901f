import Glibc
import Synchronization

/// Standard input, read as etcdctl reads it: line by line (`txn`, as Go's
/// bufio `ReadString('\n')`), or all of it (`put`'s value).
final class StandardInput: Sendable {
    static let shared = StandardInput(descriptor: STDIN_FILENO)

    private struct State {
        var buffer: [UInt8] = []
        var atEnd = false
    }

    private let descriptor: Int32
    private let state = Mutex(State())

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// The next line with its newline; nil when the input ends before a
    /// newline (Go's io.EOF, which etcdctl treats as an error even after
    /// a partial line).
    func readLine() -> [UInt8]? {
        state.withLock { state in
            while true {
                if let newline = state.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(state.buffer[...newline])
                    state.buffer.removeSubrange(...newline)
                    return line
                }
                if state.atEnd || !fill(&state) { return nil }
            }
        }
    }

    /// Everything up to the end of the input.
    func readAll() -> [UInt8] {
        state.withLock { state in
            while fill(&state) {}
            defer { state.buffer = [] }
            return state.buffer
        }
    }

    /// Reads more; false at the end (or on an error, which ends it too).
    private func fill(_ state: inout State) -> Bool {
        guard !state.atEnd else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                state.atEnd = true
                return false
            }
            state.buffer += chunk[..<count]
            return true
        }
    }
}
