import FoundationEssentials
import YAML

/// What a datasource says about the machine besides its user-data: the
/// hostname and SSH keys merged into the config, the addresses substituted
/// into it, the instance ID that tells a first boot from a reboot.
public struct Metadata: Equatable, Sendable {
    public var instanceID: String?
    public var hostname: String?
    /// In the order of the keys' names (sorted), whatever order the source
    /// served them in: the same metadata always yields the same plan.
    public var sshPublicKeys: [String]
    public var publicIPv4: String?
    public var privateIPv4: String?
    public var publicIPv6: String?
    public var privateIPv6: String?

    public init(
        instanceID: String? = nil, hostname: String? = nil, sshPublicKeys: [String] = [],
        publicIPv4: String? = nil, privateIPv4: String? = nil, publicIPv6: String? = nil, privateIPv6: String? = nil
    ) {
        self.instanceID = instanceID
        self.hostname = hostname
        self.sshPublicKeys = sshPublicKeys
        self.publicIPv4 = publicIPv4
        self.privateIPv4 = privateIPv4
        self.publicIPv6 = publicIPv6
        self.privateIPv6 = privateIPv6
    }
}

/// Metadata a source served that cannot be read: which source, and what is wrong.
public struct MetadataError: Error, Equatable, Sendable, CustomStringConvertible {
    public var source: String
    public var problem: String

    public init(source: String, problem: String) {
        self.source = source
        self.problem = problem
    }

    public var description: String { "\(source): \(problem)" }
}

// MARK: - OpenStack config drive

extension Metadata {
    static let configDriveSource = "config drive openstack/latest/meta_data.json"

    private struct ConfigDriveJSON: Decodable {
        var uuid: String?
        var hostname: String?
        var publicKeys: [String: String]?

        enum CodingKeys: String, CodingKey {
            case uuid, hostname
            case publicKeys = "public_keys"
        }
    }

    /// A config drive's `meta_data.json`: `uuid` is the instance ID,
    /// `hostname`, and `public_keys` (name -> key). Empty bytes are no
    /// metadata, as coreos-cloudinit reads an empty file.
    public static func configDrive(_ bytes: [UInt8]) throws(MetadataError) -> Metadata {
        if bytes.isEmpty { return Metadata() }
        let json: ConfigDriveJSON
        do {
            json = try JSONDecoder().decode(ConfigDriveJSON.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw MetadataError(source: configDriveSource, problem: problem(of: error))
        } catch {
            throw MetadataError(source: configDriveSource, problem: "\(error)")
        }
        return Metadata(
            instanceID: json.uuid, hostname: json.hostname,
            sshPublicKeys: (json.publicKeys ?? [:]).sorted { $0.key < $1.key }.map(\.value)
        )
    }

    /// A DecodingError in a sentence that names the key, not Swift's types.
    private static func problem(of error: DecodingError) -> String {
        switch error {
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            let path = context.codingPath.map(\.stringValue)
            if path.isEmpty { return "not a JSON object" }
            let wanted = path == ["public_keys"] ? "an object of names to keys" : "a string"
            return "\"\(path.joined(separator: "."))\" is not \(wanted)"
        default:
            return "not valid JSON"
        }
    }
}

// MARK: - NoCloud

extension Metadata {
    static let noCloudSource = "NoCloud meta-data"

    /// A NoCloud volume's `meta-data` (YAML): `instance-id`,
    /// `local-hostname`, and `public-keys` as cloud-init accepts it: one
    /// string (a key a line), a list of keys, or a mapping name -> key.
    public static func noCloud(_ bytes: [UInt8]) throws(MetadataError) -> Metadata {
        let root: YAMLNode?
        do {
            root = try YAML.parse(bytes)
        } catch {
            throw MetadataError(source: noCloudSource, problem: "not YAML: \(error)")
        }
        guard let root else { return Metadata() }
        if case .scalar = root.kind, scalarText(root) == nil { return Metadata() }
        guard case let .mapping(pairs) = root.kind else {
            throw MetadataError(source: noCloudSource, problem: "\(root.mark): not a mapping of keys")
        }
        var metadata = Metadata()
        for (key, value) in pairs {
            guard case let .scalar(name, _) = key.kind else { continue }
            switch name {
            case "instance-id": metadata.instanceID = try noCloudString(value, name)
            case "local-hostname": metadata.hostname = try noCloudString(value, name)
            case "public-keys": metadata.sshPublicKeys = try noCloudKeys(value)
            default: continue
            }
        }
        return metadata
    }

    /// A scalar's text, nil for YAML's null (`~`, `null`, nothing).
    private static func scalarText(_ node: YAMLNode) -> String? {
        guard case let .scalar(text, plain) = node.kind else { return nil }
        if plain, ["", "~", "null", "Null", "NULL"].contains(text) { return nil }
        return text
    }

    private static func noCloudString(_ node: YAMLNode, _ name: String) throws(MetadataError) -> String? {
        guard case .scalar = node.kind else {
            throw MetadataError(source: noCloudSource, problem: "\(node.mark): \"\(name)\" is not a string")
        }
        return scalarText(node)
    }

    private static func noCloudKeys(_ node: YAMLNode) throws(MetadataError) -> [String] {
        func key(_ item: YAMLNode) throws(MetadataError) -> String {
            guard case .scalar = item.kind, let text = scalarText(item) else {
                throw MetadataError(source: noCloudSource, problem: "\(item.mark): a public key is not a string")
            }
            return text
        }
        switch node.kind {
        case .scalar:
            return (scalarText(node) ?? "").split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.allSatisfy(\.isWhitespace) }
        case let .sequence(items):
            var keys: [String] = []
            for item in items { keys.append(try key(item)) }
            return keys
        case let .mapping(pairs):
            var named: [(name: String, key: String)] = []
            for (name, item) in pairs {
                guard case let .scalar(text, _) = name.kind else {
                    throw MetadataError(source: noCloudSource, problem: "\(name.mark): a public key's name is not a string")
                }
                named.append((text, try key(item)))
            }
            return named.sorted { $0.name < $1.name }.map(\.key)
        }
    }
}

