#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: what was attempted, on which path, and the errno.
///
/// Its description is the one-line message users see, e.g.
/// `open('/var/lib/kvd/wal/0001.wal'): No space left on device (errno 28)`.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let errno: Int32
    public let operation: String
    public let path: String?

    public init(errno: Int32, operation: String, path: String? = nil) {
        self.errno = errno
        self.operation = operation
        self.path = path
    }

    public var reason: String { String(cString: strerror(errno)) }

    public var description: String {
        let subject = path.map { "\(operation)('\($0)')" } ?? operation
        return "\(subject): \(reason) (errno \(errno))"
    }
}
