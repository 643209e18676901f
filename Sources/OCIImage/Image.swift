import CoreboxCore
import CoreboxSystem
import Glibc

/// An image ready to unpack: its config and where each layer's bytes are,
/// with what they must hash to.
public struct Image: Sendable {
    /// A layer's bytes: a whole blob file, or a member of a docker archive.
    struct Layer: Sendable {
        /// Its name in errors: the digest, or the archive member's path.
        var name: String
        var file: String
        var offset: Int64
        var length: Int64
        /// The blob's digest, checked as the bytes are read (OCI layouts,
        /// and docker archives whose members are named by digest).
        var digest: Digest?
        var compression: LayerCompression
        /// The uncompressed tar's digest from the config, checked too.
        var diffID: Digest?
    }

    public var manifest: ImageManifest?
    public var configDigest: Digest
    public var config: ImageConfig
    var layers: [Layer]

    public var layerCount: Int { layers.count }

    /// An OCI image layout directory or a `docker save` tar, whichever `path` is.
    public static func open(_ path: String, reference: String? = nil, platform: Platform = .host) throws(ImageError) -> Image {
        let info: stat
        do { info = try Syscall.fileStatus(path) } catch { throw ImageError(error) }
        if info.st_mode & S_IFMT == S_IFDIR {
            return try ImageLayout(path: path).image(reference: reference, platform: platform)
        }
        return try DockerArchive(path: path).image(tag: reference)
    }

    /// Applies the layers in order to `directory` (which must exist),
    /// verifying every blob as it streams. A failure leaves a partial tree
    /// for the caller to remove. Returns the device nodes skipped for lack
    /// of privilege.
    public func unpack(into directory: String) throws(ImageError) -> [String] {
        let root = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw ImageError(SystemError(errno: errno, operation: "open", path: directory)) }
        defer { Glibc.close(root) }
        var skipped: [String] = []
        for layer in layers { skipped += try Self.apply(layer, root: root) }
        return skipped
    }

    private static func apply(_ layer: Layer, root: Int32) throws(ImageError) -> [String] {
        var applier = LayerApplier(layer: layer.name, root: root)
        var reader = TarReader()
        var verifier = layer.digest.map { BlobVerifier(expected: $0, size: layer.length) }
        var diff = layer.diffID.map { _ in SHA256() }
        var decoder: GzipDecoder?
        var compression = layer.compression
        var failure: ImageError?

        /// The uncompressed tar, hashed and applied.
        func consume(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
            diff?.update(bytes)
            do { try reader.feed(bytes, to: &applier) } catch { throw error.within("layer \(layer.name)") }
        }

        try BlobFile.read(layer.file, offset: layer.offset, length: layer.length) { (chunk) throws(ImageError) in
            try verifier?.update(chunk)
            if compression == .detect { compression = chunk.starts(with: [0x1F, 0x8B]) ? .gzip : .none }
            guard compression == .gzip else { return try consume(chunk) }
            if decoder == nil {
                do { decoder = try GzipDecoder() } catch { throw ImageError("layer \(layer.name): \(error)") }
            }
            do {
                try decoder!.decode(chunk) { output in
                    guard failure == nil else { return }
                    do throws(ImageError) { try consume(output) } catch { failure = error }
                }
            } catch {
                throw ImageError("layer \(layer.name): \(error)")
            }
            if let failure { throw failure }
        }
        try verifier?.finish()
        do { try decoder?.finish() } catch { throw ImageError("layer \(layer.name): \(error)") }
        do { try reader.finish() } catch { throw error.within("layer \(layer.name)") }
        try applier.finish()
        if let expected = layer.diffID, let diff {
            let actual = Digest(hashing: diff.finalize())
            guard actual == expected else {
                throw ImageError("layer \(layer.name): uncompressed content has digest \(actual), the config's diff_id is \(expected)")
            }
        }
        return applier.skipped
    }
}

