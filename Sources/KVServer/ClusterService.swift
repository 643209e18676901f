import EtcdAPI
import GRPCWire

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
struct ClusterService: Sendable {
    let node: ReplicatedNode<KVStateMachine>
    let identity: ResponseHeaderContext
    let member: MemberInfo

    func register(in methods: inout GRPCMethods) {
        methods.unary("/etcdserverpb.Cluster/MemberAdd", memberAdd)
        methods.unary("/etcdserverpb.Cluster/MemberRemove", memberRemove)
        methods.unary("/etcdserverpb.Cluster/MemberUpdate", memberUpdate)
        methods.unary("/etcdserverpb.Cluster/MemberList", memberList)
        methods.unary("/etcdserverpb.Cluster/MemberPromote", memberPromote)
    }

    static let notEnoughStartedMembers = GRPCStatus(.failedPrecondition, "etcdserver: re-configuration failed due to not enough started members")
    static let memberNotFound = GRPCStatus(.notFound, "etcdserver: member not found")

    func memberAdd(request: Etcdserverpb_MemberAddRequest) async throws -> Etcdserverpb_MemberAddResponse {
        if request.peerUrls.contains(where: { member.peerURLs.contains($0) }) {
            throw GRPCStatus(.failedPrecondition, "etcdserver: Peer URLs already exists")
        }
        throw Self.notEnoughStartedMembers
    }

    func memberRemove(request: Etcdserverpb_MemberRemoveRequest) async throws -> Etcdserverpb_MemberRemoveResponse {
        try checkIsThisMember(request.id)
        throw Self.notEnoughStartedMembers
    }

    func memberUpdate(request: Etcdserverpb_MemberUpdateRequest) async throws -> Etcdserverpb_MemberUpdateResponse {
        try checkIsThisMember(request.id)
        throw Self.notEnoughStartedMembers
    }

    func memberList(request: Etcdserverpb_MemberListRequest) async throws -> Etcdserverpb_MemberListResponse {
        Etcdserverpb_MemberListResponse(revision: 0, context: identity.withTerm(of: node)) { $0.members = [memberMessage] }
    }

    /// The only member is a voter, and etcd refuses to promote a voter.
    func memberPromote(request: Etcdserverpb_MemberPromoteRequest) async throws -> Etcdserverpb_MemberPromoteResponse {
        try checkIsThisMember(request.id)
        throw GRPCStatus(.failedPrecondition, "etcdserver: can only promote a learner member")
    }

    private var memberMessage: Etcdserverpb_Member {
        var message = Etcdserverpb_Member()
        message.id = member.id
        message.name = member.name
        message.peerUrls = member.peerURLs
        message.clientUrls = member.clientURLs
        return message
    }

    private func checkIsThisMember(_ id: UInt64) throws(GRPCStatus) {
        guard id == member.id else { throw Self.memberNotFound }
    }
}

// etcd's ClusterServer header carries no revision: these responses leave it 0.
extension Etcdserverpb_MemberListResponse: EtcdResponseMessage {}
