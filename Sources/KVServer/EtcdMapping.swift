// The mapping between etcd's protobuf messages (EtcdAPI) and the MVCC store's
// own request and response values. What etcd's gRPC layer (v3rpc) does around
// the store lives here too: its request checks, its response headers and its
// gRPC statuses, so the store stays free of wire concerns.

import EtcdAPI
import GRPCWire
import MVCC

/// etcd's statuses: clients match both the code and the exact message.
extension GRPCStatus {
    /// etcd's togRPCError: the store's errors already carry etcd's code and text.
    init(_ error: MVCCError) {
        self.init(Code(rawValue: error.code.rawValue) ?? .unknown, error.message)
    }

    /// etcd 3.5's ErrGRPCInvalidSortOption. etcd 3.4 has no check and its Range
    /// panics on an unknown sort target, so the next release's answer is the one to give.
    static let invalidSortOption = GRPCStatus(.invalidArgument, "etcdserver: invalid sort option")
}

/// The parts of etcd's ResponseHeader the store does not know.
struct ResponseHeaderContext: Hashable, Sendable {
    var clusterID: UInt64
    var memberID: UInt64
    var raftTerm: UInt64

    /// etcd fills only the top-level header (v3rpc header.fill): the responses nested
    /// in a txn carry their revision alone, a nested txn's not even that.
    static let nested = ResponseHeaderContext(clusterID: 0, memberID: 0, raftTerm: 0)

    func header(revision: Int64) -> Etcdserverpb_ResponseHeader {
        var header = Etcdserverpb_ResponseHeader()
        header.clusterID = clusterID
        header.memberID = memberID
        header.revision = revision
        header.raftTerm = raftTerm
        return header
    }
}

/// The generated response messages, which all start from a header.
protocol EtcdResponseMessage {
    init()
    var header: Etcdserverpb_ResponseHeader { get set }
}

extension EtcdResponseMessage {
    /// A response whose header is always present, as etcd's is, even when all zero.
    init(revision: Int64, context: ResponseHeaderContext, fill: (inout Self) -> Void) {
        self.init()
        header = context.header(revision: revision)
        fill(&self)
    }
}

extension Mvccpb_KeyValue {
    init(_ kv: KeyValue) {
        self.init()
        key = .init(kv.key)
        createRevision = kv.createRevision
        modRevision = kv.modRevision
        version = kv.version
        value = .init(kv.value)
        lease = kv.lease
    }
}

extension Mvccpb_Event {
    /// A watch event. The store's events always carry the previous state when history
    /// holds it; etcd sends it only to watchers created with prev_kv.
    init(_ event: Event, prevKv includePrevKv: Bool) {
        self.init()
        type =
            switch event.kind {
            case .put: .put
            case .delete: .delete
            }
        kv = Mvccpb_KeyValue(event.kv)
        if includePrevKv, let previous = event.prevKv { prevKv = Mvccpb_KeyValue(previous) }
    }
}
