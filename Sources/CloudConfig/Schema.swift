/// The shape of a cloud-config: every key coreos-cloudinit reads, its type,
/// the environment variable it becomes (for the service drop-ins), whether
/// it is deprecated, and which values it accepts. The validator walks the
/// YAML against it; the model reads only what it declares.
public struct Schema: Sendable {
    public let fields: [Field]

    init(_ fields: [Field]) { self.fields = fields }

    public subscript(_ name: String) -> Field? { fields.first { $0.name == name } }
}

/// The type a key wants, named in reports as coreos-cloudinit names Go's kinds.
public indirect enum ValueType: Sendable {
    case string
    case bool
    case int
    case float
    case list(ValueType)
    case object(Schema)

    /// "string", "bool", "int", "float64", "[]string", "struct", "[]struct".
    public var humanName: String {
        switch self {
        case .string: "string"
        case .bool: "bool"
        case .int: "int"
        case .float: "float64"
        case let .list(element): "[]" + element.humanName
        case .object: "struct"
        }
    }
}

/// Which strings a key accepts, as coreos-cloudinit's `valid` patterns say.
public struct Validity: Sendable {
    let accepts: @Sendable (String) -> Bool
}

public struct Field: Sendable {
    public let name: String
    public let type: ValueType
    /// The variable this key sets in its service's drop-in (`ETCD_NAME`).
    public let environment: String?
    /// Why the key is deprecated, as the report says it.
    public let deprecated: String?
    public let validity: Validity?

    init(_ name: String, _ type: ValueType, env: String? = nil, deprecated: String? = nil, valid: Validity? = nil) {
        self.name = name
        self.type = type
        self.environment = env
        self.deprecated = deprecated
        self.validity = valid
    }
}

extension Validity {
    static func oneOf(_ values: String...) -> Validity {
        Validity { values.contains($0) }
    }

    /// File modes: `^0?[0-7]{3,4}$`.
    static let permissions = Validity { text in
        let digits = text.count == 5 && text.hasPrefix("0") ? text.dropFirst() : Substring(text)
        return (3...4).contains(digits.count) && digits.allSatisfy { ("0"..."7").contains($0) }
    }

    /// A reboot window's start: `[Dow ]H:M`, hours 0-23, minutes 0-59, leading zeros allowed.
    static let windowStart = Validity { text in
        var clock = Substring(text)
        let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        if let space = text.firstIndex(of: " ") {
            guard days.contains(text[..<space].lowercased()) else { return false }
            clock = text[text.index(after: space)...]
        }
        let parts = clock.split(separator: ":", omittingEmptySubsequences: false)
        func number(_ part: Substring, below limit: Int) -> Bool {
            guard !part.isEmpty, part.allSatisfy(\.isASCIIDigit) else { return false }
            let significant = part.drop { $0 == "0" }
            return significant.count <= 2 && (Int(significant) ?? 0) < limit
        }
        return parts.count == 2 && number(parts[0], below: 24) && number(parts[1], below: 60)
    }

