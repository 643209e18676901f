import YAML

/// Checks a cloud-config against `Schema.cloudConfig` in one pass and
/// reports everything it finds: coreos-cloudinit's findings with its
/// texts, and ours (missing names, duplicate keys, bad user, unit and host
/// names), each with its line and column.
public enum Validator {
    /// The report on cloud-config text (its `#cloud-config` line included).
    public static func validate(_ text: [UInt8]) -> (report: Report, document: YAMLNode?) {
        let document: YAMLNode?
        do {
            document = try YAML.parse(text)
        } catch {
            return (Report([Diagnostic(.error, error.message, at: placed(error.mark, in: text), hint: error.context)]), nil)
        }
        guard let document else { return (Report(), nil) }
        return (validate(document), document)
    }

    /// libyaml places an error at the end of the text on a line after the
    /// last one; it belongs at the end of the last line.
    static func placed(_ mark: YAMLMark, in text: [UInt8]) -> YAMLMark {
        var lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(\.count)
        if lines.count > 1, lines.last == 0 { lines.removeLast() }
        guard mark.line > lines.count else { return mark }
        return YAMLMark(line: lines.count, column: (lines.last ?? 0) + 1)
    }

    public static func validate(_ document: YAMLNode) -> Report {
        var walk = Walk()
        walk.check(document, name: "", type: .object(Schema.cloudConfig), at: document.mark)
        walk.checkContents(of: document)
        return Report(walk.report.diagnostics)
    }
}

private struct Walk {
    var report = Report()

    /// coreos-cloudinit's structure and validity rules for one node.
    mutating func check(_ node: YAMLNode, name: String, type: ValueType, at mark: YAMLMark, validity: Validity? = nil) {
        guard Self.isCompatible(node, with: type) else {
            if name.isEmpty {
                report.add(Diagnostic(.error, "a cloud-config is a mapping of keys", at: mark))
            } else {
                report.add(Diagnostic(.warning, "incorrect type for \(goQuoted(name)) (want \(type.humanName))", at: mark, blocksApply: true))
            }
            return
        }
        switch (type, node.kind) {
        case let (.object(schema), .mapping(pairs)):
            var seen: [String: YAMLMark] = [:]
            for (key, value) in pairs {
                let name = keyName(key)
                if let first = seen[name] {
                    report.add(Diagnostic(.error, "duplicate key \(goQuoted(name)) (first on line \(first.line))", at: key.mark))
                }
                seen[name] = seen[name] ?? key.mark
                guard let field = schema[name] else {
                    report.add(Diagnostic(.warning, "unrecognized key \(goQuoted(name))", at: key.mark, hint: Self.suggestion(for: name, in: schema)))
                    continue
                }
                if let reason = field.deprecated {
                    report.add(Diagnostic(.warning, "deprecated key \(goQuoted(name)) (\(reason))", at: key.mark))
                }
                check(value, name: name, type: field.type, at: key.mark, validity: field.validity)
            }
        case let (.list(element), .sequence(items)):
            for (index, item) in items.enumerated() {
                check(item, name: "\(name)[\(index)]", type: element, at: item.mark)
            }
        default:
            if let validity, case let .scalar(text, _) = node.kind, !text.isEmpty, !validity.accepts(text) {
                report.add(Diagnostic(.error, "invalid value \(text)", at: mark))
            }
        }
    }

    /// coreos-cloudinit's `isCompatible`: a string key takes any scalar, a
    /// float key an int too; null fits nothing.
    static func isCompatible(_ node: YAMLNode, with type: ValueType) -> Bool {
        switch (type, node.kind) {
        case (.object, .mapping), (.list, .sequence): return true
        case (.object, _), (.list, _): return false
        case (_, .mapping), (_, .sequence): return false
        default: break
        }
        switch (type, Scalar(node)) {
        case (_, .null?), (_, nil): return false
        case (.string, _): return true
        case (.bool, .bool?), (.int, .int?), (.float, .float?), (.float, .int?): return true
        default: return false
        }
    }

    /// A known key near the unknown one; at the top level, a `coreos` key
    /// written outside `coreos`.
    static func suggestion(for name: String, in schema: Schema) -> String? {
        let candidates = schema.fields.map(\.name)
            .map { ($0, editDistance($0, name)) }
            .filter { $0.1 <= max(1, min(2, name.count / 3)) }
            .min { $0.1 < $1.1 }
        if let (nearest, _) = candidates { return "did you mean \(goQuoted(nearest))?" }
        if schema["coreos"] != nil, Schema.coreos[name] != nil { return "\(goQuoted(name)) belongs under \"coreos\"" }
        return nil
    }

