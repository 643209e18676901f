public struct RaftConfig: Sendable {
    public var id: NodeID
    /// Every voting member, this node included. Fixed for the node's lifetime.
    public var voters: [NodeID]
    /// Ticks without a leader before a follower campaigns; the actual timeout is drawn from
    /// `electionTick ..< 2 * electionTick` so that candidates rarely collide.
    public var electionTick: Int
    /// Ticks between a leader's heartbeats; must be well below `electionTick`.
    public var heartbeatTick: Int
    /// Campaign only after a pre-vote round shows a quorum would grant the vote, so a node
    /// that was cut off does not raise the term and depose a working leader when it returns.
    public var preVote: Bool
    /// A leader steps down if a quorum was not heard from within an election timeout, and a
    /// follower that hears from its leader ignores vote requests (the leader lease).
    public var checkQuorum: Bool
    /// Unacknowledged appends per follower in the replicate state.
    public var maxInflightMessages: Int
    public var maxEntriesPerMessage: Int
    /// The index the application has already applied, on restart; committed entries after it
    /// are handed out again.
    public var applied: UInt64

    public init(
        id: NodeID, voters: [NodeID], electionTick: Int = 10, heartbeatTick: Int = 1,
        preVote: Bool = true, checkQuorum: Bool = true, maxInflightMessages: Int = 256,
        maxEntriesPerMessage: Int = 64, applied: UInt64 = 0
    ) {
        self.id = id
        self.voters = voters
        self.electionTick = electionTick
        self.heartbeatTick = heartbeatTick
        self.preVote = preVote
        self.checkQuorum = checkQuorum
        self.maxInflightMessages = maxInflightMessages
        self.maxEntriesPerMessage = maxEntriesPerMessage
        self.applied = applied
    }

    func validate() {
        precondition(!voters.isEmpty && Set(voters).count == voters.count, "voters must be distinct and non-empty")
        precondition(heartbeatTick > 0 && electionTick > heartbeatTick, "need 0 < heartbeatTick < electionTick")
        precondition(maxInflightMessages > 0 && maxEntriesPerMessage > 0, "flow-control limits must be positive")
    }
}