/// Reading blob files: whole small ones (JSON), streamed large ones (layers).
enum BlobFile {
    /// Passes `length` bytes from `offset` to `body` in 1 MiB pieces.
    static func read(
        _ path: String, offset: Int64, length: Int64, _ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void
    ) throws(ImageError) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError(SystemError(errno: errno, operation: "open", path: path)) }
        defer { Glibc.close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var position = offset, end = offset + length
        while position < end {
            let count = pread(fd, buffer.baseAddress, min(buffer.count, Int(end - position)), off_t(position))
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw ImageError(SystemError(errno: errno, operation: "read", path: path)) }
            // A file shorter than its descriptor says: the verifier names the size.
            if count == 0 { end = position; break }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            position += Int64(count)
        }
    }

    /// A whole blob, checked against its digest and size before it is parsed.
    static func verified(_ path: String, digest: Digest, size: Int64) throws(ImageError) -> [UInt8] {
        guard size <= 16 << 20 else { throw ImageError("blob \(digest): \(size) bytes is too large for a manifest or config") }
        var verifier = BlobVerifier(expected: digest, size: size)
        var bytes: [UInt8] = []
        // One byte past the size, so a longer file is caught.
        try read(path, offset: 0, length: size + 1) { (chunk) throws(ImageError) in
            try verifier.update(chunk)
            bytes += chunk
        }
        try verifier.finish()
        return bytes
    }
}

/// An OCI image layout directory: `oci-layout`, `index.json`, `blobs/sha256/<hex>`.
public struct ImageLayout: Sendable {
    public let path: String
    public let index: ImageIndex

    public init(path: String) throws(ImageError) {
        self.path = path
        struct Header: Decodable { var imageLayoutVersion: String }
        let header: Header = try decodeJSON(try Self.file(path + "/oci-layout"), "oci-layout")
        guard header.imageLayoutVersion.hasPrefix("1.") else {
            throw ImageError("oci-layout: unsupported imageLayoutVersion \"\(header.imageLayoutVersion)\"")
        }
        index = try ImageIndex.parse(try Self.file(path + "/index.json"), "index.json")
    }

    public func blobPath(_ digest: Digest) -> String { "\(path)/blobs/sha256/\(digest.hex)" }

    /// The blob a descriptor names, verified.
    public func blob(_ descriptor: Descriptor) throws(ImageError) -> [UInt8] {
        try BlobFile.verified(blobPath(descriptor.digest), digest: descriptor.digest, size: descriptor.size)
    }

    /// The image `reference` names (the index's ref.name annotation), or
    /// the only one; indexes within indexes are followed to `platform`'s manifest.
    public func image(reference: String?, platform: Platform = .host) throws(ImageError) -> Image {
        var descriptor = try index.select(reference: reference, platform: platform)
        var depth = 0
        while MediaType.indexes.contains(descriptor.mediaType) {
            depth += 1
            guard depth <= 8 else { throw ImageError("index \(descriptor.digest): indexes nested too deep") }
            let nested = try ImageIndex.parse(try blob(descriptor), "index \(descriptor.digest)")
            do { descriptor = try nested.select(reference: nil, platform: platform) } catch { throw error.within("index \(descriptor.digest)") }
        }
        guard MediaType.manifests.contains(descriptor.mediaType) else {
            throw ImageError("descriptor \(descriptor.digest): mediaType \"\(descriptor.mediaType)\" is not a manifest or index")
        }
        let manifest = try ImageManifest.parse(try blob(descriptor), "manifest \(descriptor.digest)")
        let config = try ImageConfig.parse(try blob(manifest.config), "config \(manifest.config.digest)")
        let diffIDs = config.rootfs?.diffIDs ?? []
        guard diffIDs.isEmpty || diffIDs.count == manifest.layers.count else {
            throw ImageError("config \(manifest.config.digest): \(diffIDs.count) diff_ids for \(manifest.layers.count) layers")
        }
        var layers: [Image.Layer] = []
        for (i, layer) in manifest.layers.enumerated() {
            layers.append(Image.Layer(
                name: layer.digest.description, file: blobPath(layer.digest), offset: 0, length: layer.size,
                digest: layer.digest, compression: try LayerCompression(mediaType: layer.mediaType),
                diffID: diffIDs.isEmpty ? nil : diffIDs[i]))
        }
        return Image(manifest: manifest, configDigest: manifest.config.digest, config: config, layers: layers)
    }

    static func file(_ path: String) throws(ImageError) -> [UInt8] {
        do { return try Files.read(path) } catch { throw ImageError(error) }
    }
}

/// A `docker save` tar: manifest.json, configs and layer tars as members.
/// Layers are read in place; their digests come from the config's diff_ids
/// (and from member names that are digests).
public struct DockerArchive: Sendable {
    struct Member: Sendable {
        var offset: Int64
        var size: Int64
        var linkName: String?
    }

