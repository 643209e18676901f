import CoreboxCore

/// Reads key=value configuration from disk.
public enum ConfigFiles {
    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(SystemError)
        case malformed(ConfigError)

        public var description: String {
            switch self {
            case .unreadable(let error): "\(error)"
            case .malformed(let error): "\(error)"
            }
        }
    }

    /// Parses the file at `path`; nil when it does not exist.
    public static func load(_ path: String) throws(LoadError) -> KeyValueFile? {
        let bytes: [UInt8]?
        do { bytes = try Files.readIfPresent(path) } catch { throw .unreadable(error) }
        guard let bytes else { return nil }
        do {
            return try KeyValueFile(parsing: String(decoding: bytes, as: UTF8.self), name: path)
        } catch {
            throw .malformed(error)
        }
    }

    /// The files of `paths` that exist, in lookup order (first wins).
    public static func layered(_ paths: [String]) throws(LoadError) -> LayeredConfig {
        var files: [KeyValueFile] = []
        for path in paths {
            if let file = try load(path) { files.append(file) }
        }
        return LayeredConfig(files)
    }

    /// The update and reboot settings: `Layout.updateConfigLookup`.
    public static func updateSettings(_ layout: Layout) throws(LoadError) -> LayeredConfig {
        try layered(layout.updateConfigLookup)
    }

    /// os-release(5): the first of /etc/os-release and /usr/lib/os-release that exists.
    public static func osRelease(_ layout: Layout) throws(LoadError) -> KeyValueFile? {
        for path in layout.osReleaseCandidates {
            if let file = try load(path) { return file }
        }
        return nil
    }
}
