import EtcdAPI

/// What `-w` chose: one method per kind of answer, each returning the bytes
/// etcdctl writes for it on standard output (bytes, not text: keys and
/// values are printed as they are, valid UTF-8 or not).
protocol ResponsePrinter: Sendable {
    func get(_ response: Etcdserverpb_RangeResponse) -> [UInt8]
    func put(_ response: Etcdserverpb_PutResponse) -> [UInt8]
    func del(_ response: Etcdserverpb_DeleteRangeResponse) -> [UInt8]
    func txn(_ response: Etcdserverpb_TxnResponse) -> [UInt8]
    func watch(_ response: Etcdserverpb_WatchResponse) -> [UInt8]

    func grant(_ response: Etcdserverpb_LeaseGrantResponse) -> [UInt8]
    func revoke(_ id: Int64, _ response: Etcdserverpb_LeaseRevokeResponse) -> [UInt8]
    func keepAlive(_ response: Etcdserverpb_LeaseKeepAliveResponse) -> [UInt8]
    func timeToLive(_ response: Etcdserverpb_LeaseTimeToLiveResponse, keys: Bool) -> [UInt8]
    func leases(_ response: Etcdserverpb_LeaseLeasesResponse) -> [UInt8]

    func memberList(_ response: Etcdserverpb_MemberListResponse) -> [UInt8]
    func endpointStatus(_ statuses: [EndpointStatus]) -> [UInt8]
    /// Endpoint health is the one answer the simple format writes on
    /// standard error; `healthGoesToStandardError` says where this printer's text goes.
    func endpointHealth(_ checks: [EndpointHealth]) -> [UInt8]
    var healthGoesToStandardError: Bool { get }
}

/// One endpoint's answer to `endpoint status`.
struct EndpointStatus: Sendable {
    var endpoint: String
    var status: Etcdserverpb_StatusResponse
}

/// One endpoint's result in `endpoint health`.
struct EndpointHealth: Sendable {
    var endpoint: String
    var healthy: Bool
    /// Go's Duration.String of the check's time ("1.2ms").
    var took: String
    /// Empty when healthy.
    var error: String
}

/// `-w` values: etcdctl has five; kvctl writes simple and json.
enum OutputFormat: String, Sendable {
    case simple, json

    /// The printer for `-w NAME`, or etcdctl's error for it (exit 4).
    static func printer(_ name: String, hex: Bool) throws(KVCtlError) -> any ResponsePrinter {
        switch name {
        case "simple": return SimplePrinter(hex: hex)
        case "json": return JSONPrinter()
        case "fields", "table", "protobuf": throw KVCtlError(.badFeature, "\(name) not supported as output format")
        default: throw KVCtlError(.badFeature, "unsupported output format")
        }
    }
}
