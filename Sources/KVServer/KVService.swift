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

    typealias Reply<Response> = @Sendable (Result<Response, GRPCStatus>) -> Void

    func register(in methods: inout GRPCMethods) {
        methods.unary("/etcdserverpb.KV/Range", range)
        methods.unary("/etcdserverpb.KV/Put") { (request: Etcdserverpb_PutRequest, reply: @escaping Reply<Etcdserverpb_PutResponse>) in
            write(.put(request), reply) { guard case .put(let response) = $0 else { return nil }; return .init(response, context: $1) }
        }
        methods.unary("/etcdserverpb.KV/DeleteRange") { (request: Etcdserverpb_DeleteRangeRequest, reply: @escaping Reply<Etcdserverpb_DeleteRangeResponse>) in
            write(.deleteRange(request), reply) { guard case .deleteRange(let response) = $0 else { return nil }; return .init(response, context: $1) }
        }
        methods.unary("/etcdserverpb.KV/Txn") { (request: Etcdserverpb_TxnRequest, reply: @escaping Reply<Etcdserverpb_TxnResponse>) in
            write(.txn(request), reply) { guard case .txn(let response) = $0 else { return nil }; return .init(response, context: $1) }
        }
        methods.unary("/etcdserverpb.KV/Compact") { (request: Etcdserverpb_CompactionRequest, reply: @escaping Reply<Etcdserverpb_CompactionResponse>) in
            write(.compaction(request), reply) { guard case .compaction(let response) = $0 else { return nil }; return .init(response, context: $1) }
        }
    }

    /// Serializable reads may be stale by design; with one member the
    /// linearizable path costs no round trip, so both take it. The range runs
    /// on the loop, so no copy of the store outlives the call (a copy held
    /// across the next write would make that write copy the whole store).
    func range(_ request: Etcdserverpb_RangeRequest, reply: @escaping Reply<Etcdserverpb_RangeResponse>) {
        let rangeRequest: RangeRequest
        do { rangeRequest = try RangeRequest(request) } catch { return reply(.failure(GRPCStatus(error))) }
        let identity = headerContext
        node.read { result in
            reply(Self.replicated(result).flatMap { machine in
                do throws(MVCCError) {
                    return .success(Etcdserverpb_RangeResponse(try machine.store.range(rangeRequest), context: identity))
                } catch {
                    return .failure(GRPCStatus(EtcdStatus(error)))
                }
            })
        }
    }

    /// Replicates a write and answers with its response, or with etcd's status for it.
    private func write<Response>(
        _ command: KVStateMachine.Command, _ reply: @escaping Reply<Response>,
        _ message: @escaping @Sendable (KVStateMachine.Response, ResponseHeaderContext) -> Response?
    ) {
        let identity = headerContext
        node.propose(command) { result in
            reply(Self.replicated(result).flatMap { output in
                switch output.result {
                case .success(let response): return .success(message(response, identity)!)
                case .failure(let status): return .failure(GRPCStatus(status))
                }
            })
        }
    }

    private var headerContext: ResponseHeaderContext {
        var context = identity
        context.raftTerm = node.currentStatistics.term
        return context
    }

    /// A replication failure as etcd reports it.
    static func replicated<T>(_ result: Result<T, ReplicationError>) -> Result<T, GRPCStatus> {
        result.mapError(GRPCStatus.init)
    }
}

extension GRPCStatus {
    init(_ status: EtcdStatus) {
        self.init(Code(rawValue: status.code.rawValue) ?? .unknown, status.message)
    }

    init(_ error: ReplicationError) {
        switch error {
        case .noLeader: self.init(.unavailable, "etcdserver: no leader")
        case .stopped: self.init(.unavailable, "etcdserver: server stopped")
        }
    }
}

/// Runs a mapping step, turning etcd's status into the gRPC status clients match on.
func etcdStatus<T>(_ body: () throws(EtcdStatus) -> T) throws(GRPCStatus) -> T {
    do { return try body() } catch { throw GRPCStatus(error) }
}

/// Runs a request through the node, turning replication failures into etcd's errors.
func replicated<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ReplicationError {
        throw GRPCStatus(error)
    }
}
