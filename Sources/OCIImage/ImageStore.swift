import CoreboxCore
import CoreboxSystem
import FoundationEssentials
import Glibc

/// The local image store: one OCI image layout whose index names each
/// pulled image by its full reference (`127.0.0.1:5000/app:v1`) in the
/// ref.name annotation, so any OCI tool can read it. Blobs enter it only
/// after their digest was checked, under their digest, so a blob present
/// is a blob whole and is never fetched twice.
public struct ImageStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    var indexPath: String { path + "/index.json" }

    func blobPath(_ digest: Digest) -> String { "\(path)/blobs/sha256/\(digest.hex)" }

    func hasBlob(_ digest: Digest) -> Bool { access(blobPath(digest), F_OK) == 0 }

    /// The image stored under `name`, or nil when there is none.
    public func image(named name: String, platform: Platform = .host) throws(ImageError) -> Image? {
        guard access(indexPath, F_OK) == 0 else { return nil }
        let layout = try ImageLayout(path: path)
        guard layout.index.manifests.contains(where: { $0.refName == name }) else { return nil }
        return try layout.image(reference: name, platform: platform)
    }

    /// The image `reference` names: from the store when it is there,
    /// else pulled into it first.
    public func image(_ reference: RegistryReference, options: RegistryOptions, log: (String) -> Void = { _ in }) throws(ImageError) -> Image {
        if let image = try image(named: reference.description) { return image }
        try pull(reference, options: options, log: log)
        guard let image = try image(named: reference.description) else { throw ImageError("\(reference): not in the store after the pull") }
        return image
    }

    /// Fetches the manifest, config and layers the store lacks, then names the image.
    public func pull(_ reference: RegistryReference, options: RegistryOptions, log: (String) -> Void = { _ in }) throws(ImageError) {
        try prepare()
        let client = RegistryClient(reference, options: options)
        let (manifestBytes, descriptor) = try client.manifest()
        let manifest = try ImageManifest.parse(manifestBytes, "manifest \(descriptor.digest)")
        for blob in [manifest.config] + manifest.layers where !hasBlob(blob.digest) {
            log("fetch \(blob.digest) (\(blob.size) bytes)")
            try fetch(blob, from: client)
        }
        try store(manifestBytes, digest: descriptor.digest)
        var named = descriptor
        named.annotations = [Descriptor.refNameAnnotation: reference.description]
        try name(named)
    }

    /// Streams a blob into a temporary file beside its place, renamed into
    /// it only when its digest and size checked out.
    private func fetch(_ blob: Descriptor, from client: RegistryClient) throws(ImageError) {
        var failure: ImageError?
        do {
            try Files.writeAtomically(blobPath(blob.digest), mode: 0o644) { (write) throws(SystemError) in
                do throws(ImageError) {
                    try client.blob(blob) { (chunk) throws(ImageError) in
                        do throws(SystemError) { try write(Array(chunk)) } catch { throw ImageError(error) }
                    }
                } catch {
                    // Thrown on as a SystemError so that the temporary file goes; the error itself is kept.
                    failure = error
                    throw SystemError(errno: EIO, operation: "fetch", path: blobPath(blob.digest))
                }
            }
        } catch {
            throw failure ?? ImageError(error)
        }
    }

    /// Stores a manifest already held in memory (the registry client has
    /// checked its digest).
    private func store(_ bytes: [UInt8], digest: Digest) throws(ImageError) {
        guard !hasBlob(digest) else { return }
        do { try Files.writeAtomically(blobPath(digest), bytes) } catch { throw ImageError(error) }
    }

    /// Makes the layout's directory, `oci-layout` and an empty index when missing.
    func prepare() throws(ImageError) {
        do {
            try Files.makeDirectories(path + "/blobs/sha256", mode: 0o700)
            if access(path + "/oci-layout", F_OK) != 0 {
                try Files.writeAtomically(path + "/oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            }
            if access(indexPath, F_OK) != 0 {
                try Files.writeAtomically(indexPath, try Self.encode(ImageIndex(schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [])))
            }
        } catch let error as SystemError {
            throw ImageError(error)
        } catch {
            throw ImageError("image store \(path): \(error)")
        }
    }

    /// Adds `descriptor` to the index, replacing any entry with its name,
    /// under a lock so that concurrent pulls do not lose each other's names.
    func name(_ descriptor: Descriptor) throws(ImageError) {
        let lockPath = path + "/index.lock"
        let fd = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ImageError(SystemError(errno: errno, operation: "open", path: lockPath)) }
        defer { Syscall.close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw ImageError(SystemError(errno: errno, operation: "flock", path: lockPath)) }
        }
        var index = try ImageLayout(path: path).index
        index.manifests.removeAll { $0.refName == descriptor.refName }
        index.manifests.append(descriptor)
        do { try Files.writeAtomically(indexPath, try Self.encode(index)) } catch let error as SystemError {
            throw ImageError(error)
        } catch {
            throw ImageError("image store \(path): \(error)")
        }
    }

    static func encode(_ index: ImageIndex) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(index))
    }
}
