import FoundationEssentials

/// Media types of the image-spec and of Docker's manifest v2 schema 2, which
/// registries and `docker save` still produce.
public enum MediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"

    static let indexes: Set = [ociIndex, dockerManifestList]
    static let manifests: Set = [ociManifest, dockerManifest]
}

/// How a layer's tar stream is stored.
public enum LayerCompression: Equatable, Sendable {
    case none
    case gzip
    /// Decided by the first bytes: docker archives do not say.
    case detect

    /// The compression a layer media type names; zstd and anything that is
    /// not a layer are refused by name.
    public init(mediaType: String) throws(ImageError) {
        switch mediaType {
        case "application/vnd.oci.image.layer.v1.tar",
             "application/vnd.oci.image.layer.nondistributable.v1.tar",
             "application/vnd.docker.image.rootfs.diff.tar":
            self = .none
        case "application/vnd.oci.image.layer.v1.tar+gzip",
             "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
             "application/vnd.docker.image.rootfs.diff.tar.gzip",
             "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
            self = .gzip
        case _ where mediaType.hasSuffix("+zstd"):
            throw ImageError("layer media type \(mediaType): zstd-compressed layers are not supported")
        default:
            throw ImageError("unsupported layer media type \"\(mediaType)\"")
        }
    }
}

/// The target a manifest is built for.
public struct Platform: Codable, Hashable, Sendable {
    public var architecture: String
    public var os: String
    public var variant: String?

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    /// This machine, in Go's GOARCH names, which the spec uses.
    public static let host = Platform(architecture: "amd64", os: "linux")
}

/// A reference to a blob: its type, digest and size.
public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: Platform?

    public init(mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil, platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }

    /// The annotation an image layout's index names its images with.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"

    public var refName: String? { annotations?[Self.refNameAnnotation] }
}

/// An image index (index.json, or a multi-platform index blob; also Docker's manifest list).
public struct ImageIndex: Codable, Equatable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public static func parse(_ bytes: [UInt8], _ what: String) throws(ImageError) -> ImageIndex {
        let index: ImageIndex = try decodeJSON(bytes, what)
        guard index.schemaVersion == 2 else { throw ImageError("\(what): schemaVersion \(index.schemaVersion), expected 2") }
        if let type = index.mediaType, !MediaType.indexes.contains(type) {
            throw ImageError("\(what): mediaType \"\(type)\" is not an image index")
        }
        return index
    }

    /// The descriptor an image reference names: among those annotated with
    /// `reference` (all when nil), the only one, or the one for `platform`.
    public func select(reference: String?, platform: Platform) throws(ImageError) -> Descriptor {
        let named = reference.map { name in manifests.filter { $0.refName == name } } ?? manifests
        if named.isEmpty {
            if let reference {
                let names = Set(manifests.compactMap(\.refName)).sorted()
                throw ImageError("no image \"\(reference)\" in the index (it has: \(names.isEmpty ? "no names" : names.joined(separator: ", ")))")
            }
            throw ImageError("the index lists no manifests")
        }
        if named.count == 1 { return named[0] }
        let names = Set(named.compactMap(\.refName)).sorted()
        if reference == nil && names.count > 1 {
            throw ImageError("the index holds \(names.count) images; name one: \(names.joined(separator: ", "))")
        }
        let matching = named.filter { $0.platform.map { $0.os == platform.os && $0.architecture == platform.architecture } ?? false }
        if let first = matching.first { return first }
        throw ImageError("no manifest for \(platform.os)/\(platform.architecture) among \(named.count)")
    }
}

/// An image manifest: its config and its layers, bottom first.
public struct ImageManifest: Codable, Equatable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?

    public static func parse(_ bytes: [UInt8], _ what: String) throws(ImageError) -> ImageManifest {
        let manifest: ImageManifest = try decodeJSON(bytes, what)
        guard manifest.schemaVersion == 2 else { throw ImageError("\(what): schemaVersion \(manifest.schemaVersion), expected 2") }
        if let type = manifest.mediaType, !MediaType.manifests.contains(type) {
            throw ImageError("\(what): mediaType \"\(type)\" is not an image manifest")
        }
        guard [MediaType.ociConfig, MediaType.dockerConfig].contains(manifest.config.mediaType) else {
            throw ImageError("\(what): config mediaType \"\(manifest.config.mediaType)\" is not an image config")
        }
        for layer in manifest.layers {
            do { _ = try LayerCompression(mediaType: layer.mediaType) } catch { throw error.within("\(what): layer \(layer.digest)") }
        }
        return manifest
    }
}

