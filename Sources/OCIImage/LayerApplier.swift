import CoreboxCore
import Glibc

/// Applies one layer's entries to a root directory, the way the image-spec
/// says a layer changes the filesystem: entries replace what lower layers
/// left (directories merge), `.wh.NAME` deletes NAME, `.wh..wh..opq`
/// hides a directory's lower content.
///
/// Nothing is ever written outside the root: every path is cleaned (an
/// entry whose path climbs out is refused) and resolved one component at a
/// time from a descriptor of the root with O_NOFOLLOW, with symlinks
/// followed as if the root were `/` (RESOLVE_IN_ROOT's rule, as umoci and
/// containers/storage apply it), and the last component is always acted on
/// with a *at call that does not follow it. The applier is the only writer
/// of the root while it runs.
struct LayerApplier: TarConsumer {
    /// The layer's name for errors (its digest).
    let layer: String
    let root: Int32
    /// Ownership and device nodes need privilege; without it they are skipped.
    let privileged: Bool
    private(set) var skipped: [String] = []
    /// Paths (cleaned, relative) this layer has written: an opaque marker
    /// must not hide them.
    private var written: Set<String> = []
    /// Directory modes and times, set once the layer is done: creating
    /// children would change the times, and a read-only mode would stop them.
    private var directories: [(path: [String], entry: TarEntry)] = []
    private var file: (fd: Int32, entry: TarEntry)?

    init(layer: String, root: Int32) {
        self.layer = layer
        self.root = root
        privileged = geteuid() == 0
    }

    mutating func begin(_ entry: TarEntry, offset: Int64) throws(ImageError) {
        do {
            try apply(entry)
        } catch let error as ImageError {
            throw error.within("layer \(layer): entry \"\(entry.path)\"")
        } catch let error as SystemError {
            throw ImageError(error).within("layer \(layer): entry \"\(entry.path)\"")
        } catch {
            throw ImageError("\(error)").within("layer \(layer): entry \"\(entry.path)\"")
        }
    }

