import CloudConfig
import CoreboxCore
import CoreboxSystem
import Glibc

/// Whether `path` exists as coreos-cloudinit asks it: any answer from
/// stat but "no such file" counts as there.
private func exists(_ path: String) -> Bool {
    do {
        _ = try Syscall.fileStatus(path)
        return true
    } catch {
        return error.errno != ENOENT
    }
}

/// The file's bytes, empty when it does not exist.
private func readOrEmpty(_ path: String) throws(DatasourceError) -> [UInt8] {
    do {
        return try Files.readIfPresent(path) ?? []
    } catch {
        throw DatasourceError(error)
    }
}

/// `--from-file PATH`: user-data from a local file, no metadata.
public struct FileDatasource: Datasource {
    public let path: String

    public init(path: String) { self.path = path }

    public var kind: String { "local-file" }
    public var availabilityChanges: Bool { true }
    public var configRoot: String { "" }

    public func isAvailable() -> Bool { exists(path) }

    public func fetchUserData() throws(DatasourceError) -> [UInt8] {
        do {
            return try Files.read(path)
        } catch {
            throw DatasourceError(error)
        }
    }

    public func fetchMetadata() -> Metadata { Metadata() }
}

/// `--from-configdrive DIR`: an OpenStack config drive mounted at DIR:
/// `openstack/latest/user_data` (absent: empty) and `meta_data.json`.
public struct ConfigDriveDatasource: Datasource {
    public let root: String

    public init(root: String) { self.root = root }

    public var kind: String { "cloud-drive" }
    public var availabilityChanges: Bool { true }
    public var configRoot: String { root + "/openstack" }

    public func isAvailable() -> Bool { exists(root) }

    public func fetchUserData() throws(DatasourceError) -> [UInt8] {
        try readOrEmpty(configRoot + "/latest/user_data")
    }

    public func fetchMetadata() throws(DatasourceError) -> Metadata {
        let bytes = try readOrEmpty(configRoot + "/latest/meta_data.json")
        do {
            return try Metadata.configDrive(bytes)
        } catch {
            throw DatasourceError(error)
        }
    }
}

/// `--from-nocloud DIR`: cloud-init's NoCloud seed, the volume labelled
/// `cidata` mounted at DIR, with `user-data` (absent: empty) and
/// `meta-data`. Available once `meta-data` is there, not merely the mount
/// point, since NoCloud requires it.
public struct NoCloudDatasource: Datasource {
    public let root: String

    public init(root: String) { self.root = root }

    public var kind: String { "nocloud" }
    public var availabilityChanges: Bool { true }
    public var configRoot: String { root }

    public func isAvailable() -> Bool { exists(root + "/meta-data") }

    public func fetchUserData() throws(DatasourceError) -> [UInt8] {
        try readOrEmpty(root + "/user-data")
    }

    public func fetchMetadata() throws(DatasourceError) -> Metadata {
        let bytes = try readOrEmpty(root + "/meta-data")
        do {
            return try Metadata.noCloud(bytes)
        } catch {
            throw DatasourceError(error)
        }
    }
}
