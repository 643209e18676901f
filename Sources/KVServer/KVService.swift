import EtcdAPI
import GRPCWire
import MVCC

/// etcd's KV service (Range, Put, DeleteRange, Txn, Compact) on the replicated
/// store: the hot path. Each call hands its request to the node with a
/// completion and is answered from the loop thread; no task per call.
struct KVService: Sendable {
    let node: ReplicatedNode<KVStateMachine>
    /// The cluster and member IDs for response headers; the term is filled per response.
    let identity: ResponseHeaderContext
    let alarms: Alarms

    func register(in methods: inout GRPCMethods) {
        methods.unary("/etcdserverpb.KV/Range", range)
        methods.unary("/etcdserverpb.KV/Put") { (request: Etcdserverpb_PutRequest, reply: @escaping GRPCReply<Etcdserverpb_PutResponse>) in
            if let refused = alarms.admit(addsData: true) { return reply(.failure(refused)) }
            node.write(.put(request), identity: identity.withTerm(of: node), reply: reply) { guard case .put(let response) = $0 else { return nil }; return .init(response, context: $1) }
        }
        methods.unary("/etcdserverpb.KV/DeleteRange") { (request: Etcdserverpb_DeleteRangeRequest, reply: @escaping GRPCReply<Etcdserverpb_DeleteRangeResponse>) in
            node.write(.deleteRange(request), identity: identity.withTerm(of: node), reply: reply) { guard case .deleteRange(let response) = $0 else { return nil }; return .init(response, context: $1) }
        }
        methods.unary("/etcdserverpb.KV/Txn") { (request: Etcdserverpb_TxnRequest, reply: @escaping GRPCReply<Etcdserverpb_TxnResponse>) in
            if let refused = alarms.admit(addsData: request.puts) { return reply(.failure(refused)) }
            node.write(.txn(request), identity: identity.withTerm(of: node), reply: reply) { guard case .txn(let response) = $0 else { return nil }; return .init(response, context: $1) }
        }
        methods.unary("/etcdserverpb.KV/Compact") { (request: Etcdserverpb_CompactionRequest, reply: @escaping GRPCReply<Etcdserverpb_CompactionResponse>) in
            node.write(.compaction(request), identity: identity.withTerm(of: node), reply: reply) { guard case .compaction(let response) = $0 else { return nil }; return .init(response, context: $1) }
        }
    }

    /// Serializable reads may be stale by design; with one member the
    /// linearizable path costs no round trip, so both take it. The range runs
    /// on the loop, so no copy of the store outlives the call (a copy held
    /// across the next write would make that write copy the whole store).
    func range(_ request: Etcdserverpb_RangeRequest, reply: @escaping GRPCReply<Etcdserverpb_RangeResponse>) {
        let rangeRequest: RangeRequest
        do { rangeRequest = try RangeRequest(request) } catch { return reply(.failure(error)) }
        let identity = identity.withTerm(of: node)
        node.read { result in
            reply(result.mapError(GRPCStatus.init).flatMap { machine in
                do throws(MVCCError) {
                    return .success(Etcdserverpb_RangeResponse(try machine.store.range(rangeRequest), context: identity))
                } catch {
                    return .failure(GRPCStatus(error))
                }
            })
        }
    }

}

extension GRPCStatus {
    /// A replication failure as etcd reports it.
    init(_ error: ReplicationError) {
        switch error {
        case .noLeader: self.init(.unavailable, "etcdserver: no leader")
        case .stopped: self.init(.unavailable, "etcdserver: server stopped")
        }
    }
}

/// Runs a request through the node, turning replication failures into etcd's errors.
func replicated<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ReplicationError {
        throw GRPCStatus(error)
    }
}
