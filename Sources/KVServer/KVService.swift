import EtcdAPI
import GRPCCore
import MVCC

/// etcd's KV service (Range, Put, DeleteRange, Txn, Compact) on the replicated store.
struct KVService: Etcdserverpb_KV.SimpleServiceProtocol {
    let node: ReplicatedNode<KVStateMachine>
    /// The cluster and member IDs for response headers; the term is filled per response.
    let identity: ResponseHeaderContext

    func range(request: Etcdserverpb_RangeRequest, context: ServerContext) async throws -> Etcdserverpb_RangeResponse {
        let rangeRequest = try etcdStatus { () throws(EtcdStatus) in try RangeRequest(request) }
        // Serializable reads may be stale by design; with one member, the
        // linearizable path costs no round trip, so both take it.
        let store = try await replicated { try await node.read().store }
        let response = try etcdStatus { () throws(EtcdStatus) in
            do throws(MVCCError) { return try store.range(rangeRequest) } catch { throw EtcdStatus(error) }
        }
        return Etcdserverpb_RangeResponse(response, context: headerContext)
    }

    func put(request: Etcdserverpb_PutRequest, context: ServerContext) async throws -> Etcdserverpb_PutResponse {
        guard case .put(let response) = try await write(.put(request)) else { preconditionFailure("put answered otherwise") }
        return Etcdserverpb_PutResponse(response, context: headerContext)
    }

    func deleteRange(request: Etcdserverpb_DeleteRangeRequest, context: ServerContext) async throws -> Etcdserverpb_DeleteRangeResponse {
        guard case .deleteRange(let response) = try await write(.deleteRange(request)) else { preconditionFailure("delete answered otherwise") }
        return Etcdserverpb_DeleteRangeResponse(response, context: headerContext)
    }

    func txn(request: Etcdserverpb_TxnRequest, context: ServerContext) async throws -> Etcdserverpb_TxnResponse {
        guard case .txn(let response) = try await write(.txn(request)) else { preconditionFailure("txn answered otherwise") }
        return Etcdserverpb_TxnResponse(response, context: headerContext)
    }

    func compact(request: Etcdserverpb_CompactionRequest, context: ServerContext) async throws -> Etcdserverpb_CompactionResponse {
        guard case .compaction(let response) = try await write(.compaction(request)) else { preconditionFailure("compact answered otherwise") }
        return Etcdserverpb_CompactionResponse(response, context: headerContext)
    }

    private var headerContext: ResponseHeaderContext {
        var context = identity
        context.raftTerm = node.currentStatistics.term
        return context
    }

    /// Replicates a write and returns its response, or throws etcd's status for it.
    private func write(_ command: KVStateMachine.Command) async throws -> KVStateMachine.Response {
        let output = try await replicated { try await node.propose(command) }
        switch output.result {
        case .success(let response): return response
        case .failure(let status): throw RPCError(status)
        }
    }
}

extension RPCError {
    init(_ status: EtcdStatus) {
        let code = Status.Code(rawValue: status.code.rawValue).flatMap(RPCError.Code.init) ?? .unknown
        self.init(code: code, message: status.message)
    }
}

/// Runs a mapping step, turning etcd's status into the gRPC error clients match on.
func etcdStatus<T>(_ body: () throws(EtcdStatus) -> T) throws(RPCError) -> T {
    do { return try body() } catch { throw RPCError(error) }
}

/// Runs a request through the node, turning replication failures into etcd's errors.
func replicated<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch ReplicationError.noLeader {
        throw RPCError(code: .unavailable, message: "etcdserver: no leader")
    } catch ReplicationError.stopped {
        throw RPCError(code: .unavailable, message: "etcdserver: server stopped")
    }
}
