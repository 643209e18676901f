import CoreboxCore
import Glibc

/// Whole-file reads and crash-safe writes.
public enum Files {
    /// The bytes of the file at `path`.
    public static func read(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try Syscall.open(path, O_RDONLY)
        defer { Syscall.close(fd) }
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let count = try Syscall.read(fd, into: chunk, path: path)
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    /// The file's bytes, or nil when it does not exist; other failures throw.
    public static func readIfPresent(_ path: String) throws(SystemError) -> [UInt8]? {
        do {
            return try read(path)
        } catch where error.errno == ENOENT {
            return nil
        }
    }

    /// Replaces the file at `path` so that a crash leaves either the old or
    /// the new contents: write a temporary file beside it, fsync it, rename it
    /// over the target, then fsync the directory so the rename is durable.
    /// With an `owner`, the file gets it before it takes the path (-1 keeps a half).
    public static func writeAtomically(
        _ path: String, _ bytes: some Collection<UInt8>, mode: mode_t = 0o644, owner: (uid: uid_t, gid: gid_t)? = nil
    ) throws(SystemError) {
        try writeAtomically(path, mode: mode, owner: owner) { write throws(SystemError) in try write(Array(bytes)) }
    }

    /// `writeAtomically` of what `produce` passes to `write`, piece after
    /// piece: a large file is written as it is made, never held whole.
    public static func writeAtomically(
        _ path: String, mode: mode_t = 0o644, owner: (uid: uid_t, gid: gid_t)? = nil,
        _ produce: (_ write: ([UInt8]) throws(SystemError) -> Void) throws(SystemError) -> Void
    ) throws(SystemError) {
        let directory = parentDirectory(of: path)
        let pattern = "\(directory)/.\(baseName(of: path)).tmp-XXXXXX"
        var template = Array(pattern.utf8CString)
        let fd = try Syscall.retrying("mkstemp", pattern) { mkstemp(&template) }
        let temporary = String(nulTerminated: template)
        do throws(SystemError) {
            defer { Syscall.close(fd) }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            try produce { chunk throws(SystemError) in try Syscall.writeAll(fd, chunk, path: temporary) }
            if let owner { try Syscall.retrying("fchown", temporary) { fchown(fd, owner.uid, owner.gid) } }
            try Syscall.fchmod(fd, mode, path: temporary)
            try Syscall.fsync(fd, path: temporary)
        } catch {
            _ = Glibc.unlink(temporary)
            throw error
        }
        do throws(SystemError) {
            try Syscall.rename(temporary, path)
        } catch {
            _ = Glibc.unlink(temporary)
            throw error
        }
        try syncDirectory(directory)
    }

    /// Makes `path` durable in its directory after a create, rename or unlink.
    public static func syncDirectory(_ directory: String) throws(SystemError) {
        let fd = try Syscall.open(directory, O_RDONLY | O_DIRECTORY)
        defer { Syscall.close(fd) }
        try Syscall.fsync(fd, path: directory)
    }

    /// Creates `path` and any missing parents.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + String(component)
            do {
                try Syscall.mkdir(prefix, mode)
            } catch where error.errno == EEXIST {
                continue
            }
        }
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func baseName(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
