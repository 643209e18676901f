import CoreboxCore
import Glibc

/// Thin wrappers over the system calls corebox makes: each retries EINTR and
/// turns a failure into a `SystemError` naming the call and the path.
public enum Syscall {
    /// Runs `call` until it does not fail with EINTR; -1 becomes a thrown error.
    @discardableResult
    static func retrying<T: FixedWidthInteger>(
        _ operation: String, _ path: String? = nil, _ call: () -> T
    ) throws(SystemError) -> T {
        while true {
            let result = call()
            if result != -1 { return result }
            let code = errno
            if code != EINTR { throw SystemError(errno: code, operation: operation, path: path) }
        }
    }

    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws(SystemError) -> Int32 {
        try retrying("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    public static func close(_ fd: Int32) {
        // Linux releases the descriptor even when close reports EINTR: never retry.
        _ = Glibc.close(fd)
    }

    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String? = nil) throws(SystemError) -> Int {
        try retrying("read", path) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes all of `bytes`, looping over short writes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String? = nil) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            offset += try retrying("write", path) {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
        }
    }

    public static func fsync(_ fd: Int32, path: String? = nil) throws(SystemError) {
        try retrying("fsync", path) { Glibc.fsync(fd) }
    }

    /// Flushes the file's data and the metadata needed to read it back (not its times).
    public static func fdatasync(_ fd: Int32, path: String? = nil) throws(SystemError) {
        try retrying("fdatasync", path) { Glibc.fdatasync(fd) }
    }

    /// Writes all of `bytes` at `offset`, looping over short writes.
    public static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String? = nil) throws(SystemError) {
        var written = 0
        while written < bytes.count {
            written += try retrying("pwrite", path) {
                bytes.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(offset + written)) }
            }
        }
    }

    public static func ftruncate(_ fd: Int32, _ length: Int, path: String? = nil) throws(SystemError) {
        try retrying("ftruncate", path) { Glibc.ftruncate(fd, off_t(length)) }
    }

    /// Reserves `length` bytes of disk for the file, so later writes into it
    /// cannot fail for space; the new bytes read as zeros.
    public static func fallocate(_ fd: Int32, length: Int, path: String? = nil) throws(SystemError) {
        // posix_fallocate returns the error instead of setting errno.
        let result = Glibc.posix_fallocate(fd, 0, off_t(length))
        if result != 0 { throw SystemError(errno: result, operation: "fallocate", path: path) }
    }

    /// The names in a directory, without `.` and `..`.
    public static func listDirectory(_ path: String) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else { throw SystemError(errno: errno, operation: "opendir", path: path) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        try retrying("rename", to) { Glibc.rename(from, to) }
    }

    public static func unlink(_ path: String) throws(SystemError) {
        try retrying("unlink", path) { Glibc.unlink(path) }
    }

    public static func symlink(target: String, at path: String) throws(SystemError) {
        try retrying("symlink", path) { Glibc.symlink(target, path) }
    }

    public static func link(_ existing: String, at path: String) throws(SystemError) {
        try retrying("link", path) { Glibc.link(existing, path) }
    }

    public static func mkdir(_ path: String, _ mode: mode_t) throws(SystemError) {
        try retrying("mkdir", path) { Glibc.mkdir(path, mode) }
    }

    public static func fchmod(_ fd: Int32, _ mode: mode_t, path: String? = nil) throws(SystemError) {
        try retrying("fchmod", path) { Glibc.fchmod(fd, mode) }
    }

    public static func fileStatus(_ path: String) throws(SystemError) -> stat {
        var result = Glibc.stat()
        try retrying("stat", path) { stat(path, &result) }
        return result
    }

    public static func fileStatus(fd: Int32) throws(SystemError) -> stat {
        var result = Glibc.stat()
        try retrying("fstat") { Glibc.fstat(fd, &result) }
        return result
    }

    public static func readlink(_ path: String) throws(SystemError) -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try retrying("readlink", path) { Glibc.readlink(path, &buffer, buffer.count - 1) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}

extension String {
    /// The text of a NUL-terminated C buffer.
    public init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