    /// A Go duration's shape: `^[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+$`.
    static let duration = Validity { text in
        var rest = Substring(text)
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        guard !rest.isEmpty else { return false }
        while !rest.isEmpty {
            rest = rest.drop(while: \.isASCIIDigit)
            if rest.first == "." { rest = rest.dropFirst().drop(while: \.isASCIIDigit) }
            let unit = rest.prefix { ("a"..."z").contains($0) }
            guard !unit.isEmpty else { return false }
            rest = rest.dropFirst(unit.count)
        }
        return true
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension Schema {
    /// The whole cloud-config, as coreos-cloudinit's config package declares it.
    public static let cloudConfig = Schema([
        Field("ssh_authorized_keys", .list(.string)),
        Field("coreos", .object(coreos)),
        Field("write_files", .list(.object(file))),
        Field("hostname", .string),
        Field("users", .list(.object(user))),
        // Ours: coreos-cloudinit only fails on another value when it applies.
        Field("manage_etc_hosts", .string, valid: .oneOf("localhost")),
    ])

    static let removedFromContainerLinux = " is no longer shipped in Container Linux"
    static let remoteKeys = "trying to fetch from a remote endpoint introduces too many intermittent errors"

    static let coreos = Schema([
        Field("etcd", .object(etcd), deprecated: "etcd" + removedFromContainerLinux),
        Field("etcd2", .object(etcd2), deprecated: "etcd2" + removedFromContainerLinux),
        Field("flannel", .object(flannel)),
        Field("fleet", .object(fleet), deprecated: "fleet" + removedFromContainerLinux),
        Field("locksmith", .object(locksmith)),
        Field("oem", .object(oem)),
        Field("update", .object(update)),
        Field("units", .list(.object(unit))),
    ])

    static let user = Schema([
        Field("name", .string),
        Field("passwd", .string),
        Field("ssh_authorized_keys", .list(.string)),
        Field("coreos_ssh_import_github", .string, deprecated: remoteKeys),
        Field("coreos_ssh_import_github_users", .list(.string), deprecated: remoteKeys),
        Field("coreos_ssh_import_url", .string, deprecated: remoteKeys),
        Field("gecos", .string),
        Field("homedir", .string),
        Field("no_create_home", .bool),
        Field("primary_group", .string),
        Field("groups", .list(.string)),
        Field("no_user_group", .bool),
        Field("system", .bool),
        Field("no_log_init", .bool),
        Field("shell", .string),
    ])

    static let file = Schema([
        Field("encoding", .string, valid: .oneOf("base64", "b64", "gz", "gzip", "gz+base64", "gzip+base64", "gz+b64", "gzip+b64")),
        Field("content", .string),
        Field("owner", .string),
        Field("path", .string),
        Field("permissions", .string, valid: .permissions),
    ])

    static let unitCommands = ["start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "reload-or-try-restart"]

    static let unit = Schema([
        Field("name", .string),
        Field("mask", .bool),
        Field("enable", .bool),
        Field("runtime", .bool),
        Field("content", .string),
        Field("command", .string, valid: Validity { unitCommands.contains($0) }),
        Field("drop_ins", .list(.object(Schema([Field("name", .string), Field("content", .string)])))),
    ])

    static let update = Schema([
        Field("reboot_strategy", .string, env: "REBOOT_STRATEGY", valid: .oneOf("etcd-lock", "reboot", "off")),
        Field("group", .string, env: "GROUP"),
        Field("server", .string, env: "SERVER"),
    ])

    static let oem = Schema([
        Field("id", .string), Field("name", .string), Field("version_id", .string),
        Field("home_url", .string), Field("bug_report_url", .string),
    ])

    static let locksmith = Schema([
        Field("endpoint", .string, env: "LOCKSMITHD_ENDPOINT"),
        Field("etcd_cafile", .string, env: "LOCKSMITHD_ETCD_CAFILE"),
        Field("etcd_certfile", .string, env: "LOCKSMITHD_ETCD_CERTFILE"),
        Field("etcd_keyfile", .string, env: "LOCKSMITHD_ETCD_KEYFILE"),
        Field("etcd_username", .string, env: "LOCKSMITHD_ETCD_USERNAME"),
        Field("etcd_password", .string, env: "LOCKSMITHD_ETCD_PASSWORD"),
        Field("group", .string, env: "LOCKSMITHD_GROUP"),
        Field("window_start", .string, env: "REBOOT_WINDOW_START", valid: .windowStart),
        Field("window_length", .string, env: "REBOOT_WINDOW_LENGTH", valid: .duration),
    ])

    static let flannel = Schema([
        Field("etcd_endpoints", .string, env: "FLANNELD_ETCD_ENDPOINTS"),
        Field("etcd_cafile", .string, env: "FLANNELD_ETCD_CAFILE"),
        Field("etcd_certfile", .string, env: "FLANNELD_ETCD_CERTFILE"),
        Field("etcd_keyfile", .string, env: "FLANNELD_ETCD_KEYFILE"),
        Field("etcd_prefix", .string, env: "FLANNELD_ETCD_PREFIX"),
        Field("etcd_username", .string, env: "FLANNELD_ETCD_USERNAME"),
        Field("etcd_password", .string, env: "FLANNELD_ETCD_PASSWORD"),
        Field("ip_masq", .string, env: "FLANNELD_IP_MASQ"),
        Field("subnet_file", .string, env: "FLANNELD_SUBNET_FILE"),
        Field("interface", .string, env: "FLANNELD_IFACE"),
        Field("public_ip", .string, env: "FLANNELD_PUBLIC_IP"),
    ])

    static let fleet = Schema([
        Field("agent_ttl", .string, env: "FLEET_AGENT_TTL"),
        Field("authorized_keys_file", .string, env: "FLEET_AUTHORIZED_KEYS_FILE"),
        Field("disable_engine", .bool, env: "FLEET_DISABLE_ENGINE"),
        Field("engine_reconcile_interval", .float, env: "FLEET_ENGINE_RECONCILE_INTERVAL"),
        Field("etcd_cafile", .string, env: "FLEET_ETCD_CAFILE"),
        Field("etcd_certfile", .string, env: "FLEET_ETCD_CERTFILE"),
        Field("etcd_keyfile", .string, env: "FLEET_ETCD_KEYFILE"),
        Field("etcd_key_prefix", .string, env: "FLEET_ETCD_KEY_PREFIX"),
        Field("etcd_request_timeout", .float, env: "FLEET_ETCD_REQUEST_TIMEOUT"),
        Field("etcd_servers", .string, env: "FLEET_ETCD_SERVERS"),
        Field("etcd_username", .string, env: "FLEET_ETCD_USERNAME"),
        Field("etcd_password", .string, env: "FLEET_ETCD_PASSWORD"),
        Field("metadata", .string, env: "FLEET_METADATA"),
        Field("public_ip", .string, env: "FLEET_PUBLIC_IP"),
        Field("token_limit", .int, env: "FLEET_TOKEN_LIMIT"),
        Field("verbosity", .int, env: "FLEET_VERBOSITY"),
        Field("verify_units", .bool, env: "FLEET_VERIFY_UNITS"),
    ])

    static let etcd2 = Schema([
        Field("advertise_client_urls", .string, env: "ETCD_ADVERTISE_CLIENT_URLS"),
        Field("ca_file", .string, env: "ETCD_CA_FILE", deprecated: "ca_file obsoleted by trusted_ca_file and client_cert_auth"),
        Field("cert_file", .string, env: "ETCD_CERT_FILE"),
        Field("client_cert_auth", .bool, env: "ETCD_CLIENT_CERT_AUTH"),
        Field("cors", .string, env: "ETCD_CORS"),
        Field("data_dir", .string, env: "ETCD_DATA_DIR"),
        Field("debug", .bool, env: "ETCD_DEBUG"),
        Field("discovery", .string, env: "ETCD_DISCOVERY"),
        Field("discovery_fallback", .string, env: "ETCD_DISCOVERY_FALLBACK"),
        Field("discovery_srv", .string, env: "ETCD_DISCOVERY_SRV"),
        Field("discovery_proxy", .string, env: "ETCD_DISCOVERY_PROXY"),
        Field("election_timeout", .int, env: "ETCD_ELECTION_TIMEOUT"),
        Field("enable_pprof", .bool, env: "ETCD_ENABLE_PPROF"),
        Field("force_new_cluster", .bool, env: "ETCD_FORCE_NEW_CLUSTER"),
        Field("heartbeat_interval", .int, env: "ETCD_HEARTBEAT_INTERVAL"),
        Field("initial_advertise_peer_urls", .string, env: "ETCD_INITIAL_ADVERTISE_PEER_URLS"),
        Field("initial_cluster", .string, env: "ETCD_INITIAL_CLUSTER"),
        Field("initial_cluster_state", .string, env: "ETCD_INITIAL_CLUSTER_STATE"),
        Field("initial_cluster_token", .string, env: "ETCD_INITIAL_CLUSTER_TOKEN"),
        Field("key_file", .string, env: "ETCD_KEY_FILE"),
        Field("listen_client_urls", .string, env: "ETCD_LISTEN_CLIENT_URLS"),
        Field("listen_peer_urls", .string, env: "ETCD_LISTEN_PEER_URLS"),
        Field("log_package_levels", .string, env: "ETCD_LOG_PACKAGE_LEVELS"),
        Field("max_snapshots", .int, env: "ETCD_MAX_SNAPSHOTS"),
        Field("max_wals", .int, env: "ETCD_MAX_WALS"),
        Field("name", .string, env: "ETCD_NAME"),
        Field("peer_ca_file", .string, env: "ETCD_PEER_CA_FILE", deprecated: "peer_ca_file obsoleted peer_trusted_ca_file and peer_client_cert_auth"),
        Field("peer_cert_file", .string, env: "ETCD_PEER_CERT_FILE"),
        Field("peer_key_file", .string, env: "ETCD_PEER_KEY_FILE"),
        Field("peer_client_cert_auth", .bool, env: "ETCD_PEER_CLIENT_CERT_AUTH"),
        Field("peer_trusted_ca_file", .string, env: "ETCD_PEER_TRUSTED_CA_FILE"),
        Field("proxy", .string, env: "ETCD_PROXY", valid: .oneOf("on", "off", "readonly")),
        Field("proxy_dial_timeout", .int, env: "ETCD_PROXY_DIAL_TIMEOUT"),
        Field("proxy_failure_wait", .int, env: "ETCD_PROXY_FAILURE_WAIT"),
        Field("proxy_read_timeout", .int, env: "ETCD_PROXY_READ_TIMEOUT"),
        Field("proxy_refresh_interval", .int, env: "ETCD_PROXY_REFRESH_INTERVAL"),
        Field("proxy_write_timeout", .int, env: "ETCD_PROXY_WRITE_TIMEOUT"),
        Field("snapshot_count", .int, env: "ETCD_SNAPSHOT_COUNT"),
        Field("strict_reconfig_check", .bool, env: "ETCD_STRICT_RECONFIG_CHECK"),
        Field("trusted_ca_file", .string, env: "ETCD_TRUSTED_CA_FILE"),
        Field("wal_dir", .string, env: "ETCD_WAL_DIR"),
    ])

    static let etcd2OptionsGone = "etcd2 options no longer work for etcd"

    /// etcd 0.4's keys; those etcd2 introduced are deprecated here.
    static let etcd = Schema([
        Field("addr", .string, env: "ETCD_ADDR"),
        Field("advertise_client_urls", .string, env: "ETCD_ADVERTISE_CLIENT_URLS", deprecated: etcd2OptionsGone),
        Field("bind_addr", .string, env: "ETCD_BIND_ADDR"),
        Field("ca_file", .string, env: "ETCD_CA_FILE"),
        Field("cert_file", .string, env: "ETCD_CERT_FILE"),
        Field("cluster_active_size", .int, env: "ETCD_CLUSTER_ACTIVE_SIZE"),
        Field("cluster_remove_delay", .float, env: "ETCD_CLUSTER_REMOVE_DELAY"),
        Field("cluster_sync_interval", .float, env: "ETCD_CLUSTER_SYNC_INTERVAL"),
        Field("cors", .string, env: "ETCD_CORS"),
        Field("data_dir", .string, env: "ETCD_DATA_DIR"),
        Field("discovery", .string, env: "ETCD_DISCOVERY"),
        Field("discovery_fallback", .string, env: "ETCD_DISCOVERY_FALLBACK", deprecated: etcd2OptionsGone),
        Field("discovery_srv", .string, env: "ETCD_DISCOVERY_SRV", deprecated: etcd2OptionsGone),
        Field("discovery_proxy", .string, env: "ETCD_DISCOVERY_PROXY", deprecated: etcd2OptionsGone),
        Field("election_timeout", .int, env: "ETCD_ELECTION_TIMEOUT", deprecated: etcd2OptionsGone),
        Field("force_new_cluster", .bool, env: "ETCD_FORCE_NEW_CLUSTER", deprecated: etcd2OptionsGone),
        Field("graphite_host", .string, env: "ETCD_GRAPHITE_HOST"),
        Field("heartbeat_interval", .int, env: "ETCD_HEARTBEAT_INTERVAL", deprecated: etcd2OptionsGone),
        Field("http_read_timeout", .float, env: "ETCD_HTTP_READ_TIMEOUT"),
        Field("http_write_timeout", .float, env: "ETCD_HTTP_WRITE_TIMEOUT"),
        Field("initial_advertise_peer_urls", .string, env: "ETCD_INITIAL_ADVERTISE_PEER_URLS", deprecated: etcd2OptionsGone),
        Field("initial_cluster", .string, env: "ETCD_INITIAL_CLUSTER", deprecated: etcd2OptionsGone),
        Field("initial_cluster_state", .string, env: "ETCD_INITIAL_CLUSTER_STATE", deprecated: etcd2OptionsGone),
        Field("initial_cluster_token", .string, env: "ETCD_INITIAL_CLUSTER_TOKEN", deprecated: etcd2OptionsGone),
        Field("key_file", .string, env: "ETCD_KEY_FILE"),
        Field("listen_client_urls", .string, env: "ETCD_LISTEN_CLIENT_URLS", deprecated: etcd2OptionsGone),
        Field("listen_peer_urls", .string, env: "ETCD_LISTEN_PEER_URLS", deprecated: etcd2OptionsGone),
        Field("max_result_buffer", .int, env: "ETCD_MAX_RESULT_BUFFER"),
        Field("max_retry_attempts", .int, env: "ETCD_MAX_RETRY_ATTEMPTS"),
        Field("max_snapshots", .int, env: "ETCD_MAX_SNAPSHOTS", deprecated: etcd2OptionsGone),
        Field("max_wals", .int, env: "ETCD_MAX_WALS", deprecated: etcd2OptionsGone),
        Field("name", .string, env: "ETCD_NAME"),
        Field("peer_addr", .string, env: "ETCD_PEER_ADDR"),
        Field("peer_bind_addr", .string, env: "ETCD_PEER_BIND_ADDR"),
        Field("peer_ca_file", .string, env: "ETCD_PEER_CA_FILE"),
        Field("peer_cert_file", .string, env: "ETCD_PEER_CERT_FILE"),
        Field("peer_election_timeout", .int, env: "ETCD_PEER_ELECTION_TIMEOUT"),
        Field("peer_heartbeat_interval", .int, env: "ETCD_PEER_HEARTBEAT_INTERVAL"),
        Field("peer_key_file", .string, env: "ETCD_PEER_KEY_FILE"),
        Field("peers", .string, env: "ETCD_PEERS"),
        Field("peers_file", .string, env: "ETCD_PEERS_FILE"),
        Field("proxy", .string, env: "ETCD_PROXY", deprecated: etcd2OptionsGone),
        Field("retry_interval", .float, env: "ETCD_RETRY_INTERVAL"),
        Field("snapshot", .bool, env: "ETCD_SNAPSHOT"),
        Field("snapshot_count", .int, env: "ETCD_SNAPSHOTCOUNT"),
        Field("trace", .string, env: "ETCD_TRACE"),
        Field("verbose", .bool, env: "ETCD_VERBOSE"),
        Field("very_verbose", .bool, env: "ETCD_VERY_VERBOSE"),
        Field("very_very_verbose", .bool, env: "ETCD_VERY_VERY_VERBOSE"),
    ])
}
