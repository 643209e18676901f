import CoreboxCore
import EtcdAPI
import GRPCWire
import MVCC
import Synchronization

/// etcd's Maintenance service for this single-member, in-memory server.
final class MaintenanceService: Sendable {
    /// The etcd release kvd answers as: etcdctl and client libraries gate features on it.
    static let version = "3.4.23"
    /// etcd's snapshot chunk size (v3rpc/maintenance.go).
    static let snapshotChunkSize = 32 * 1024

    let node: ReplicatedNode<KVStateMachine>
    let identity: ResponseHeaderContext
    let alarms: Alarms

    init(node: ReplicatedNode<KVStateMachine>, identity: ResponseHeaderContext, alarms: Alarms) {
        self.node = node
        self.identity = identity
        self.alarms = alarms
    }

    func register(in methods: inout GRPCMethods) {
        methods.unary("/etcdserverpb.Maintenance/Alarm", alarm)
        methods.unary("/etcdserverpb.Maintenance/Status", status)
        methods.unary("/etcdserverpb.Maintenance/Defragment", defragment)
        methods.unary("/etcdserverpb.Maintenance/Hash", hash)
        methods.unary("/etcdserverpb.Maintenance/HashKV", hashKV)
        methods.streaming("/etcdserverpb.Maintenance/Snapshot") { (requests: GRPCRequests<Etcdserverpb_SnapshotRequest>, response) in
            for try await request in requests { return try await self.snapshot(request: request, response: response) }
        }
        methods.unary("/etcdserverpb.Maintenance/MoveLeader", moveLeader)
    }

    func alarm(request: Etcdserverpb_AlarmRequest) async throws -> Etcdserverpb_AlarmResponse {
        let revision = try await node.currentRevision()
        let alarm = Alarms.Alarm(memberID: request.memberID, type: request.alarm)
        let answered: [Alarms.Alarm] = alarms.update { raised in
            switch request.action {
            case .get:
                // etcd's alarmStore.Get: NONE lists every alarm.
                return raised.filter { request.alarm == .none || $0.type == request.alarm }.sorted { $0.memberID < $1.memberID }
            case .activate:
                raised.insert(alarm)
                return [alarm]
            case .deactivate:
                return raised.remove(alarm).map { [$0] } ?? []
            case .UNRECOGNIZED:
                return []
            }
        }
        return Etcdserverpb_AlarmResponse(revision: revision, context: identity.withTerm(of: node)) {
            $0.alarms = answered.map { alarm in
                var member = Etcdserverpb_AlarmMember()
                member.memberID = alarm.memberID
                member.alarm = alarm.type
                return member
            }
        }
    }

    /// The raised alarms' names (NOSPACE, CORRUPT), which /health reports on.
    var raisedAlarmNames: [String] { alarms.all.map { Self.name(of: $0.type) } }

    /// The store has no file: both sizes are its logical size, and the raft index
    /// is the applied one, which a single member commits and applies together.
    func status(request: Etcdserverpb_StatusRequest) async throws -> Etcdserverpb_StatusResponse {
        let (revision, size) = try await replicated { try await node.query { ($0.store.currentRevision, $0.store.logicalSize) } }
        let statistics = node.currentStatistics
        let raised = alarms.all
        return Etcdserverpb_StatusResponse(revision: revision, context: identity.withTerm(of: node)) {
            $0.version = Self.version
            $0.dbSize = size
            $0.dbSizeInUse = size
            $0.leader = statistics.isLeader ? identity.memberID : 0
            $0.raftIndex = statistics.appliedIndex
            $0.raftAppliedIndex = statistics.appliedIndex
            $0.raftTerm = statistics.term
            if !statistics.isLeader { $0.errors.append("etcdserver: no leader") }
            // etcd lists each alarm as its AlarmMember's text form.
            $0.errors += raised.map { "memberID:\($0.memberID) alarm:\(Self.name(of: $0.type)) " }
        }
    }

