/// Identifies a member of the cluster. "No node" is spelled `nil`, so every value is usable.
public typealias NodeID = UInt64

/// One record of the replicated log. Only the leader creates entries; `(term, index)` names
/// an entry uniquely across the cluster, which is what the log-matching property relies on.
public struct Entry: Hashable, Sendable {
    public var term: UInt64
    public var index: UInt64
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.data = data
    }
}

/// The state a node must persist before it sends the messages of the same `Ready`:
/// losing `term` or `vote` could let it vote twice in one term.
public struct HardState: Hashable, Sendable {
    public var term: UInt64
    public var vote: NodeID?
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: NodeID? = nil, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// What a snapshot replaces: the log up to and including `index`, and the membership then.
/// Voters travel with the snapshot so that membership changes can be added later.
public struct SnapshotMetadata: Hashable, Sendable {
    public var index: UInt64
    public var term: UInt64
    public var voters: [NodeID]

    public init(index: UInt64 = 0, term: UInt64 = 0, voters: [NodeID] = []) {
        self.index = index
        self.term = term
        self.voters = voters
    }
}

/// The application's state as of `metadata.index`, opaque to Raft.
public struct Snapshot: Hashable, Sendable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata = SnapshotMetadata(), data: [UInt8] = []) {
        self.metadata = metadata
        self.data = data
    }

    /// The empty snapshot every fresh log starts from.
    public var isEmpty: Bool { metadata.index == 0 }
}

/// The answer to a `readIndex(context:)` call: once the application has applied up to
/// `index`, a read tagged with `context` sees every write committed before the call.
public struct ReadState: Hashable, Sendable {
    public var index: UInt64
    public var context: [UInt8]

    public init(index: UInt64, context: [UInt8]) {
        self.index = index
        self.context = context
    }
}

public enum Role: Hashable, Sendable {
    case follower
    /// Asking whether it could win before disturbing anyone's term (pre-vote).
    case preCandidate
    case candidate
    case leader
}

/// Volatile state the application may want to observe; never persisted.
public struct SoftState: Hashable, Sendable {
    public var leader: NodeID?
    public var role: Role

    public init(leader: NodeID?, role: Role) {
        self.leader = leader
        self.role = role
    }
}

/// Why a request was not accepted. Dropped requests are the caller's to retry.
public enum RaftError: Error, Hashable, Sendable {
    /// No leader is known (an election is under way), so there is nobody to take the request.
    case noLeader
    /// The leader is handing over leadership and takes no proposals meanwhile.
    case leadershipTransferInProgress
}
