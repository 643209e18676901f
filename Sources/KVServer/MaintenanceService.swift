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

/// SHA-256 (FIPS 180-4) for the snapshot trailer, which etcd computes with Go's
/// crypto/sha256; written here because the package does not depend on swift-crypto.
struct SHA256 {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    private var state: [UInt32] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]
    /// Bytes not yet making up a whole 64-byte block.
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    mutating func update(_ bytes: some Collection<UInt8>) {
        length &+= UInt64(bytes.count)
        pending += bytes
        var start = 0
        while pending.count - start >= 64 {
            compress(pending[start..<(start + 64)])
            start += 64
        }
        pending.removeFirst(start)
    }

    /// The 32-byte digest of everything passed to `update`.
    consuming func finalize() -> [UInt8] {
        let bits = length &* 8
        var padding: [UInt8] = [0x80]
        padding += [UInt8](repeating: 0, count: (119 - pending.count) % 64)
        padding += (0..<8).map { UInt8(truncatingIfNeeded: bits >> (56 - 8 * $0)) }
        let counted = length
        update(padding)
        length = counted
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } }
    }

    private mutating func compress(_ block: ArraySlice<UInt8>) {
        var w = [UInt32](repeating: 0, count: 64)
        let base = block.startIndex
        for t in 0..<16 {
            w[t] = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(block[base + 4 * t + $1]) }
        }
        for t in 16..<64 {
            let s0 = w[t - 15].rotatedRight(7) ^ w[t - 15].rotatedRight(18) ^ (w[t - 15] >> 3)
            let s1 = w[t - 2].rotatedRight(17) ^ w[t - 2].rotatedRight(19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, h) = (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7])
        for t in 0..<64 {
            let s1 = e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)
            let choice = (e & f) ^ (~e & g)
            let t1 = h &+ s1 &+ choice &+ Self.k[t] &+ w[t]
            let s0 = a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ majority
            (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
        }
        for (i, value) in [a, b, c, d, e, f, g, h].enumerated() { state[i] = state[i] &+ value }
    }
}

extension UInt32 {
    fileprivate func rotatedRight(_ count: UInt32) -> UInt32 { self >> count | self << (32 - count) }
}
