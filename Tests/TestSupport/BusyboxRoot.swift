import Foundation

/// A container root made from the host's busybox: /bin/busybox with its
/// links, the shared libraries it needs, and the usual mount points.
///
/// The binary and its libraries are copied by cp, not by this process: a
/// descriptor this process writes through is inherited by whatever another
/// test forks at that moment and held until that child execs, and exec of a
/// program (or of its loader) open for writing fails with ETXTBSY.
public enum BusyboxRoot {
    public static func make(at root: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        try Tools.run(["cp", "/bin/busybox", root + "/bin/busybox"])
        for applet in try Tools.run(["/bin/busybox", "--list"]).split(separator: "\n") where applet != "busybox" {
            try manager.createSymbolicLink(atPath: root + "/bin/" + applet, withDestinationPath: "busybox")
        }
        let ldd = try Tools.run(["ldd", "/bin/busybox"])
        for library in ldd.split(separator: "\n").compactMap({ $0.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("/") } }) {
            let path = String(library)
            try manager.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Tools.run(["cp", "-L", path, root + path])
        }
        for directory in ["proc", "dev", "out", "tmp"] {
            try manager.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
    }
}