    mutating func content(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        guard let (fd, entry) = file else { return }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ImageError(SystemError(errno: errno, operation: "write", path: entry.path)).within("layer \(layer)")
            }
            offset += written
        }
    }

    mutating func end() throws(ImageError) {
        guard let (fd, entry) = file else { return }
        file = nil
        defer { Glibc.close(fd) }
        do {
            if privileged { try check(fchown(fd, entry.uid, entry.gid), "fchown", entry.path) }
            try check(fchmod(fd, entry.mode), "fchmod", entry.path)
            try setAttributes(entry, fd: fd)
            var times = Self.times(entry)
            try check(futimens(fd, &times), "futimens", entry.path)
        } catch {
            throw ImageError(error).within("layer \(layer): entry \"\(entry.path)\"")
        }
    }

    /// Sets the directories' deferred modes and times, deepest first.
    mutating func finish() throws(ImageError) {
        for (path, entry) in directories.reversed() {
            do throws(SystemError) {
                var times = Self.times(entry)
                guard let name = path.last else {
                    try check(fchmod(root, entry.mode), "chmod", entry.path)
                    try check(futimens(root, &times), "futimens", entry.path)
                    continue
                }
                let parent = try openParent(path, create: false)
                defer { Glibc.close(parent) }
                try check(fchmodat(parent, name, entry.mode, 0), "chmod", entry.path)
                try check(utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW), "utimensat", entry.path)
            } catch {
                throw ImageError(error).within("layer \(layer): entry \"\(entry.path)\"")
            }
        }
        directories = []
    }

    private mutating func apply(_ entry: TarEntry) throws {
        let path = try Self.clean(entry.path)
        guard let name = path.last else {
            // The root itself: only its metadata can change.
            if entry.kind == .directory { directories.append(([], entry)) }
            return
        }
        if name.hasPrefix(".wh.") {
            try whiteout(path)
            return
        }
        let parent = try openParent(path, create: true)
        defer { Glibc.close(parent) }
        let existing = Self.status(parent, name)
        written.insert(path.joined(separator: "/"))

        if entry.kind == .directory, let existing, existing.st_mode & S_IFMT == S_IFDIR {
            try setOwner(parent, name, entry)
            try setAttributes(entry, parent: parent, name: name)
            directories.append((path, entry))
            return
        }
        if existing != nil { try removeTree(parent, name, entry.path) }

        switch entry.kind {
        case .regular:
            let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            try check(fd, "open", entry.path)
            file = (fd, entry)
        case .directory:
            try check(mkdirat(parent, name, 0o700), "mkdir", entry.path)
            try setOwner(parent, name, entry)
            try setAttributes(entry, parent: parent, name: name)
            directories.append((path, entry))
        case .symbolicLink:
            try check(symlinkat(entry.linkName, parent, name), "symlink", entry.path)
            try setOwner(parent, name, entry)
            var times = Self.times(entry)
            try check(utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW), "utimensat", entry.path)
        case .hardLink:
            let target = try Self.clean(entry.linkName)
            guard let targetName = target.last else { throw ImageError("hard link to the root") }
            let targetParent = try openParent(target, create: false)
            defer { Glibc.close(targetParent) }
            try check(linkat(targetParent, targetName, parent, name, 0), "link to \"\(entry.linkName)\"", entry.path)
        case .characterDevice, .blockDevice, .fifo:
            let type = entry.kind == .fifo ? S_IFIFO : entry.kind == .characterDevice ? S_IFCHR : S_IFBLK
            guard privileged || entry.kind == .fifo else {
                skipped.append(entry.path)
                return
            }
            try check(mknodat(parent, name, type | entry.mode, Self.device(entry.deviceMajor, entry.deviceMinor)), "mknod", entry.path)
            try setOwner(parent, name, entry)
            try check(fchmodat(parent, name, entry.mode, 0), "chmod", entry.path)
            var times = Self.times(entry)
            try check(utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW), "utimensat", entry.path)
        }
    }

    /// `.wh.NAME` removes NAME as lower layers left it; `.wh..wh..opq`
    /// removes everything in its directory this layer did not write.
    private mutating func whiteout(_ path: [String]) throws {
        let marker = path.last!
        let directory = Array(path.dropLast())
        if marker.hasPrefix(".wh..wh.") {
            // aufs' other metadata (.wh..wh.plnk, .wh..wh.aufs) means nothing here.
            guard marker == ".wh..wh..opq" else { return }
            guard let fd = try openDirectory(directory) else { return }
            defer { Glibc.close(fd) }
            try prune(fd, prefix: directory)
            return
        }
        let victim = String(marker.dropFirst(4))
        guard !victim.isEmpty, victim != ".", victim != ".." else { throw ImageError("invalid whiteout") }
        guard !written.contains((directory + [victim]).joined(separator: "/")) else { return }
        guard let parent = try openDirectory(directory) else { return }
        defer { Glibc.close(parent) }
        if Self.status(parent, victim) != nil { try removeTree(parent, victim, victim) }
    }

    /// Removes the children of `fd` that this layer did not write, and the
    /// lower content of those it did.
    private func prune(_ fd: Int32, prefix: [String]) throws {
        for name in try Self.names(fd) {
            let path = prefix + [name]
            if !written.contains(path.joined(separator: "/")) {
                try removeTree(fd, name, path.joined(separator: "/"))
            } else if let status = Self.status(fd, name), status.st_mode & S_IFMT == S_IFDIR {
                let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                try check(child, "open", path.joined(separator: "/"))
                defer { Glibc.close(child) }
                try prune(child, prefix: path)
            }
        }
    }

    /// The directory `path` names, resolved in the root; nil when it does not exist.
    private func openDirectory(_ path: [String]) throws(SystemError) -> Int32? {
        guard let name = path.last else { return try dupRoot() }
        let parent: Int32
        do {
            parent = try openParent(path, create: false)
        } catch where error.errno == ENOENT || error.errno == ENOTDIR {
            return nil
        }
        defer { Glibc.close(parent) }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && (errno == ENOENT || errno == ENOTDIR) { return nil }
        try check(fd, "open", path.joined(separator: "/"))
        return fd
    }

    private func dupRoot() throws(SystemError) -> Int32 {
        let fd = fcntl(root, F_DUPFD_CLOEXEC, 0)
        try check(fd, "dup", nil)
        return fd
    }

    /// A descriptor of the directory holding `path`'s last component,
    /// resolved from the root without ever leaving it: `..` stops at the
    /// root, a symlink's target is walked from the root (absolute) or from
    /// where it sits (relative). Missing directories are made (0755) when `create`.
    func openParent(_ path: [String], create: Bool) throws(SystemError) -> Int32 {
        var stack = [try dupRoot()]
        defer { for fd in stack.dropLast() { Glibc.close(fd) } }
        var pending = Array(path.dropLast().reversed())
        var links = 0
        while let name = pending.popLast() {
            if name.isEmpty || name == "." { continue }
            if name == ".." {
                if stack.count > 1 { Glibc.close(stack.removeLast()) }
                continue
            }
            var fd = openat(stack.last!, name, openPath | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == ENOENT && create {
                if mkdirat(stack.last!, name, 0o755) != 0 && errno != EEXIST { try check(-1, "mkdir", name) }
                fd = openat(stack.last!, name, openPath | O_NOFOLLOW | O_CLOEXEC)
            }
            try check(fd, "open", name)
            var info = stat()
            guard fstat(fd, &info) == 0 else { Glibc.close(fd); throw SystemError(errno: errno, operation: "stat", path: name) }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                stack.append(fd)
            case S_IFLNK:
                defer { Glibc.close(fd) }
                links += 1
                guard links <= 40 else { throw SystemError(errno: ELOOP, operation: "resolve", path: name) }
                let target = try Self.readLink(fd, name)
                if target.hasPrefix("/") {
                    for fd in stack.dropFirst() { Glibc.close(fd) }
                    stack.removeLast(stack.count - 1)
                }
                pending += target.split(separator: "/").map(String.init).reversed()
            default:
                Glibc.close(fd)
                throw SystemError(errno: ENOTDIR, operation: "resolve", path: name)
            }
        }
        return stack.last!
    }

    private static func readLink(_ fd: Int32, _ name: String) throws(SystemError) -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { readlinkat(fd, "", $0.baseAddress!, $0.count) }
        try check(count, "readlink", name)
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Removes `name` in `parent`, a directory with everything under it.
    func removeTree(_ parent: Int32, _ name: String, _ path: String) throws {
        guard let status = Self.status(parent, name) else { return }
        if status.st_mode & S_IFMT == S_IFDIR {
            let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            try check(fd, "open", path)
            defer { Glibc.close(fd) }
            // A read-only directory from a lower layer must still be emptied.
            if !privileged { _ = fchmod(fd, 0o700) }
            for child in try Self.names(fd) { try removeTree(fd, child, path + "/" + child) }
            try check(unlinkat(parent, name, AT_REMOVEDIR), "rmdir", path)
        } else {
            try check(unlinkat(parent, name, 0), "unlink", path)
        }
    }

    private static func names(_ fd: Int32) throws -> [String] {
        let copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try check(copy, "open", ".")
        guard let directory = fdopendir(copy) else { Glibc.close(copy); throw SystemError(errno: errno, operation: "opendir") }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func status(_ parent: Int32, _ name: String) -> stat? {
        var info = stat()
        return fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil
    }

    private func setOwner(_ parent: Int32, _ name: String, _ entry: TarEntry) throws(SystemError) {
        guard privileged else { return }
        try check(fchownat(parent, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW), "chown", entry.path)
    }

    /// xattrs on a directory, through a descriptor of it (never following a link).
    private func setAttributes(_ entry: TarEntry, parent: Int32, name: String) throws(SystemError) {
        guard !entry.extendedAttributes.isEmpty else { return }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        try check(fd, "open", entry.path)
        defer { Glibc.close(fd) }
        try setAttributes(entry, fd: fd)
    }

    /// xattrs through /proc/self/fd: Glibc's module map leaves out <sys/xattr.h>,
    /// so setxattr is looked up once.
    private func setAttributes(_ entry: TarEntry, fd: Int32) throws(SystemError) {
        for (key, value) in entry.extendedAttributes.sorted(by: { $0.key < $1.key }) {
            guard let setxattr = setExtendedAttribute else { throw SystemError(errno: ENOTSUP, operation: "setxattr", path: entry.path) }
            let result = value.withUnsafeBytes { setxattr("/proc/self/fd/\(fd)", key, $0.baseAddress, $0.count, 0) }
            try checkAttribute(result, key, entry.path)
        }
    }

    /// A filesystem without xattrs loses them, as tar does; any other failure is an error.
    private func checkAttribute(_ result: Int32, _ key: String, _ path: String) throws(SystemError) {
        if result != 0 && errno != ENOTSUP { throw SystemError(errno: errno, operation: "setxattr \(key)", path: path) }
    }

    /// glibc's makedev, a macro Swift cannot see.
    private static func device(_ major: UInt32, _ minor: UInt32) -> dev_t {
        let major = UInt64(major), minor = UInt64(minor)
        return dev_t((major & 0xFFFF_F000) << 32 | (major & 0xFFF) << 8 | (minor & 0xFFFF_FF00) << 12 | (minor & 0xFF))
    }

    private static func times(_ entry: TarEntry) -> [timespec] {
        let time = timespec(tv_sec: Int(entry.modificationTime.seconds), tv_nsec: Int(entry.modificationTime.nanoseconds))
        return [time, time]
    }

    /// The components of `path` with `.` and empty ones dropped and `..`
    /// applied; leading `/` and `./` mean the root. Climbing above the root is refused.
    static func clean(_ path: String) throws(ImageError) -> [String] {
        var components: [String] = []
        for component in path.split(separator: "/") {
            switch component {
            case ".": continue
            case "..":
                guard !components.isEmpty else { throw ImageError("path escapes the root") }
                components.removeLast()
            default: components.append(String(component))
            }
        }
        return components
    }
}

/// O_PATH, which Glibc's Swift module does not export.
private let openPath: Int32 = 0o10_000_000

private let setExtendedAttribute = dlsym(nil, "setxattr").map {
    unsafeBitCast($0, to: (@convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32).self)
}

private func check<T: FixedWidthInteger>(_ result: T, _ operation: String, _ path: String?) throws(SystemError) {
    if result < 0 { throw SystemError(errno: errno, operation: operation, path: path) }
}
