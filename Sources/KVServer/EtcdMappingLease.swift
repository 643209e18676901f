// Lease service. The store takes lease requests as arguments, so each maps to a
// small value the server can propose; the responses follow etcd's v3rpc/lease.go,
// which turns some "lease not found" errors into ordinary answers.

import EtcdAPI
import GRPCWire
import MVCC

/// LeaseGrant as `Store.grantLease` takes it. ID 0 asks the server to choose: it draws
/// from its `LeaseIDGenerator` before proposing, so every replica applies the same ID.
struct LeaseGrantRequest: Hashable, Sendable {
    var id: Int64
    /// Seconds; the store raises it to the minimum TTL and refuses more than etcd's maximum.
    var ttl: Int64

    init(_ message: Etcdserverpb_LeaseGrantRequest) {
        id = message.id
        ttl = message.ttl
    }
}

struct LeaseRevokeRequest: Hashable, Sendable {
    var id: Int64

    init(_ message: Etcdserverpb_LeaseRevokeRequest) {
        id = message.id
    }
}

struct LeaseTimeToLiveRequest: Hashable, Sendable {
    var id: Int64
    /// Whether to list the attached keys.
    var keys: Bool

    init(_ message: Etcdserverpb_LeaseTimeToLiveRequest) {
        id = message.id
        keys = message.keys
    }
}

extension Etcdserverpb_LeaseGrantResponse: EtcdResponseMessage {
    /// `error` stays empty: etcd reports a failed grant as a gRPC status, never in this field.
    init(_ response: LeaseGrantResponse, context: ResponseHeaderContext) {
        self.init(revision: response.revision, context: context) {
            $0.id = response.id
            $0.ttl = response.ttl
        }
    }
}

extension Etcdserverpb_LeaseRevokeResponse: EtcdResponseMessage {
    init(_ response: LeaseRevokeResponse, context: ResponseHeaderContext) {
        self.init(revision: response.revision, context: context) { _ in }
    }
}

extension Etcdserverpb_LeaseTimeToLiveResponse: EtcdResponseMessage {
    /// etcd answers an unknown lease with TTL -1 and no error. Its lessor leaves the
    /// header revision 0, which etcd's header.fill replaces with the store's current
    /// `revision`.
    init(
        _ result: Result<LeaseTimeToLiveResponse, MVCCError>, id: Int64, revision: Int64,
        context: ResponseHeaderContext
    ) throws(GRPCStatus) {
        if let response = try result.unlessLeaseNotFound() {
            self.init(revision: revision, context: context) {
                $0.id = response.id
                $0.ttl = response.ttl
                $0.grantedTtl = response.grantedTTL
                $0.keys = response.keys.map { .init($0) }
            }
        } else {
            self.init(revision: revision, context: context) {
                $0.id = id
                $0.ttl = -1
            }
        }
    }
}

extension Etcdserverpb_LeaseKeepAliveResponse: EtcdResponseMessage {
    /// One answer on the keep-alive stream: etcd answers an unknown or expired lease
    /// with TTL 0 and keeps the stream open. The header is taken before the renewal,
    /// so `revision` is the store's current one when the request arrived.
    init(id: Int64, renewal: Result<Int64, MVCCError>, revision: Int64, context: ResponseHeaderContext) throws(GRPCStatus) {
        let ttl = try renewal.unlessLeaseNotFound() ?? 0
        self.init(revision: revision, context: context) {
            $0.id = id
            $0.ttl = ttl
        }
    }
}

extension Result where Failure == MVCCError {
    /// The value, nil for the "lease not found" that etcd answers instead of failing,
    /// or etcd's status for any other error.
    func unlessLeaseNotFound() throws(GRPCStatus) -> Success? {
        switch self {
        case .success(let value): return value
        case .failure(.leaseNotFound): return nil
        case .failure(let error): throw GRPCStatus(error)
        }
    }
}
