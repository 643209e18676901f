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
    return text.replacing("-", with: "_")
}
