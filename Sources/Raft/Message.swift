/// A message between nodes. The application delivers it to `to` by calling `step(_:)` there.
public struct Message: Hashable, Sendable {
    public var from: NodeID
    public var to: NodeID
    /// The sender's term. Forwarded requests (`forwardedProposal`, `forwardedReadIndex`,
    /// `forwardedTransfer`) carry 0: they are not bound to a term and skip term checks.
    public var term: UInt64
    public var kind: Kind

    public init(from: NodeID, to: NodeID, term: UInt64, kind: Kind) {
        self.from = from
        self.to = to
        self.term = term
        self.kind = kind
    }

    public enum Kind: Hashable, Sendable {
        case voteRequest(VoteRequest)
        /// A pre-vote grant carries the term the candidate asked for; a rejection the responder's.
        case voteResponse(isPreVote: Bool, granted: Bool)
        case append(AppendRequest)
        case appendResponse(AppendResponse)
        /// `commit` is capped at what the follower is known to hold; `context` tags a
        /// read-index round the follower must echo.
        case heartbeat(commit: UInt64, context: [UInt8]?)
        case heartbeatResponse(context: [UInt8]?)
        /// The application must report the outcome with `reportSnapshot(to:succeeded:)`.
        case snapshot(Snapshot)
        /// Leadership transfer: the receiver campaigns at once, ignoring leases and pre-vote.
        case timeoutNow
        case forwardedProposal([[UInt8]])
        case forwardedReadIndex(context: [UInt8])
        case forwardedTransfer(target: NodeID)
        case readIndexResponse(ReadState)
    }
}

public struct VoteRequest: Hashable, Sendable {
    public var isPreVote: Bool
    public var lastIndex: UInt64
    public var lastTerm: UInt64
    /// Set when a leader asked for this election; voters then ignore their leader lease.
    public var isLeadershipTransfer: Bool

    public init(isPreVote: Bool, lastIndex: UInt64, lastTerm: UInt64, isLeadershipTransfer: Bool) {
        self.isPreVote = isPreVote
        self.lastIndex = lastIndex
        self.lastTerm = lastTerm
        self.isLeadershipTransfer = isLeadershipTransfer
    }
}

public struct AppendRequest: Hashable, Sendable {
    /// The entry just before `entries`, which the follower must already hold (consistency check).
    public var previousIndex: UInt64
    public var previousTerm: UInt64
    public var entries: [Entry]
    public var commit: UInt64

    public init(previousIndex: UInt64, previousTerm: UInt64, entries: [Entry], commit: UInt64) {
        self.previousIndex = previousIndex
        self.previousTerm = previousTerm
        self.entries = entries
        self.commit = commit
    }
}

public struct AppendResponse: Hashable, Sendable {
    /// Accepted: the last index now known to match the leader's log.
    /// Rejected: the `previousIndex` that failed the consistency check.
    public var index: UInt64
    public var rejection: Rejection?

    public init(index: UInt64, rejection: Rejection? = nil) {
        self.index = index
        self.rejection = rejection
    }

    /// Fast back-off: the follower's last entry at or before the rejected index whose term is
    /// at most the leader's `previousTerm`, so the leader can skip whole terms in one round trip.
    public struct Rejection: Hashable, Sendable {
        public var hintIndex: UInt64
        /// 0 when the follower does not know the term there (compacted).
        public var hintTerm: UInt64

        public init(hintIndex: UInt64, hintTerm: UInt64) {
            self.hintIndex = hintIndex
            self.hintTerm = hintTerm
        }
    }
}
