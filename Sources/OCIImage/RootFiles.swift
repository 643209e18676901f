import CoreboxCore
import CoreboxSystem
import Glibc

/// Files of an unpacked root read and removed from outside it, as safely
/// as the layers were written: paths resolve inside the root (an image's
/// symlink cannot point the runtime at the host's files), and a removal
/// never follows a link out.
public enum RootFiles {
    /// The text of `path` (absolute in the root, e.g. `/etc/passwd`), or nil
    /// when it is missing or not a regular file. A symlink as the last
    /// component counts as missing.
    public static func read(_ path: String, in root: String) throws(ImageError) -> String? {
        let rootFD = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw ImageError(SystemError(errno: errno, operation: "open", path: root)) }
        defer { Glibc.close(rootFD) }
        let components = path.split(separator: "/").map(String.init)
        guard let name = components.last else { return nil }
        let parent: Int32
        do { parent = try LayerApplier(layer: root, root: rootFD).openParent(components, create: false) } catch {
            if error.errno == ENOENT || error.errno == ENOTDIR { return nil }
            throw ImageError(error)
        }
        defer { Glibc.close(parent) }
        let fd = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 && [ENOENT, ELOOP, ENOTDIR].contains(errno) { return nil }
        guard fd >= 0 else { throw ImageError(SystemError(errno: errno, operation: "open", path: root + path)) }
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        guard info.st_size <= 16 << 20 else { throw ImageError("\(path) in the image is larger than 16 MiB") }
        var bytes: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }
        while true {
            let count: Int
            do { count = try Syscall.read(fd, into: buffer, path: root + path) } catch { throw ImageError(error) }
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Removes `path` and everything under it, links removed, never followed.
    public static func removeTree(_ path: String) throws(ImageError) {
        let parentPath = Files.parentDirectory(of: path)
        let parent = Glibc.open(parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else {
            if errno == ENOENT { return }
            throw ImageError(SystemError(errno: errno, operation: "open", path: parentPath))
        }
        defer { Glibc.close(parent) }
        do { try LayerApplier(layer: path, root: parent).removeTree(parent, Files.baseName(of: path), path) } catch let error as SystemError {
            throw ImageError(error)
        } catch {
            throw ImageError("remove \(path): \(error)")
        }
    }
}
