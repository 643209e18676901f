/// One member of a Raft cluster, as a pure state machine: the application feeds it ticks,
/// messages and requests, and collects the resulting work from `ready()`.
///
/// A struct, so that the only shared state is the storage the application writes to;
/// keep exactly one copy per member (a copy would share storage but not volatile state).
/// It owns no clock and no randomness: time is `tick()`, and election timeouts are drawn
/// from the generator passed in, so a seeded generator makes a run reproducible.
public struct RaftNode {
    public let id: NodeID
    let config: RaftConfig
    var rng: any RandomNumberGenerator
    var log: RaftLog

    public internal(set) var term: UInt64 = 0
    public internal(set) var vote: NodeID?
    public internal(set) var role = Role.follower
    public internal(set) var leader: NodeID?

    /// The leader's view of every voter, itself included.
    var progress: [NodeID: Progress] = [:]
    /// Votes received in the current (pre-)campaign.
    var votes: [NodeID: Bool] = [:]
    var pendingReads = PendingReads()
    /// Reads that arrived before this leader committed an entry of its own term: until then
    /// its commit index may lag the previous leader's, so they wait.
    var readsAwaitingCommit: [ReadRequest] = []
    var leadershipTransferee: NodeID?

    /// Ticks since the last election timeout; for a leader, since the last quorum check.
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0

    var outbox: [Message] = []
    var readStates: [ReadState] = []
    var reportedSoftState: SoftState
    var persistedHardState: HardState

    /// Starts or restarts a member from what `storage` holds.
    public init(config: RaftConfig, storage: any RaftStorage, rng: any RandomNumberGenerator) {
        config.validate()
        id = config.id
        self.config = config
        self.rng = rng
        log = RaftLog(storage: storage)
        let hardState = storage.initialState()
        precondition(hardState.commit <= log.lastIndex, "commit \(hardState.commit) beyond stored log \(log.lastIndex)")
        log.commit(to: hardState.commit)
        log.markApplied(through: config.applied)
        persistedHardState = hardState
        reportedSoftState = SoftState(leader: nil, role: .follower)
        becomeFollower(term: hardState.term, leader: nil)
        vote = hardState.vote
    }

    public var commitIndex: UInt64 { log.committed }
    public var appliedIndex: UInt64 { log.applied }
    public var lastIndex: UInt64 { log.lastIndex }
    public var softState: SoftState { SoftState(leader: leader, role: role) }
    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }

    var voters: [NodeID] { config.voters }
    var quorum: Int { voters.count / 2 + 1 }
    var isVoter: Bool { voters.contains(id) }

    // MARK: Requests from the application

    /// Advances logical time by one unit: followers count towards an election, leaders
    /// towards the next heartbeat and quorum check.
    public mutating func tick() {
        if role == .leader { tickLeader() } else { tickFollower() }
    }

    /// Starts an election now (with a pre-vote round if configured).
    public mutating func campaign() {
        startElection(isTransfer: false)
    }

    /// Proposes `data` for the log. A follower forwards it to the leader; without a leader it
    /// is dropped. Success means "accepted for now", not "committed": watch committed entries.
    public mutating func propose(_ data: [UInt8]) throws(RaftError) {
        switch role {
        case .leader:
            guard leadershipTransferee == nil else { throw .leadershipTransferInProgress }
            appendAndBroadcast([data])
        case .follower:
            guard let leader else { throw .noLeader }
            send(.forwardedProposal([data]), to: leader, term: 0)
        case .candidate, .preCandidate:
            throw .noLeader
        }
    }

    /// Asks for a linearizable read point; the answer arrives as a `ReadState` with `context`.
    public mutating func readIndex(context: [UInt8]) throws(RaftError) {
        switch role {
        case .leader:
            handleReadIndex(ReadRequest(from: id, context: context))
        case .follower:
            guard let leader else { throw .noLeader }
            send(.forwardedReadIndex(context: context), to: leader, term: 0)
        case .candidate, .preCandidate:
            throw .noLeader
        }
    }

    /// Asks the leader to hand leadership to `target`.
    public mutating func transferLeadership(to target: NodeID) throws(RaftError) {
        switch role {
        case .leader:
            handleTransferLeadership(to: target)
        case .follower:
            guard let leader else { throw .noLeader }
            send(.forwardedTransfer(target: target), to: leader, term: 0)
        case .candidate, .preCandidate:
            throw .noLeader
        }
    }

    /// Tells the leader whether a snapshot message reached `follower`; until then the leader
    /// sends that follower nothing but heartbeats.
    public mutating func reportSnapshot(to follower: NodeID, succeeded: Bool) {
        guard role == .leader, var peer = progress[follower], peer.state == .snapshot else { return }
        if !succeeded { peer.pendingSnapshotIndex = 0 }
        peer.becomeProbe()
        // Wait for the next heartbeat response before probing, as the follower may still be
        // restoring the snapshot.
        peer.probeSent = true
        progress[follower] = peer
    }

    /// Tells the leader a message to `follower` could not be sent: stop streaming, probe.
    public mutating func reportUnreachable(_ follower: NodeID) {
        guard role == .leader, progress[follower]?.state == .replicate else { return }
        progress[follower]?.becomeProbe()
    }

    // MARK: Messages

    /// Processes a message from another member.
    public mutating func step(_ message: Message) {
        precondition(message.to == id, "message for \(message.to) stepped into \(id)")
        if message.term > term {
            guard adoptHigherTerm(of: message) else { return }
        } else if message.term != 0 && message.term < term {
            answerStaleMessage(message)
            return
        }
        if case .voteRequest(let request) = message.kind {
            handleVoteRequest(request, from: message.from, term: message.term)
            return
        }
        switch role {
        case .leader: stepLeader(message)
        case .candidate, .preCandidate: stepCandidate(message)
        case .follower: stepFollower(message)
        }
    }

    // MARK: Ready / advance

    public var hasReady: Bool {
        softState != reportedSoftState || hardState != persistedHardState
            || log.hasPendingSnapshot || !log.unstable.entries.isEmpty
            || !outbox.isEmpty || !readStates.isEmpty || log.hasEntriesToApply
    }

    /// Collects the work accumulated since the last call; see `Ready` for what to do with it.
    public mutating func ready() -> Ready {
        var ready = Ready()
        if softState != reportedSoftState {
            ready.softState = softState
            reportedSoftState = softState
        }
        if hardState != persistedHardState { ready.hardState = hardState }
        ready.entries = log.unstable.entries
        ready.snapshot = log.unstable.snapshot
        ready.committedEntries = log.entriesToApply()
        ready.messages = outbox
        ready.readStates = readStates
        outbox = []
        readStates = []
        return ready
    }

    /// Records that `ready` was persisted and applied as `Ready` describes.
    public mutating func advance(_ ready: Ready) {
        if let hardState = ready.hardState { persistedHardState = hardState }
        if let snapshot = ready.snapshot {
            log.unstable.markSnapshotStable(at: snapshot.metadata.index)
            log.markApplied(through: snapshot.metadata.index)
        }
        if let last = ready.entries.last { log.unstable.markStable(through: last.index, term: last.term) }
        if let last = ready.committedEntries.last { log.markApplied(through: last.index) }
    }
}
