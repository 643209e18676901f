import EtcdAPI
import GRPCWire
import SwiftProtobuf

/// etcd's v3 API on one GRPCWire connection: a method per RPC kvctl makes,
/// failures turned into the text etcdctl prints for them.
final class EtcdClient: Sendable {
    let channel: GRPCChannel
    let endpoint: Endpoint

    private init(channel: GRPCChannel, endpoint: Endpoint) {
        self.channel = channel
        self.endpoint = endpoint
    }

    /// Connects to the first of `endpoints` that accepts, trying them in
    /// turn, again and again, until `deadline` (forever when nil): etcdctl's
    /// client does not fail to dial, its calls wait for a connection until
    /// their context ends ("context deadline exceeded").
    static func connect(
        _ endpoints: [Endpoint], dialTimeout: Duration, until deadline: ContinuousClock.Instant?
    ) async throws(EtcdError) -> EtcdClient {
        guard !endpoints.isEmpty else { throw EtcdError.noEndpoints }
        var pause = Duration.milliseconds(100)
        while true {
            for endpoint in endpoints {
                var timeout = dialTimeout > .zero ? dialTimeout : .seconds(3600)
                if let deadline {
                    let left = deadline - .now
                    guard left > .zero else { throw EtcdError.deadlineExceeded }
                    timeout = min(timeout, left)
                }
                if let channel = try? await GRPCChannel.connect(host: endpoint.host, port: endpoint.port, timeout: timeout) {
                    return EtcdClient(channel: channel, endpoint: endpoint)
                }
            }
            if let deadline {
                let left = deadline - .now
                guard left > .zero else { throw EtcdError.deadlineExceeded }
                pause = min(pause, left)
            }
            do { try await Task.sleep(for: pause) } catch { throw EtcdError("context canceled") }
            pause = min(pause * 2, .seconds(2))
        }
    }

    func close() async { await channel.close() }

    /// A unary call; `deadline` (none when nil) is sent as grpc-timeout and
    /// ends the call here when it passes first.
    func call<Request: Message, Response: Message>(
        _ method: EtcdMethod<Request, Response>, _ request: Request, until deadline: ContinuousClock.Instant?
    ) async throws(EtcdError) -> Response {
        var timeout: Duration?
        if let deadline {
            timeout = deadline - .now
            guard timeout! > .zero else { throw EtcdError.deadlineExceeded }
        }
        do {
            return try await channel.unary(method.path, request, timeout: timeout)
        } catch {
            throw EtcdError(error)
        }
    }

    /// A streaming call: Watch, LeaseKeepAlive, Snapshot.
    func stream<Request: Message, Response: Message>(_ method: EtcdMethod<Request, Response>) -> GRPCCall<Request, Response> {
        channel.stream(method.path, Response.self)
    }
}

extension GRPCStatus {
    /// What clientv3 retries rather than reports: a lost or refused connection.
    var isTransient: Bool { code == .unavailable || code == .internalError }
}

/// One of etcd's RPCs: its path, its request and response types.
struct EtcdMethod<Request: Message, Response: Message>: Sendable {
    let path: String
}

/// The RPCs kvctl makes.
enum EtcdRPC {
    static var range: EtcdMethod<Etcdserverpb_RangeRequest, Etcdserverpb_RangeResponse> { .init(path: "/etcdserverpb.KV/Range") }
    static var put: EtcdMethod<Etcdserverpb_PutRequest, Etcdserverpb_PutResponse> { .init(path: "/etcdserverpb.KV/Put") }
    static var deleteRange: EtcdMethod<Etcdserverpb_DeleteRangeRequest, Etcdserverpb_DeleteRangeResponse> { .init(path: "/etcdserverpb.KV/DeleteRange") }
    static var txn: EtcdMethod<Etcdserverpb_TxnRequest, Etcdserverpb_TxnResponse> { .init(path: "/etcdserverpb.KV/Txn") }
    static var watch: EtcdMethod<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse> { .init(path: "/etcdserverpb.Watch/Watch") }
    static var leaseGrant: EtcdMethod<Etcdserverpb_LeaseGrantRequest, Etcdserverpb_LeaseGrantResponse> { .init(path: "/etcdserverpb.Lease/LeaseGrant") }
    static var leaseRevoke: EtcdMethod<Etcdserverpb_LeaseRevokeRequest, Etcdserverpb_LeaseRevokeResponse> { .init(path: "/etcdserverpb.Lease/LeaseRevoke") }
    static var leaseTimeToLive: EtcdMethod<Etcdserverpb_LeaseTimeToLiveRequest, Etcdserverpb_LeaseTimeToLiveResponse> {
        .init(path: "/etcdserverpb.Lease/LeaseTimeToLive")
    }
    static var leaseLeases: EtcdMethod<Etcdserverpb_LeaseLeasesRequest, Etcdserverpb_LeaseLeasesResponse> { .init(path: "/etcdserverpb.Lease/LeaseLeases") }
    static var leaseKeepAlive: EtcdMethod<Etcdserverpb_LeaseKeepAliveRequest, Etcdserverpb_LeaseKeepAliveResponse> {
        .init(path: "/etcdserverpb.Lease/LeaseKeepAlive")
    }
    static var memberList: EtcdMethod<Etcdserverpb_MemberListRequest, Etcdserverpb_MemberListResponse> { .init(path: "/etcdserverpb.Cluster/MemberList") }
    static var status: EtcdMethod<Etcdserverpb_StatusRequest, Etcdserverpb_StatusResponse> { .init(path: "/etcdserverpb.Maintenance/Status") }
    static var snapshot: EtcdMethod<Etcdserverpb_SnapshotRequest, Etcdserverpb_SnapshotResponse> { .init(path: "/etcdserverpb.Maintenance/Snapshot") }
}