// MARK: - EC2 metadata service

/// The EC2 metadata service answers one path at a time, and which key paths
/// exist depends on the `public-keys` listing. The fetching side asks
/// `fixedPaths`, then `keyPaths(listing:)`, and hands every answer to
/// `metadata(answers:)`, which stays pure.
public enum EC2Metadata {
    static let source = "EC2 metadata"

    /// The paths under `meta-data/` read for every machine.
    public static let fixedPaths = ["instance-id", "hostname", "local-ipv4", "public-ipv4", "public-keys"]

    /// The `public-keys` listing (`0=name` lines) as the names and the paths
    /// of their OpenSSH keys, sorted by name; a later line wins for a name
    /// listed twice, as coreos-cloudinit's map does.
    public static func keyPaths(listing: String) throws(MetadataError) -> [(name: String, path: String)] {
        var indexByName: [String: Substring] = [:]
        for line in listing.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let equals = line.firstIndex(of: "=") else {
                throw MetadataError(source: source, problem: "malformed public key: \"\(line)\" (want INDEX=NAME)")
            }
            indexByName[String(line[line.index(after: equals)...])] = line[..<equals]
        }
        return indexByName.sorted { $0.key < $1.key }.map { ($0.key, "public-keys/\($0.value)/openssh-key") }
    }

    /// Metadata from the answers to `fixedPaths` and `keyPaths`, keyed by
    /// path; a path the service did not have is absent. Each answer counts
    /// by its first line, as coreos-cloudinit reads them, and the hostname by
    /// its first word.
    public static func metadata(answers: [String: String]) throws(MetadataError) -> Metadata {
        func firstLine(_ path: String) -> String? {
            answers[path].map { String($0.prefix { $0 != "\n" }) }
        }
        var metadata = Metadata()
        metadata.instanceID = firstLine("instance-id").flatMap { $0.isEmpty ? nil : $0 }
        metadata.hostname = firstLine("hostname").flatMap { $0.split(separator: " ").first.map(String.init) }
        metadata.privateIPv4 = try address(firstLine("local-ipv4"), "local-ipv4")
        metadata.publicIPv4 = try address(firstLine("public-ipv4"), "public-ipv4")
        if let listing = answers["public-keys"] {
            for (name, path) in try keyPaths(listing: listing) {
                guard let key = firstLine(path), !key.isEmpty else {
                    throw MetadataError(source: source, problem: "\(path) (key \"\(name)\") is missing or empty")
                }
                metadata.sshPublicKeys.append(key)
            }
        }
        return metadata
    }

    private static func address(_ text: String?, _ path: String) throws(MetadataError) -> String? {
        guard let text, !text.isEmpty else { return nil }
        guard let canonical = IPAddress.canonical(text) else {
            throw MetadataError(source: source, problem: "\(path) is not an IP address: \"\(text)\"")
        }
        return canonical
    }
}

/// IP address text in the form Go's net.IP prints it, which is what
/// coreos-cloudinit substitutes: IPv4 dotted decimal, IPv6 in lower-case
/// hex with the first longest run of two or more zero groups as `::`, and
/// an IPv4-mapped IPv6 address as its IPv4 address.
enum IPAddress {
    static func canonical(_ text: String) -> String? {
        if let v4 = ipv4(Substring(text)) { return v4.map(String.init).joined(separator: ".") }
        guard let groups = ipv6(text) else { return nil }
        if groups[0..<5].allSatisfy({ $0 == 0 }), groups[5] == 0xFFFF {
            return [groups[6] >> 8, groups[6] & 0xFF, groups[7] >> 8, groups[7] & 0xFF].map(String.init).joined(separator: ".")
        }
        var best = (start: -1, length: 1)
        var index = 0
        while index < 8 {
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > best.length { best = (index, end - index) }
            index = max(end, index + 1)
        }
        func hex(_ range: ArraySlice<UInt16>) -> String { range.map { String($0, radix: 16) }.joined(separator: ":") }
        if best.start < 0 { return hex(groups[...]) }
        return hex(groups[..<best.start]) + "::" + hex(groups[(best.start + best.length)...])
    }

    /// Four decimal octets; leading zeros are refused, as Go has since 1.17.
    private static func ipv4(_ text: Substring) -> [UInt16]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt16] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                  part.count == 1 || part.first != "0", let value = UInt16(part), value <= 255 else { return nil }
            octets.append(value)
        }
        return octets
    }

    private static func ipv6(_ text: String) -> [UInt16]? {
        let separators = text.ranges(of: "::")
        guard separators.count <= 1 else { return nil }
        let halves = separators.first.map { [String(text[..<$0.lowerBound]), String(text[$0.upperBound...])] } ?? [text]
        /// An embedded IPv4 address may only end the address.
        func groups(_ part: String, endsAddress: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (position, field) in fields.enumerated() {
                if endsAddress, position == fields.count - 1, field.contains("."), let v4 = ipv4(field) {
                    result += [v4[0] << 8 | v4[1], v4[2] << 8 | v4[3]]
                } else {
                    guard (1...4).contains(field.count), field.allSatisfy(\.isHexDigit), let value = UInt16(field, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        guard let head = groups(halves[0], endsAddress: halves.count == 1) else { return nil }
        if halves.count == 1 { return head.count == 8 ? head : nil }
        guard let tail = groups(halves[1], endsAddress: true), head.count + tail.count < 8 else { return nil }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }
}
