import CoreboxSystem
import Glibc

/// Where an image comes from, as written on a command line (skopeo's
/// transport names): `oci:DIR[:REF]`, `docker-archive:FILE[:TAG]`,
/// `docker://[HOST[:PORT]/]REPO[:TAG|@sha256:HEX]`, or a bare path (a
/// directory is read as an OCI layout, a file as a docker archive).
public enum ImageReference: Equatable, Sendable {
    case layout(path: String, reference: String?)
    case dockerArchive(path: String, tag: String?)
    case registry(RegistryReference)
    /// A path whose kind is decided when it is opened.
    case path(String)

    public init(parsing text: String) throws(ImageError) {
        func pathAndName(_ rest: Substring, _ transport: String) throws(ImageError) -> (String, String?) {
            let parts = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard !parts[0].isEmpty else { throw ImageError("image \"\(text)\": \(transport): needs a path") }
            let name = parts.count > 1 ? String(parts[1]) : nil
            if name?.isEmpty == true { throw ImageError("image \"\(text)\": empty name after the path") }
            return (String(parts[0]), name)
        }
        if text.hasPrefix("oci:") {
            let (path, name) = try pathAndName(text.dropFirst(4), "oci")
            self = .layout(path: path, reference: name)
        } else if text.hasPrefix("docker-archive:") {
            let (path, name) = try pathAndName(text.dropFirst(15), "docker-archive")
            self = .dockerArchive(path: path, tag: name)
        } else if text.hasPrefix("docker://") {
            self = .registry(try RegistryReference(parsing: String(text.dropFirst(9))))
        } else if text.isEmpty {
            throw ImageError("image: empty reference")
        } else {
            self = .path(text)
        }
    }

    /// Whether a `run` operand names an image rather than a container: a
    /// container ID never holds '/' or ':', every image form does.
    public static func looksLikeImage(_ operand: String) -> Bool {
        operand.contains("/") || operand.contains(":")
    }
}

/// An image in a registry: `HOST[:PORT]/REPO` with a tag or a digest.
/// Names without a host are Docker Hub's (`busybox` is
/// `docker.io/library/busybox:latest`), as Docker normalises them.
public struct RegistryReference: Equatable, Sendable, CustomStringConvertible {
    /// The registry as named (`docker.io`, `127.0.0.1:5000`).
    public var host: String
    public var repository: String
    public var tag: String?
    public var digest: Digest?

    public init(host: String, repository: String, tag: String? = nil, digest: Digest? = nil) {
        self.host = host
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    public init(parsing text: String) throws(ImageError) {
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        // A tag's colon comes after the last slash; a port's before it.
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let tag = String(rest[rest.index(after: colon)...])
            guard Self.isTag(tag) else { throw ImageError("image \"\(text)\": invalid tag \"\(tag)\"") }
            self.tag = tag
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let first = components[0]
        if components.count > 1 && (first.contains(".") || first.contains(":") || first == "localhost") {
            host = first
            components.removeFirst()
        } else {
            host = "docker.io"
            if components.count == 1 { components.insert("library", at: 0) }
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:[]".contains($0)) }) else {
            throw ImageError("image \"\(text)\": invalid registry host \"\(host)\"")
        }
        for component in components where !Self.isPathComponent(component) {
            throw ImageError("image \"\(text)\": invalid repository name component \"\(component)\" (lower-case letters, digits and . _ - between them)")
        }
        repository = components.joined(separator: "/")
        if tag == nil && digest == nil { tag = "latest" }
    }

    /// The host to connect to: Docker Hub's API lives on another name than its images.
    public var apiHost: String { host == "docker.io" ? "registry-1.docker.io" : host }

    /// The manifest to ask for: the digest when there is one, else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// `HOST/REPO:TAG` or `HOST/REPO@DIGEST`: the name the local store files it under.
    public var description: String {
        "\(host)/\(repository)" + (digest.map { "@\($0)" } ?? ":\(tag ?? "latest")")
    }

    /// The distribution spec's `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
    static func isPathComponent(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func alphanumeric(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
        guard let first = bytes.first, let last = bytes.last, alphanumeric(first), alphanumeric(last) else { return false }
        var index = 0
        while index < bytes.count {
            if alphanumeric(bytes[index]) { index += 1; continue }
            var separator = [bytes[index]]
            index += 1
            while index < bytes.count && !alphanumeric(bytes[index]) { separator.append(bytes[index]); index += 1 }
            let text = String(decoding: separator, as: UTF8.self)
            guard text == "." || text == "_" || text == "__" || text.allSatisfy({ $0 == "-" }) else { return false }
        }
        return true
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    static func isTag(_ text: String) -> Bool {
        guard let first = text.first, text.utf8.count <= 128, first != ".", first != "-" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }
}

extension ImageReference {
    /// The image, read in place, or from `store` (pulled into it when missing).
    public func open(store: ImageStore, options: RegistryOptions, log: (String) -> Void = { _ in }) throws(ImageError) -> Image {
        switch self {
        case .layout(let path, let reference):
            let layout = try ImageLayout(path: path)
            // Without a name: the only image, or the one called "latest".
            let names = Set(layout.index.manifests.compactMap(\.refName))
            return try layout.image(reference: reference ?? (names.count > 1 && names.contains("latest") ? "latest" : nil))
        case .dockerArchive(let path, let tag):
            return try DockerArchive(path: path).image(tag: tag)
        case .registry(let reference):
            return try store.image(reference, options: options, log: log)
        case .path(let path):
            let info: stat
            do { info = try Syscall.fileStatus(path) } catch { throw ImageError("image \"\(path)\": \(error)") }
            let resolved: ImageReference = info.st_mode & S_IFMT == S_IFDIR ? .layout(path: path, reference: nil) : .dockerArchive(path: path, tag: nil)
            return try resolved.open(store: store, options: options, log: log)
        }
    }
}
