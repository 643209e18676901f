// KV service: requests checked as etcd's v3rpc/key.go checks them before they
// reach Raft, then mapped onto the store's values; responses mapped back.

import EtcdAPI
import GRPCWire
import MVCC

/// How a Range is served: linearizable reads wait for a ReadIndex, serializable
/// ones read the local store at once. Only a top-level Range decides; the ranges
/// inside a txn are applied through Raft like the rest of it.
enum ReadConsistency: Hashable, Sendable {
    case linearizable
    case serializable
}

extension Etcdserverpb_RangeRequest {
    var consistency: ReadConsistency { serializable ? .serializable : .linearizable }
}

extension RangeRequest {
    /// checkRangeRequest. The sort enums share etcd's numbers, so a number
    /// either enum lacks is an unknown option.
    init(_ message: Etcdserverpb_RangeRequest) throws(GRPCStatus) {
        if message.key.isEmpty { throw GRPCStatus(.emptyKey) }
        guard let sortOrder = SortOrder(rawValue: message.sortOrder.rawValue),
            let sortTarget = SortTarget(rawValue: message.sortTarget.rawValue)
        else { throw .invalidSortOption }
        self.init(
            key: Array(message.key), rangeEnd: Array(message.rangeEnd), limit: message.limit,
            revision: message.revision, sortOrder: sortOrder, sortTarget: sortTarget,
            keysOnly: message.keysOnly, countOnly: message.countOnly,
            minModRevision: message.minModRevision, maxModRevision: message.maxModRevision,
            minCreateRevision: message.minCreateRevision, maxCreateRevision: message.maxCreateRevision
        )
    }
}

extension PutRequest {
    /// checkPutRequest, in etcd's order.
    init(_ message: Etcdserverpb_PutRequest) throws(GRPCStatus) {
        if message.key.isEmpty { throw GRPCStatus(.emptyKey) }
        if message.ignoreValue && !message.value.isEmpty { throw GRPCStatus(.valueProvided) }
        if message.ignoreLease && message.lease != 0 { throw GRPCStatus(.leaseProvided) }
        self.init(
            key: Array(message.key), value: Array(message.value), lease: message.lease,
            prevKv: message.prevKv, ignoreValue: message.ignoreValue, ignoreLease: message.ignoreLease
        )
    }
}

extension DeleteRangeRequest {
    /// checkDeleteRequest.
    init(_ message: Etcdserverpb_DeleteRangeRequest) throws(GRPCStatus) {
        if message.key.isEmpty { throw GRPCStatus(.emptyKey) }
        self.init(key: Array(message.key), rangeEnd: Array(message.rangeEnd), prevKv: message.prevKv)
    }
}

extension Compare {
    /// etcd's compareKV takes the operand from target_union only when its case matches
    /// `target` (zero or empty otherwise, which the generated accessors return), and
    /// rejects no enum value: an unknown target compares as equal and an unknown result
    /// holds, though a VALUE compare still fails on a missing key. The store has no
    /// such compares, so those become version compares with the same outcome.
    init(_ message: Etcdserverpb_Compare) {
        let key = Array(message.key)
        let rangeEnd = Array(message.rangeEnd)
        let result = Result(rawValue: message.result.rawValue)
        let target: Target? =
            switch message.target {
            case .version: .version(message.version)
            case .create: .createRevision(message.createRevision)
            case .mod: .modRevision(message.modRevision)
            case .value: .value(Array(message.value))
            case .lease: .lease(message.lease)
            case .UNRECOGNIZED: nil
            }
        if let target, let result {
            self.init(key: key, rangeEnd: rangeEnd, target: target, result: result)
        } else if case .value = target {
            // Live keys have version >= 1; a missing key compares as version 0.
            self.init(key: key, rangeEnd: rangeEnd, target: .version(0), result: .greater)
        } else {
            let holds = (result ?? .equal) == .equal
            self.init(key: key, rangeEnd: rangeEnd, target: .version(-1), result: holds ? .greater : .less)
        }
    }
}

