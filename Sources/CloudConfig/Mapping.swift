import YAML

/// A YAML mapping read by key as coreos-cloudinit reads it: `-` and `_`
/// alike, the last of duplicate keys winning.
struct Mapping {
    let node: YAMLNode
    let pairs: [(key: YAMLNode, value: YAMLNode)]

    init?(_ node: YAMLNode) {
        guard case let .mapping(pairs) = node.kind else { return nil }
        self.node = node
        self.pairs = pairs
    }

    func entry(_ name: String) -> (key: YAMLNode, value: YAMLNode)? {
        pairs.last { keyName($0.key) == name }
    }

    func mapping(_ name: String) -> Mapping? {
        entry(name).flatMap { Mapping($0.value) }
    }

    /// The mappings of a list (items of other kinds were reported already).
    func mappings(_ name: String) -> [Mapping] {
        guard let value = entry(name)?.value, case let .sequence(items) = value.kind else { return [] }
        return items.compactMap(Mapping.init)
    }

    /// A string key's value: the scalar's literal text; nil when absent or null.
    func string(_ name: String) -> String? {
        entry(name)?.value.stringValue
    }

    /// A bool key's value: false when absent or not a bool.
    func bool(_ name: String) -> Bool {
        guard let value = entry(name)?.value, case let .bool(flag)? = Scalar(value) else { return false }
        return flag
    }

    /// A list of strings (items that are not scalars were reported already).
    func strings(_ name: String) -> [String] {
        guard let value = entry(name)?.value, case let .sequence(items) = value.kind else { return [] }
        return items.compactMap(\.stringValue)
    }
}

extension Mapping {
    /// Why write_files' content cannot be had.
    enum ContentProblem: Error {
        case binary
        case encoding(String)
    }

    /// write_files' content as bytes: a `!!binary` scalar is base64 that
    /// coreos-cloudinit's YAML library decodes first; then the encoding.
    func fileContent() throws(ContentProblem) -> [UInt8] {
        let node = entry("content")?.value
        var bytes = Array((node?.stringValue ?? "").utf8)
        if node?.tag == "tag:yaml.org,2002:binary" {
            do { bytes = try ContentEncoding.base64.decode(bytes: bytes) } catch { throw .binary }
        }
        guard let name = string("encoding") else { return bytes }
        guard let encoding = ContentEncoding(name: name), let decoded = try? encoding.decode(bytes: bytes) else {
            throw .encoding(name)
        }
        return decoded
    }
}

extension YAMLNode {
    /// A scalar's literal text, as a string key keeps it; nil for null and collections.
    var stringValue: String? {
        guard case let .scalar(text, _) = kind, Scalar(self) != .null else { return nil }
        return text
    }
}

/// The normalized name of a key: coreos-cloudinit treats `-` as `_`.
func keyName(_ node: YAMLNode) -> String {
    guard case let .scalar(text, _) = node.kind else { return "" }
    return text.contains("-") ? text.replacing("-", with: "_") : text
}