/// A failed call as etcdctl reports it (clientv3's toErr): etcd's own
/// errors by their message, a passed deadline as Go's context error, any
/// other status as grpc-go prints it.
struct EtcdError: Error, Equatable, CustomStringConvertible {
    let message: String
    /// The gRPC status, when a call ended with one.
    let code: GRPCStatus.Code?

    init(_ message: String) {
        self.message = message
        code = nil
    }

    static let deadlineExceeded = EtcdError("context deadline exceeded")
    static let noEndpoints = EtcdError("etcdclient: no available endpoints")

    init(_ status: GRPCStatus) {
        code = status.code
        if Self.etcdMessages.contains(status.message) {
            message = status.message
        } else {
            switch status.code {
            case .deadlineExceeded: message = "context deadline exceeded"
            case .failedPrecondition: message = "grpc: the client connection is closing"
            default: message = status.description
            }
        }
    }

    /// A status from a stream's end, which is any Error.
    init(_ error: any Error) {
        if let status = error as? GRPCStatus {
            self.init(status)
        } else if let error = error as? EtcdError {
            self = error
        } else {
            self.init("\(error)")
        }
    }

    var description: String { message }

    /// The server errors clientv3 knows by their text (rpctypes' table):
    /// etcdctl prints these bare.
    static let etcdMessages: Set<String> = [
        "etcdserver: key is not provided", "etcdserver: key not found", "etcdserver: value is provided",
        "etcdserver: lease is provided", "etcdserver: too many operations in txn request",
        "etcdserver: duplicate key given in txn request", "etcdserver: mvcc: required revision has been compacted",
        "etcdserver: mvcc: required revision is a future revision", "etcdserver: mvcc: database space exceeded",
        "etcdserver: requested lease not found", "etcdserver: lease already exists", "etcdserver: too large lease TTL",
        "etcdserver: member ID already exist", "etcdserver: Peer URLs already exists",
        "etcdserver: re-configuration failed due to not enough started members", "etcdserver: given member URLs are invalid",
        "etcdserver: member not found", "etcdserver: can only promote a learner member",
        "etcdserver: can only promote a learner member which is in sync with leader",
        "etcdserver: too many learner members in cluster", "etcdserver: request is too large", "etcdserver: too many requests",
        "etcdserver: root user does not exist", "etcdserver: root user does not have root role",
        "etcdserver: user name already exists", "etcdserver: user name is empty", "etcdserver: user name not found",
        "etcdserver: role name already exists", "etcdserver: role name not found", "etcdserver: role name is empty",
        "etcdserver: authentication failed, invalid user ID or password", "etcdserver: permission denied",
        "etcdserver: role is not granted to the user", "etcdserver: permission is not granted to the role",
        "etcdserver: authentication is not enabled", "etcdserver: invalid auth token", "etcdserver: invalid auth management",
        "etcdserver: revision of auth store is old", "etcdserver: no leader", "etcdserver: not leader",
        "etcdserver: leader changed", "etcdserver: not capable", "etcdserver: server stopped",
        "etcdserver: request timed out", "etcdserver: request timed out, possibly due to previous leader failure",
        "etcdserver: request timed out, possibly due to connection lost",
        "etcdserver: request timed out, waiting for the applied index took too long", "etcdserver: unhealthy cluster",
        "etcdserver: corrupt cluster", "etcdserver: rpc not supported for learner", "etcdserver: bad leader transferee",
    ]
}
