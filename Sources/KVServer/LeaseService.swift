import EtcdAPI
import Glibc
import GRPCWire
import MVCC
import Synchronization

/// etcd's Lease service. Grants and revokes go through the log; keep-alives only
/// move this member's expiry instants (as etcd's leader does), and the expiry
/// loop proposes a revoke for each lease that runs out.
final class LeaseService: Sendable {
    let node: ReplicatedNode<KVStateMachine>
    let identity: ResponseHeaderContext
    /// Chooses IDs for grants that ask the server to, before proposing, so every member applies the same one.
    private let ids: Mutex<LeaseIDGenerator>

    init(node: ReplicatedNode<KVStateMachine>, identity: ResponseHeaderContext) {
        self.node = node
        self.identity = identity
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let milliseconds = UInt64(time.tv_sec) * 1000 + UInt64(time.tv_nsec) / 1_000_000
        ids = Mutex(LeaseIDGenerator(memberID: identity.memberID, unixMilliseconds: milliseconds))
    }

    func register(in methods: inout GRPCMethods) {
        methods.unary("/etcdserverpb.Lease/LeaseGrant", leaseGrant)
        methods.unary("/etcdserverpb.Lease/LeaseRevoke", leaseRevoke)
        methods.streaming("/etcdserverpb.Lease/LeaseKeepAlive", leaseKeepAlive)
        methods.unary("/etcdserverpb.Lease/LeaseTimeToLive", leaseTimeToLive)
        methods.unary("/etcdserverpb.Lease/LeaseLeases", leaseLeases)
    }

    func leaseGrant(request: Etcdserverpb_LeaseGrantRequest) async throws -> Etcdserverpb_LeaseGrantResponse {
        var request = request
        if request.id == 0 { request.id = ids.withLock { $0.next() } }
        guard case .leaseGrant(let response) = try await node.write(.leaseGrant(request)) else { preconditionFailure("grant answered otherwise") }
        return Etcdserverpb_LeaseGrantResponse(response, context: identity.withTerm(of: node))
    }

    func leaseRevoke(request: Etcdserverpb_LeaseRevokeRequest) async throws -> Etcdserverpb_LeaseRevokeResponse {
        guard case .leaseRevoke(let response) = try await node.write(.leaseRevoke(request)) else { preconditionFailure("revoke answered otherwise") }
        return Etcdserverpb_LeaseRevokeResponse(response, context: identity.withTerm(of: node))
    }

    /// Answers every request on the stream with the renewed TTL, or TTL 0 for an
    /// unknown or expired lease; as in etcd 3.4, that does not end the stream.
    func leaseKeepAlive(
        request: GRPCRequests<Etcdserverpb_LeaseKeepAliveRequest>,
        response: GRPCWriter<Etcdserverpb_LeaseKeepAliveResponse>
    ) async throws {
        for try await message in request {
            let id = message.id
            let (renewal, revision) = try await replicated {
                try await node.updateLocally { machine in (machine.renewLease(id: id, now: .now), machine.store.currentRevision) }
            }
            let answer = try etcdStatus { () throws(EtcdStatus) in
                try Etcdserverpb_LeaseKeepAliveResponse(id: id, renewal: renewal, revision: revision, context: identity.withTerm(of: node))
            }
            response.write(answer)
        }
    }

    func leaseTimeToLive(request: Etcdserverpb_LeaseTimeToLiveRequest) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        let parsed = LeaseTimeToLiveRequest(request)
        let store = try await replicated { try await node.read().store }
        let result = Result { () throws(MVCCError) in try store.leaseTimeToLive(id: parsed.id, keys: parsed.keys, now: .now) }
        return try etcdStatus { () throws(EtcdStatus) in
            try Etcdserverpb_LeaseTimeToLiveResponse(result, id: parsed.id, revision: store.currentRevision, context: identity.withTerm(of: node))
        }
    }

    func leaseLeases(request: Etcdserverpb_LeaseLeasesRequest) async throws -> Etcdserverpb_LeaseLeasesResponse {
        let store = try await replicated { try await node.read().store }
        return Etcdserverpb_LeaseLeasesResponse(revision: store.currentRevision, context: identity.withTerm(of: node)) {
            $0.leases = store.leaseIDs.map { id in
                var status = Etcdserverpb_LeaseStatus()
                status.id = id
                return status
            }
        }
    }

    /// etcd's leader duty of revoking expired leases (which deletes their keys):
    /// every `interval`, one revoke proposal per lease past its TTL. The store never
    /// revokes by itself, so every member applies the same revokes. Cancel the task to stop.
    func runExpiry(every interval: Duration) -> Task<Void, Never> {
        Task { [node] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard node.currentStatistics.isLeader, let machine = try? await node.read() else { continue }
                for id in machine.store.expiredLeases(at: .now) {
                    var revoke = Etcdserverpb_LeaseRevokeRequest()
                    revoke.id = id
                    // A failure (lost leadership, a client revoked it first) is retried or moot next round.
                    _ = try? await node.propose(.leaseRevoke(revoke))
                }
            }
        }
    }
}

extension Etcdserverpb_LeaseLeasesResponse: EtcdResponseMessage {}

extension ReplicatedNode where Machine == KVStateMachine {
    /// Replicates a write and returns its response, or throws etcd's status for it.
    func write(_ command: KVStateMachine.Command) async throws -> KVStateMachine.Response {
        let output = try await replicated { try await propose(command) }
        switch output.result {
        case .success(let response): return response
        case .failure(let status): throw GRPCStatus(status)
        }
    }
}

extension ResponseHeaderContext {
    /// The header context with the node's current term, as etcd's header.fill does per response.
    func withTerm(of node: ReplicatedNode<KVStateMachine>) -> ResponseHeaderContext {
        var context = self
        context.raftTerm = node.currentStatistics.term
        return context
    }
}
