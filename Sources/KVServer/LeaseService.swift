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
    let alarms: Alarms
    /// Chooses IDs for grants that ask the server to, before proposing, so every member applies the same one.
    private let ids: Mutex<LeaseIDGenerator>

    init(node: ReplicatedNode<KVStateMachine>, identity: ResponseHeaderContext, alarms: Alarms) {
        self.node = node
        self.identity = identity
        self.alarms = alarms
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let milliseconds = UInt64(time.tv_sec) * 1000 + UInt64(time.tv_nsec) / 1_000_000
        ids = Mutex(LeaseIDGenerator(memberID: identity.memberID, unixMilliseconds: milliseconds))
    }

    func register(in methods: inout GRPCMethods) {
        methods.unary("/etcdserverpb.Lease/LeaseGrant", leaseGrant)
        methods.unary("/etcdserverpb.Lease/LeaseRevoke") { [node, identity] (request: Etcdserverpb_LeaseRevokeRequest, reply: @escaping GRPCReply<Etcdserverpb_LeaseRevokeResponse>) in
            node.write(.leaseRevoke(request), identity: identity.withTerm(of: node), reply: reply) {
                guard case .leaseRevoke(let response) = $0 else { return nil }
                return .init(response, context: $1)
            }
        }
        methods.streaming("/etcdserverpb.Lease/LeaseKeepAlive", leaseKeepAlive)
        methods.unary("/etcdserverpb.Lease/LeaseTimeToLive", leaseTimeToLive)
        methods.unary("/etcdserverpb.Lease/LeaseLeases", leaseLeases)
    }

    func leaseGrant(_ request: Etcdserverpb_LeaseGrantRequest, reply: @escaping GRPCReply<Etcdserverpb_LeaseGrantResponse>) {
        if let refused = alarms.admit(addsData: true) { return reply(.failure(refused)) }
        var request = request
        if request.id == 0 { request.id = ids.withLock { $0.next() } }
        node.write(.leaseGrant(request), identity: identity.withTerm(of: node), reply: reply) {
            guard case .leaseGrant(let response) = $0 else { return nil }
            return .init(response, context: $1)
        }
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
            response.write(try Etcdserverpb_LeaseKeepAliveResponse(id: id, renewal: renewal, revision: revision, context: identity.withTerm(of: node)))
        }
    }

    func leaseTimeToLive(request: Etcdserverpb_LeaseTimeToLiveRequest) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        let parsed = LeaseTimeToLiveRequest(request)
        let context = identity.withTerm(of: node)
        return try await replicated {
            try await node.query { machine in
                let result = Result { () throws(MVCCError) in try machine.store.leaseTimeToLive(id: parsed.id, keys: parsed.keys, now: .now) }
                return try Etcdserverpb_LeaseTimeToLiveResponse(result, id: parsed.id, revision: machine.store.currentRevision, context: context)
            }
        }
    }

    func leaseLeases(request: Etcdserverpb_LeaseLeasesRequest) async throws -> Etcdserverpb_LeaseLeasesResponse {
        let (revision, ids) = try await replicated { try await node.query { ($0.store.currentRevision, $0.store.leaseIDs) } }
        return Etcdserverpb_LeaseLeasesResponse(revision: revision, context: identity.withTerm(of: node)) {
            $0.leases = ids.map { id in
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
                guard node.currentStatistics.isLeader, let expired = try? await node.query({ $0.store.expiredLeases(at: .now) }) else {
                    continue
                }
                for id in expired {
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
    /// The store's revision as of a linearizable read, or etcd's status for why there is none.
    func currentRevision() async throws -> Int64 {
        try await replicated { try await query { $0.store.currentRevision } }
    }

    /// Replicates a write and answers `reply` with the message `message` makes
    /// of its response (nil only for a response of another kind: a bug), or
    /// with etcd's status: no task, the answer comes from the loop.
    func write<Response>(
        _ command: KVStateMachine.Command, identity: ResponseHeaderContext, reply: @escaping GRPCReply<Response>,
        _ message: @escaping @Sendable (KVStateMachine.Response, ResponseHeaderContext) -> Response?
    ) {
        propose(command) { result in
            reply(result.mapError(GRPCStatus.init).flatMap { output in
                output.result.map { message($0, identity)! }
            })
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