/// An image's configuration: what to run, and the digests of its layers'
/// uncompressed tars.
public struct ImageConfig: Codable, Equatable, Sendable {
    /// The defaults for a container (the image-spec's `config` object; its
    /// field names are Docker's, capitalised).
    public struct Execution: Codable, Equatable, Sendable {
        public var user: String?
        public var exposedPorts: [String]?
        public var env: [String]?
        public var entrypoint: [String]?
        public var cmd: [String]?
        public var workingDir: String?
        public var labels: [String: String]?
        public var stopSignal: String?

        public init(user: String? = nil, env: [String]? = nil, entrypoint: [String]? = nil, cmd: [String]? = nil, workingDir: String? = nil) {
            self.user = user
            self.env = env
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.workingDir = workingDir
        }

        enum CodingKeys: String, CodingKey {
            case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd"
            case workingDir = "WorkingDir", labels = "Labels", stopSignal = "StopSignal"
        }

        /// An empty JSON object: the value of each `ExposedPorts` key.
        private struct Empty: Codable {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            user = try c.decodeIfPresent(String.self, forKey: .user)
            exposedPorts = try c.decodeIfPresent([String: Empty].self, forKey: .exposedPorts)?.keys.sorted()
            env = try c.decodeIfPresent([String].self, forKey: .env)
            entrypoint = try c.decodeIfPresent([String].self, forKey: .entrypoint)
            cmd = try c.decodeIfPresent([String].self, forKey: .cmd)
            workingDir = try c.decodeIfPresent(String.self, forKey: .workingDir)
            labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
            stopSignal = try c.decodeIfPresent(String.self, forKey: .stopSignal)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(user, forKey: .user)
            try c.encodeIfPresent(exposedPorts.map { Dictionary(uniqueKeysWithValues: $0.map { ($0, Empty()) }) }, forKey: .exposedPorts)
            try c.encodeIfPresent(env, forKey: .env)
            try c.encodeIfPresent(entrypoint, forKey: .entrypoint)
            try c.encodeIfPresent(cmd, forKey: .cmd)
            try c.encodeIfPresent(workingDir, forKey: .workingDir)
            try c.encodeIfPresent(labels, forKey: .labels)
            try c.encodeIfPresent(stopSignal, forKey: .stopSignal)
        }
    }

    public struct RootFS: Codable, Equatable, Sendable {
        public var type: String
        public var diffIDs: [Digest]

        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }

    public var architecture: String?
    public var os: String?
    public var config: Execution?
    public var rootfs: RootFS?

    public static func parse(_ bytes: [UInt8], _ what: String) throws(ImageError) -> ImageConfig {
        try decodeJSON(bytes, what)
    }
}

/// One image of a `docker save` archive's manifest.json.
public struct DockerArchiveEntry: Codable, Equatable, Sendable {
    /// The config file's path in the archive (`<hex>.json`, or `blobs/sha256/<hex>` since Docker 25).
    public var config: String
    public var repoTags: [String]?
    /// Each layer's tar, bottom first.
    public var layers: [String]

    enum CodingKeys: String, CodingKey {
        case config = "Config", repoTags = "RepoTags", layers = "Layers"
    }

    public static func parse(_ bytes: [UInt8]) throws(ImageError) -> [DockerArchiveEntry] {
        try decodeJSON(bytes, "manifest.json")
    }

    /// The image `tag` names (`name:tag`; a bare name means `:latest`), or the only one.
    public static func select(_ entries: [DockerArchiveEntry], tag: String?) throws(ImageError) -> DockerArchiveEntry {
        guard let tag else {
            guard entries.count == 1 else { throw ImageError("the archive holds \(entries.count) images; name one by its tag") }
            return entries[0]
        }
        let wanted = tag.split(separator: "/").last?.contains(":") == true ? tag : tag + ":latest"
        guard let entry = entries.first(where: { $0.repoTags?.contains(wanted) == true || $0.repoTags?.contains(tag) == true }) else {
            throw ImageError("no image tagged \"\(tag)\" in the archive")
        }
        return entry
    }
}

/// `bytes` as JSON of type `T`, the failure naming `what` and the field.
func decodeJSON<T: Decodable>(_ bytes: [UInt8], _ what: String) throws(ImageError) -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    } catch let error as DecodingError {
        throw ImageError("\(what): \(describe(error))")
    } catch {
        throw ImageError("\(what): \(error)")
    }
}

private func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return keys.isEmpty ? "" : " at \(keys.hasPrefix(".") ? String(keys.dropFirst()) : keys)"
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing field \"\(key.stringValue)\"\(path(context))"
    case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type\(path(context)): \(context.debugDescription)"
    case .dataCorrupted(let context): return "invalid JSON\(path(context)): \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)"
    @unknown default: return "\(error)"
    }
}