extension TxnRequest {
    /// etcd's Txn handler: checkTxnRequest, then the duplicate-key check (checkIntervals),
    /// both before the txn is proposed.
    init(_ message: Etcdserverpb_TxnRequest, maxOperations: Int) throws(GRPCStatus) {
        try self.init(checking: message, budget: maxOperations)
        do {
            try validate(maxOperations: maxOperations)
        } catch {
            throw GRPCStatus(error)
        }
    }

    /// checkTxnRequest, mapping as it goes in its order, so the first error is etcd's.
    /// A nested txn may use what its parent's largest op list left of the budget.
    fileprivate init(checking message: Etcdserverpb_TxnRequest, budget: Int) throws(GRPCStatus) {
        let operations = max(message.compare.count, message.success.count, message.failure.count)
        if operations > budget { throw GRPCStatus(.tooManyOperations) }
        if message.compare.contains(where: { $0.key.isEmpty }) { throw GRPCStatus(.emptyKey) }
        let map = { (op: Etcdserverpb_RequestOp) throws(GRPCStatus) in try RequestOp(op, budget: budget - operations) }
        self.init(
            compare: message.compare.map(Compare.init),
            success: try message.success.map(map),
            failure: try message.failure.map(map)
        )
    }
}

extension RequestOp {
    /// checkRequestOp: an op with no request set is "key not found".
    fileprivate init(_ message: Etcdserverpb_RequestOp, budget: Int) throws(GRPCStatus) {
        switch message.request {
        case .requestRange(let range): self = .range(try RangeRequest(range))
        case .requestPut(let put): self = .put(try PutRequest(put))
        case .requestDeleteRange(let delete): self = .deleteRange(try DeleteRangeRequest(delete))
        case .requestTxn(let txn): self = .txn(try TxnRequest(checking: txn, budget: budget))
        case nil: throw GRPCStatus(.keyNotFound)
        }
    }
}

/// KV.Compact as the store takes it. `physical` asks etcd to answer only once the
/// compaction is on disk; `Store.compact` has finished when it returns, so the flag
/// changes nothing and is not carried.
struct CompactionRequest: Hashable, Sendable {
    var revision: Int64

    init(_ message: Etcdserverpb_CompactionRequest) {
        revision = message.revision
    }
}

extension Etcdserverpb_RangeResponse: EtcdResponseMessage {
    init(_ response: RangeResponse, context: ResponseHeaderContext) {
        self.init(revision: response.revision, context: context) {
            $0.kvs = response.kvs.map(Mvccpb_KeyValue.init)
            $0.more = response.more
            $0.count = response.count
        }
    }
}

extension Etcdserverpb_PutResponse: EtcdResponseMessage {
    init(_ response: PutResponse, context: ResponseHeaderContext) {
        self.init(revision: response.revision, context: context) {
            if let prevKv = response.prevKv { $0.prevKv = Mvccpb_KeyValue(prevKv) }
        }
    }
}

extension Etcdserverpb_DeleteRangeResponse: EtcdResponseMessage {
    init(_ response: DeleteRangeResponse, context: ResponseHeaderContext) {
        self.init(revision: response.revision, context: context) {
            $0.deleted = response.deleted
            $0.prevKvs = response.prevKvs.map(Mvccpb_KeyValue.init)
        }
    }
}

extension Etcdserverpb_TxnResponse: EtcdResponseMessage {
    init(_ response: TxnResponse, context: ResponseHeaderContext) {
        self.init(revision: response.revision, context: context) {
            $0.succeeded = response.succeeded
            $0.responses = response.responses.map(Etcdserverpb_ResponseOp.init)
        }
    }
}

extension Etcdserverpb_ResponseOp {
    init(_ op: ResponseOp) {
        self.init()
        switch op {
        case .range(let range): response = .responseRange(.init(range, context: .nested))
        case .put(let put): response = .responsePut(.init(put, context: .nested))
        case .deleteRange(let delete): response = .responseDeleteRange(.init(delete, context: .nested))
        case .txn(let txn): response = .responseTxn(.init(txn, context: .nested))
        }
    }
}

extension Etcdserverpb_CompactionResponse: EtcdResponseMessage {
    init(_ response: CompactionResponse, context: ResponseHeaderContext) {
        self.init(revision: response.revision, context: context) { _ in }
    }
}
