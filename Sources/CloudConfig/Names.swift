/// What the system accepts as names, checked before anything is touched.
enum Names {
    /// A host name: dot-separated labels of letters, digits and inner
    /// hyphens, at most 64 characters (the kernel's limit).
    static func isHostname(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 64 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// useradd's rule: `[a-z_][a-z0-9_-]*[$]?`, at most 32 characters.
    static func isUserName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, scalars.count <= 32 else { return false }
        func allowed(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-" }
        let body = scalars.last == "$" ? scalars.dropLast() : scalars[...]
        return (("a"..."z").contains(first) || first == "_") && body.allSatisfy(allowed)
    }

    static let unitTypes: Set = [
        "service", "socket", "device", "mount", "automount", "swap", "target", "path", "timer", "slice", "scope",
        "network", "netdev", "link",
    ]

    /// `NAME.TYPE` (templates too) with systemd's characters, at most 255 bytes.
    static func isUnitName(_ name: String) -> Bool {
        guard name.utf8.count <= 255, let dot = name.lastIndex(of: "."), dot > name.startIndex else { return false }
        let stem = name[..<dot]
        return unitTypes.contains(String(name[name.index(after: dot)...]))
            && stem.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ":-_.\\@".contains($0)) }
    }

    /// systemd-networkd's units live apart from the rest.
    static func isNetworkUnit(_ name: String) -> Bool {
        name.hasSuffix(".network") || name.hasSuffix(".netdev") || name.hasSuffix(".link")
    }
}

/// Absolute paths as Go's `path` package cleans them.
enum Paths {
    /// `/a//b/./c/..` -> `/a/b`; always absolute.
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash > path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
