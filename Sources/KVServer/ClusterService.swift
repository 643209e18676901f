import EtcdAPI
import GRPCCore

/// This member as etcd's Member message shows it; the server fills it from its flags.
struct MemberInfo: Hashable, Sendable {
    var id: UInt64
    var name: String
    var peerURLs: [String]
    var clientURLs: [String]
}

/// etcd's Cluster service for a single-member server: it lists the member, and
/// refuses reconfiguration with the errors etcd gives when a change would leave
/// the cluster without enough started voters (kvd has no peer transport yet).
struct ClusterService: Etcdserverpb_Cluster.SimpleServiceProtocol {
    let node: ReplicatedNode<KVStateMachine>
    let identity: ResponseHeaderContext
    let member: MemberInfo

    static let notEnoughStartedMembers = RPCError(
        code: .failedPrecondition, message: "etcdserver: re-configuration failed due to not enough started members")
    static let memberNotFound = RPCError(code: .notFound, message: "etcdserver: member not found")

    func memberAdd(request: Etcdserverpb_MemberAddRequest, context: ServerContext) async throws -> Etcdserverpb_MemberAddResponse {
        if request.peerUrls.contains(where: { member.peerURLs.contains($0) }) {
            throw RPCError(code: .failedPrecondition, message: "etcdserver: Peer URLs already exists")
        }
        throw Self.notEnoughStartedMembers
    }

    func memberRemove(request: Etcdserverpb_MemberRemoveRequest, context: ServerContext) async throws -> Etcdserverpb_MemberRemoveResponse {
        try checkIsThisMember(request.id)
        throw Self.notEnoughStartedMembers
    }

    func memberUpdate(request: Etcdserverpb_MemberUpdateRequest, context: ServerContext) async throws -> Etcdserverpb_MemberUpdateResponse {
        try checkIsThisMember(request.id)
        throw Self.notEnoughStartedMembers
    }

    func memberList(request: Etcdserverpb_MemberListRequest, context: ServerContext) async throws -> Etcdserverpb_MemberListResponse {
        Etcdserverpb_MemberListResponse(revision: 0, context: identity.withTerm(of: node)) { $0.members = [memberMessage] }
    }

    /// The only member is a voter, and etcd refuses to promote a voter.
    func memberPromote(request: Etcdserverpb_MemberPromoteRequest, context: ServerContext) async throws -> Etcdserverpb_MemberPromoteResponse {
        try checkIsThisMember(request.id)
        throw RPCError(code: .failedPrecondition, message: "etcdserver: can only promote a learner member")
    }

    private var memberMessage: Etcdserverpb_Member {
        var message = Etcdserverpb_Member()
        message.id = member.id
        message.name = member.name
        message.peerUrls = member.peerURLs
        message.clientUrls = member.clientURLs
        return message
    }

    private func checkIsThisMember(_ id: UInt64) throws(RPCError) {
        guard id == member.id else { throw Self.memberNotFound }
    }
}

// etcd's ClusterServer header carries no revision: these responses leave it 0.
extension Etcdserverpb_MemberListResponse: EtcdResponseMessage {}
