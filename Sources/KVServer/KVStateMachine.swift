import EtcdAPI
import GRPCWire
import Glibc
import MVCC
import SwiftProtobuf

/// kvd's replicated state: the MVCC store, changed only by etcd's write
/// requests as clients sent them, in log order.
///
/// A command is stored in the log as a kind byte and the request's protobuf
/// encoding, so the log holds what etcd's would. Lease expiry instants are
/// local to each member (as in etcd): applying reads this member's monotonic
/// clock, and only the leader acts on expiry.
struct KVStateMachine: ReplicatedStateMachine {
    enum Command: Sendable, Equatable {
        case put(Etcdserverpb_PutRequest)
        case deleteRange(Etcdserverpb_DeleteRangeRequest)
        case txn(Etcdserverpb_TxnRequest)
        case compaction(Etcdserverpb_CompactionRequest)
        /// The leader picks the lease ID before proposing, so every member grants the same one.
        case leaseGrant(Etcdserverpb_LeaseGrantRequest)
        case leaseRevoke(Etcdserverpb_LeaseRevokeRequest)
    }

    enum Response: Sendable {
        case put(PutResponse)
        case deleteRange(DeleteRangeResponse)
        case txn(TxnResponse)
        case compaction(CompactionResponse)
        case leaseGrant(LeaseGrantResponse)
        case leaseRevoke(LeaseRevokeResponse)
    }

    struct Output: Sendable {
        var result: Result<Response, GRPCStatus>
        /// The changes at the new revision, for watchers.
        var events: [Event]
        /// The store's revision after applying.
        var revision: Int64
    }

    private(set) var store: Store

    init(snapshot: [UInt8], configuration: StoreConfiguration) throws {
        store = snapshot.isEmpty
            ? Store(configuration: configuration) : try Store(snapshot: snapshot, now: .now, configuration: configuration)
    }

    func snapshot<E: Error>(_ emit: ([UInt8]) throws(E) -> Void) throws(E) { try store.snapshot(emit) }

    /// LeaseKeepAlive's renewal: a change to this member's expiry instants only,
    /// made through `ReplicatedNode.updateLocally`, never through the log.
    mutating func renewLease(id: Int64, now: MonotonicInstant) -> Result<Int64, MVCCError> {
        Result { () throws(MVCCError) in try store.renewLease(id: id, now: now) }
    }

    mutating func apply(_ command: Command, index: UInt64) -> Output {
        var events: [Event] = []
        let result = Result { () throws(GRPCStatus) -> Response in
            switch command {
            case .put(let message):
                let request = try PutRequest(message)
                return .put(try record(&events) { (store: inout Store) throws(MVCCError) in try store.put(request) })
            case .deleteRange(let message):
                let request = try DeleteRangeRequest(message)
                return .deleteRange(try record(&events) { (store: inout Store) throws(MVCCError) in try store.deleteRange(request) })
            case .txn(let message):
                let request = try TxnRequest(message, maxOperations: store.configuration.maxTxnOperations)
                return .txn(try record(&events) { (store: inout Store) throws(MVCCError) in try store.txn(request) })
            case .compaction(let message):
                do throws(MVCCError) { return .compaction(try store.compact(CompactionRequest(message).revision)) } catch { throw GRPCStatus(error) }
            case .leaseGrant(let message):
                let request = LeaseGrantRequest(message)
                do throws(MVCCError) { return .leaseGrant(try store.grantLease(id: request.id, ttl: request.ttl, now: .now)) } catch { throw GRPCStatus(error) }
            case .leaseRevoke(let message):
                let request = LeaseRevokeRequest(message)
                return .leaseRevoke(try record(&events) { (store: inout Store) throws(MVCCError) in try store.revokeLease(id: request.id) })
            }
        }
        return Output(result: result, events: events, revision: store.currentRevision)
    }

    /// Runs a write on the store, keeping its events and mapping its error.
    private mutating func record<R>(
        _ events: inout [Event], _ write: (inout Store) throws(MVCCError) -> WriteResult<R>
    ) throws(GRPCStatus) -> R {
        do {
            let result = try write(&store)
            events = result.events
            return result.response
        } catch {
            throw GRPCStatus(error)
        }
    }

    // MARK: Log encoding

    private enum Kind: UInt8 {
        case put = 1, deleteRange, txn, compaction, leaseGrant, leaseRevoke
    }

    static func encode(_ command: Command) -> [UInt8] {
        func bytes(_ kind: Kind, _ message: some SwiftProtobuf.Message) -> [UInt8] {
            // Serializing a message we hold cannot fail: all its fields are set and valid.
            [kind.rawValue] + (try! message.serializedBytes() as [UInt8])
        }
        switch command {
        case .put(let message): return bytes(.put, message)
        case .deleteRange(let message): return bytes(.deleteRange, message)
        case .txn(let message): return bytes(.txn, message)
        case .compaction(let message): return bytes(.compaction, message)
        case .leaseGrant(let message): return bytes(.leaseGrant, message)
        case .leaseRevoke(let message): return bytes(.leaseRevoke, message)
        }
    }

    static func decode(_ bytes: [UInt8]) -> Command? {
        guard let first = bytes.first, let kind = Kind(rawValue: first) else { return nil }
        let body = Array(bytes.dropFirst())
        switch kind {
        case .put: return (try? Etcdserverpb_PutRequest(serializedBytes: body)).map(Command.put)
        case .deleteRange: return (try? Etcdserverpb_DeleteRangeRequest(serializedBytes: body)).map(Command.deleteRange)
        case .txn: return (try? Etcdserverpb_TxnRequest(serializedBytes: body)).map(Command.txn)
        case .compaction: return (try? Etcdserverpb_CompactionRequest(serializedBytes: body)).map(Command.compaction)
        case .leaseGrant: return (try? Etcdserverpb_LeaseGrantRequest(serializedBytes: body)).map(Command.leaseGrant)
        case .leaseRevoke: return (try? Etcdserverpb_LeaseRevokeRequest(serializedBytes: body)).map(Command.leaseRevoke)
        }
    }
}

extension MonotonicInstant {
    /// This member's monotonic clock (CLOCK_MONOTONIC): lease expiry is measured on it.
    static var now: MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }
}