    /// Edits from one name to the other: insertions, deletions,
    /// substitutions and swaps of neighbours (`gceos` is one from `gecos`).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var rows = [Array(0...b.count)]
        for i in 1...a.count {
            var row = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { row[j] = min(row[j], rows[i - 2][j - 2] + 1) }
            }
            rows.append(row)
        }
        return rows[a.count][b.count]
    }

    /// The rules that look at values together: encodings, paths, names.
    mutating func checkContents(of document: YAMLNode) {
        guard let root = Mapping(document) else { return }
        let coreos = root.mapping("coreos")
        if let discovery = coreos?.mapping("etcd")?.entry("discovery"), let text = discovery.value.stringValue, !Self.isRequestURI(text) {
            report.add(Diagnostic(.warning, "discovery URL is not valid", at: discovery.key.mark))
        }
        if let misplaced = coreos?.entry("write_files") {
            report.add(Diagnostic(.info, "write_files doesn't belong under coreos", at: misplaced.key.mark))
        }
        if let hostname = root.entry("hostname"), let name = hostname.value.stringValue, !Names.isHostname(name) {
            report.add(Diagnostic(.error, "invalid hostname \(goQuoted(name))", at: hostname.key.mark))
        }
        for file in root.mappings("write_files") {
            checkFile(file)
        }
        for user in root.mappings("users") {
            checkUser(user)
        }
        for unit in coreos?.mappings("units") ?? [] {
            checkUnit(unit)
        }
    }

    private mutating func checkFile(_ file: Mapping) {
        do {
            _ = try file.fileContent()
        } catch {
            let at = (file.entry("content") ?? file.entry("encoding"))?.key.mark ?? file.node.mark
            switch error {
            case .binary: report.add(Diagnostic(.error, "!!binary value contains invalid base64 data", at: at))
            case let .encoding(name): report.add(Diagnostic(.error, "content cannot be decoded as \(goQuoted(name))", at: at))
            }
        }
        guard let (path, text) = required("path", of: file, what: "file") else { return }
        let directory = Paths.parent(of: Paths.clean("/" + text))
        if directory == "/usr" || directory.hasPrefix("/usr/") {
            report.add(Diagnostic(.error, "file cannot be written to a read-only filesystem", at: path.key.mark))
        }
    }

    /// The entry `key` and its text, or an error that `what` has none.
    private mutating func required(_ key: String, of map: Mapping, what: String) -> (entry: (key: YAMLNode, value: YAMLNode), text: String)? {
        guard let entry = map.entry(key), let text = entry.value.stringValue, !text.isEmpty else {
            report.add(Diagnostic(.error, "\(what) has no \"\(key)\"", at: map.node.mark))
            return nil
        }
        return (entry, text)
    }

    private mutating func checkUser(_ user: Mapping) {
        guard let (name, text) = required("name", of: user, what: "user") else { return }
        if !Names.isUserName(text) {
            report.add(Diagnostic(.error, "invalid user name \(goQuoted(text))", at: name.key.mark))
        }
        if let group = user.entry("primary_group"), let text = group.value.stringValue, !Names.isUserName(text) {
            report.add(Diagnostic(.error, "invalid group name \(goQuoted(text))", at: group.key.mark))
        }
    }

    private mutating func checkUnit(_ unit: Mapping) {
        guard let (name, text) = required("name", of: unit, what: "unit") else { return }
        if !Names.isUnitName(text) {
            report.add(Diagnostic(.error, "invalid unit name \(goQuoted(text))", at: name.key.mark))
        }
        for dropIn in unit.mappings("drop_ins") {
            guard let (name, text) = required("name", of: dropIn, what: "drop-in") else { continue }
            if text.contains("/") || !text.hasSuffix(".conf") {
                report.add(Diagnostic(.error, "invalid drop-in name \(goQuoted(text)) (want NAME.conf)", at: name.key.mark))
            }
        }
    }

    /// Go's `url.ParseRequestURI` accepts an absolute URL or an absolute path.
    static func isRequestURI(_ text: String) -> Bool {
        if text.hasPrefix("/") { return !text.contains(" ") }
        guard let colon = text.firstIndex(of: ":"), colon > text.startIndex else { return false }
        let scheme = text[..<colon]
        return scheme.first!.isLetter && scheme.allSatisfy { $0.isLetter || $0.isNumber || "+-.".contains($0) }
            && text.index(after: colon) < text.endIndex && !text.contains(" ")
    }
}