    public let path: String
    var members: [String: Member] = [:]

    public init(path: String) throws(ImageError) {
        self.path = path
        struct Index: TarConsumer {
            var members: [String: Member] = [:]
            mutating func begin(_ entry: TarEntry, offset: Int64) throws(ImageError) {
                let name = (try? LayerApplier.clean(entry.path))?.joined(separator: "/") ?? entry.path
                switch entry.kind {
                case .regular: members[name] = Member(offset: offset, size: entry.size)
                case .symbolicLink, .hardLink: members[name] = Member(offset: 0, size: 0, linkName: entry.linkName)
                default: break
                }
            }
            mutating func content(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {}
            mutating func end() throws(ImageError) {}
        }
        var index = Index()
        var reader = TarReader()
        let length: Int64
        do { length = Int64(try Syscall.fileStatus(path).st_size) } catch { throw ImageError(error) }
        do {
            try BlobFile.read(path, offset: 0, length: length) { (chunk) throws(ImageError) in try reader.feed(chunk, to: &index) }
            try reader.finish()
        } catch {
            throw error.within("docker archive \(path)")
        }
        members = index.members
    }

    /// A member's place, following a link (docker save links repeated layers).
    func member(_ name: String) throws(ImageError) -> Member {
        var name = name
        for _ in 0..<8 {
            guard let member = members[name] else { throw ImageError("docker archive \(path): no member \"\(name)\"") }
            guard let link = member.linkName else { return member }
            let base = link.hasPrefix("/") ? [] : Array(name.split(separator: "/").dropLast().map(String.init))
            name = try LayerApplier.clean((base + [link]).joined(separator: "/")).joined(separator: "/")
        }
        throw ImageError("docker archive \(path): too many links at \"\(name)\"")
    }

    func contents(_ name: String) throws(ImageError) -> [UInt8] {
        let member = try member(name)
        guard member.size <= 16 << 20 else { throw ImageError("docker archive \(path): \"\(name)\" is too large") }
        var bytes: [UInt8] = []
        try BlobFile.read(path, offset: member.offset, length: member.size) { (chunk) throws(ImageError) in bytes += chunk }
        return bytes
    }

    /// The digest a member's name carries (`<hex>.json`, `blobs/sha256/<hex>`); nil for `<id>/layer.tar`.
    static func digest(named name: String) -> Digest? {
        let last = name.split(separator: "/").last.map(String.init) ?? name
        let hex = last.hasSuffix(".json") ? String(last.dropLast(5)) : last
        let parts = name.split(separator: "/")
        guard last.hasSuffix(".json") || (parts.count == 3 && parts[0] == "blobs" && parts[1] == "sha256") else { return nil }
        return try? Digest(parsing: "sha256:" + hex)
    }

    public func image(tag: String?) throws(ImageError) -> Image {
        let entries = try DockerArchiveEntry.parse(try contents("manifest.json"))
        let entry = try DockerArchiveEntry.select(entries, tag: tag)
        let configName = try LayerApplier.clean(entry.config).joined(separator: "/")
        let configBytes = try contents(configName)
        guard let configDigest = Self.digest(named: configName) else {
            throw ImageError("docker archive \(path): config \"\(entry.config)\" is not named by its digest")
        }
        let actual = Digest(of: configBytes)
        guard actual == configDigest else { throw ImageError("config \(configDigest): content has digest \(actual)") }
        let config = try ImageConfig.parse(configBytes, "config \(configDigest)")
        let diffIDs = config.rootfs?.diffIDs ?? []
        guard diffIDs.count == entry.layers.count else {
            throw ImageError("config \(configDigest): \(diffIDs.count) diff_ids for \(entry.layers.count) layers")
        }
        var layers: [Image.Layer] = []
        for (i, name) in entry.layers.enumerated() {
            let cleaned = try LayerApplier.clean(name).joined(separator: "/")
            let member = try member(cleaned)
            layers.append(Image.Layer(
                name: cleaned, file: path, offset: member.offset, length: member.size,
                digest: cleaned.hasPrefix("blobs/") ? Self.digest(named: cleaned) : nil, compression: .detect, diffID: diffIDs[i]))
        }
        return Image(manifest: nil, configDigest: configDigest, config: config, layers: layers)
    }
}
