import EtcdAPI
import GRPCWire
import MVCC
import Synchronization

/// The raised alarms, etcd's alarm store. Maintenance.Alarm lists, raises and
/// disarms them; a write refused for want of space raises NOSPACE; while it is
/// raised, puts, txns that put and lease grants fail as in etcd's capped
/// applier, until `etcdctl alarm disarm`; /health and Status report them.
/// etcd replicates and persists alarms; here they live in memory, and after a
/// restart the first write that does not fit raises NOSPACE again.
final class Alarms: Sendable {
    struct Alarm: Hashable, Sendable {
        var memberID: UInt64
        var type: Etcdserverpb_AlarmType
    }

    private let raised = Mutex<Set<Alarm>>([])
    /// NOSPACE is raised: read on every write, so kept apart from the set.
    private let outOfSpace = Atomic<Bool>(false)

    static let noSpace = GRPCStatus(MVCCError.noSpace)

    var all: Set<Alarm> { raised.withLock { $0 } }

    /// Changes the set; NOSPACE's flag follows.
    func update<T>(_ body: (inout Set<Alarm>) -> T) -> T {
        raised.withLock { alarms in
            defer { outOfSpace.store(alarms.contains { $0.type == .nospace }, ordering: .relaxed) }
            return body(&alarms)
        }
    }

    /// After an applied write: one refused for want of space raises NOSPACE for `memberID`.
    func observe(_ result: Result<KVStateMachine.Response, GRPCStatus>, memberID: UInt64) {
        guard case .failure(let status) = result, status == Self.noSpace, !outOfSpace.load(ordering: .relaxed) else { return }
        update { _ = $0.insert(Alarm(memberID: memberID, type: .nospace)) }
    }

    /// NOSPACE for a write that would add data while the alarm is raised.
    func admit(addsData: Bool) -> GRPCStatus? {
        addsData && outOfSpace.load(ordering: .relaxed) ? Self.noSpace : nil
    }
}

extension Etcdserverpb_TxnRequest {
    /// Puts in either branch: what the quota counts (not those of a nested txn, as in etcd).
    var puts: Bool {
        (success + failure).contains { if case .requestPut = $0.request { true } else { false } }
    }
}
