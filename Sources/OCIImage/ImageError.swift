import CoreboxCore

/// Why an image could not be read or unpacked. The message names what was
/// being read (the blob's digest, the layer and the entry) so that a user
/// can find the broken piece: `layer sha256:ab12…: entry "../etc/passwd":
/// path escapes the root`.
public struct ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// The same error, placed inside `context` ("layer sha256:…").
    func within(_ context: String) -> ImageError { ImageError("\(context): \(message)") }

    init(_ error: SystemError) { self.init(error.description) }
}
