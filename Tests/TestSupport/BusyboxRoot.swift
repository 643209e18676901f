import Foundation

/// A container root made from the host's busybox: /bin/busybox with its
/// links, the shared libraries it needs, and the usual mount points.
public enum BusyboxRoot {
    public static func make(at root: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        try manager.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
        for applet in try output("/bin/busybox", ["--list"]).split(separator: "\n") where applet != "busybox" {
            try manager.createSymbolicLink(atPath: root + "/bin/" + applet, withDestinationPath: "busybox")
        }
        for library in try output("/usr/bin/ldd", ["/bin/busybox"]).split(separator: "\n").compactMap({ $0.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("/") } }) {
            let path = String(library)
            try manager.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try manager.copyItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path, toPath: root + path)
        }
        for directory in ["proc", "dev", "out", "tmp"] {
            try manager.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
    }

    private static func output(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }
}