    /// Nothing to defragment in memory; etcd answers success with a header.
    func defragment(request: Etcdserverpb_DefragmentRequest) async throws -> Etcdserverpb_DefragmentResponse {
        return Etcdserverpb_DefragmentResponse(revision: try await node.currentRevision(), context: identity.withTerm(of: node)) { _ in }
    }

    /// etcd hashes its whole bolt file, which kvd does not have; the HashKV of the
    /// current revision serves the same purpose (comparing members).
    func hash(request: Etcdserverpb_HashRequest) async throws -> Etcdserverpb_HashResponse {
        let response = try await hashKV(revision: 0)
        return Etcdserverpb_HashResponse(revision: response.revision, context: identity.withTerm(of: node)) { $0.hash = response.hash }
    }

    func hashKV(request: Etcdserverpb_HashKVRequest) async throws -> Etcdserverpb_HashKVResponse {
        let response = try await hashKV(revision: request.revision)
        return Etcdserverpb_HashKVResponse(revision: response.revision, context: identity.withTerm(of: node)) {
            $0.hash = response.hash
            $0.compactRevision = response.compactRevision
        }
    }

    /// The MVCC snapshot in 32 KiB chunks, then its SHA-256 as a last message, as
    /// etcd sends its bolt file. etcdctl 3.4.23's `snapshot save` refuses a file whose
    /// size is not 32 past a multiple of 512 (bolt's pages), so the data is padded
    /// with zeros to a multiple of 512; a restore must drop them before `Store(snapshot:)`.
    func snapshot(
        request: Etcdserverpb_SnapshotRequest, response: GRPCWriter<Etcdserverpb_SnapshotResponse>
    ) async throws {
        var data = try await replicated { try await node.query { $0.store.snapshot() } }
        data += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        var digest = SHA256()
        var offset = 0
        while offset < data.count {
            let end = min(offset + Self.snapshotChunkSize, data.count)
            let chunk = data[offset..<end]
            digest.update(chunk)
            var message = Etcdserverpb_SnapshotResponse()
            message.remainingBytes = UInt64(data.count - end)
            message.blob = .init(chunk)
            response.write(message)
            offset = end
        }
        var trailer = Etcdserverpb_SnapshotResponse()
        trailer.blob = .init(digest.finalize())
        response.write(trailer)
    }

    /// A single member is already the leader: moving leadership to itself is the
    /// no-op etcd's raft makes of it; any other target is not a member.
    func moveLeader(request: Etcdserverpb_MoveLeaderRequest) async throws -> Etcdserverpb_MoveLeaderResponse {
        let statistics = node.currentStatistics
        guard statistics.isLeader else { throw GRPCStatus(.failedPrecondition, "etcdserver: not leader") }
        guard request.targetID == identity.memberID else {
            throw GRPCStatus(.failedPrecondition, "etcdserver: bad leader transferee")
        }
        return Etcdserverpb_MoveLeaderResponse(revision: try await node.currentRevision(), context: identity.withTerm(of: node)) { _ in }
    }

    private func hashKV(revision: Int64) async throws -> HashKVResponse {
        try await replicated {
            try await node.query { machine throws(GRPCStatus) in
                do throws(MVCCError) { return try machine.store.hashKV(revision: revision) } catch { throw GRPCStatus(error) }
            }
        }
    }

    private static func name(of type: Etcdserverpb_AlarmType) -> String {
        switch type {
        case .none: "NONE"
        case .nospace: "NOSPACE"
        case .corrupt: "CORRUPT"
        case .UNRECOGNIZED(let value): "\(value)"
        }
    }
}

extension Etcdserverpb_AlarmResponse: EtcdResponseMessage {}
extension Etcdserverpb_StatusResponse: EtcdResponseMessage {}
extension Etcdserverpb_DefragmentResponse: EtcdResponseMessage {}
extension Etcdserverpb_HashResponse: EtcdResponseMessage {}
extension Etcdserverpb_HashKVResponse: EtcdResponseMessage {}
extension Etcdserverpb_MoveLeaderResponse: EtcdResponseMessage {}
