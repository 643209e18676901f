/// Terms, votes, elections and role changes.
extension RaftNode {
    mutating func tickFollower() {
        electionElapsed += 1
        if electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            startElection(isTransfer: false)
        }
    }

    mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTick {
            electionElapsed = 0
            if config.checkQuorum {
                guard isQuorumActive() else {
                    becomeFollower(term: term, leader: nil)
                    return
                }
            }
            // A transfer that did not finish within an election timeout is abandoned, so
            // proposals are accepted again.
            leadershipTransferee = nil
        }
        if heartbeatElapsed >= config.heartbeatTick {
            heartbeatElapsed = 0
            broadcastHeartbeat(context: pendingReads.newestContext)
        }
    }

    /// Whether a quorum was heard from since the last check; starts the next round.
    mutating func isQuorumActive() -> Bool {
        let active = voters.filter { $0 == id || progress[$0]?.recentlyActive == true }.count
        for voter in voters where voter != id { progress[voter]?.recentlyActive = false }
        return active >= quorum
    }

    // MARK: Terms

    /// Handles a message from a higher term; returns whether to go on processing it.
    mutating func adoptHigherTerm(of message: Message) -> Bool {
        switch message.kind {
        case .voteRequest(let request):
            // Leader lease: while the leader is heard from, a candidate elsewhere is most
            // likely a node that was cut off, and must not depose it.
            let inLease = config.checkQuorum && leader != nil && electionElapsed < config.electionTick
            if inLease && !request.isLeadershipTransfer { return false }
            // A pre-vote asks about a term nobody has entered yet.
            if request.isPreVote { return true }
            becomeFollower(term: message.term, leader: nil)
        case .voteResponse(isPreVote: true, granted: true):
            // The grant carries the term we would campaign at; we adopt it when we campaign.
            return true
        case .append, .heartbeat, .snapshot:
            becomeFollower(term: message.term, leader: message.from)
        default:
            becomeFollower(term: message.term, leader: nil)
        }
        return true
    }

    /// Answers a message from a lower term where silence could leave its sender stuck.
    mutating func answerStaleMessage(_ message: Message) {
        switch message.kind {
        case .append, .heartbeat:
            // A deposed leader that never hears a higher term keeps sending; with pre-vote
            // or check-quorum we may never campaign against it, so tell it our term.
            if config.checkQuorum || config.preVote {
                send(.appendResponse(AppendResponse(index: 0)), to: message.from)
            }
        case .voteRequest(let request) where request.isPreVote:
            // Reject with our term, or a pre-candidate with a stale term could wait forever.
            send(.voteResponse(isPreVote: true, granted: false), to: message.from)
        default:
            break
        }
    }

    // MARK: Voting

    mutating func handleVoteRequest(_ request: VoteRequest, from candidate: NodeID, term requestTerm: UInt64) {
        let canVote = vote == candidate
            || (vote == nil && leader == nil)
            || (request.isPreVote && requestTerm > term)
        if canVote && log.isUpToDate(lastIndex: request.lastIndex, lastTerm: request.lastTerm) {
            send(.voteResponse(isPreVote: request.isPreVote, granted: true), to: candidate, term: requestTerm)
            if !request.isPreVote {
                electionElapsed = 0
                vote = candidate
            }
        } else {
            send(.voteResponse(isPreVote: request.isPreVote, granted: false), to: candidate)
        }
    }

    enum Campaign {
        case preVote, election
        /// Asked for by the leader: skips pre-vote and voters' leases.
        case transfer
    }

    /// Starts an election unless this node leads already or cannot vote.
    mutating func startElection(isTransfer: Bool) {
        guard role != .leader, isVoter else { return }
        campaign(isTransfer ? .transfer : config.preVote ? .preVote : .election)
    }

    mutating func campaign(_ kind: Campaign) {
        let campaigningRole: Role
        if kind == .preVote {
            becomePreCandidate()
            campaigningRole = .preCandidate
        } else {
            becomeCandidate()
            campaigningRole = .candidate
        }
        recordVote(from: id, granted: true)
        // A single voter has already won.
        guard role == campaigningRole else { return }
        let request = VoteRequest(
            isPreVote: kind == .preVote, lastIndex: log.lastIndex, lastTerm: log.lastTerm,
            isLeadershipTransfer: kind == .transfer)
        for voter in voters where voter != id {
            send(.voteRequest(request), to: voter, term: kind == .preVote ? term + 1 : term)
        }
    }

    /// Counts a vote and acts on the outcome once it is decided.
    mutating func recordVote(from voter: NodeID, granted: Bool) {
        if votes[voter] == nil { votes[voter] = granted }
        let grants = votes.values.filter { $0 }.count
        if grants >= quorum {
            if role == .preCandidate {
                campaign(.election)
            } else {
                becomeLeader()
                broadcastAppend()
            }
        } else if votes.count - grants > voters.count - quorum {
            becomeFollower(term: term, leader: nil)
        }
    }

    mutating func stepCandidate(_ message: Message) {
        switch message.kind {
        case .append, .heartbeat, .snapshot:
            // Someone won this term.
            becomeFollower(term: message.term, leader: message.from)
            stepFollower(message)
        case .voteResponse(let isPreVote, let granted) where isPreVote == (role == .preCandidate):
            recordVote(from: message.from, granted: granted)
        default:
            break
        }
    }

    // MARK: Role changes

    /// Clears everything that belongs to one term and one role.
    mutating func reset(term newTerm: UInt64) {
        if newTerm != term {
            term = newTerm
            vote = nil
        }
        leader = nil
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = config.electionTick + Int.random(in: 0..<config.electionTick, using: &rng)
        votes = [:]
        leadershipTransferee = nil
        pendingReads = PendingReads()
        readsAwaitingCommit = []
        progress = [:]
        for voter in voters {
            progress[voter] = Progress(
                match: voter == id ? log.lastIndex : 0, next: log.lastIndex + 1,
                maxInflight: config.maxInflightMessages)
        }
    }

    mutating func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID?) {
        reset(term: newTerm)
        leader = newLeader
        role = .follower
    }

    mutating func becomePreCandidate() {
        precondition(role != .leader, "a leader does not campaign")
        // Term and vote stay: a pre-vote changes nothing anyone has promised.
        votes = [:]
        leader = nil
        electionElapsed = 0
        role = .preCandidate
    }

    mutating func becomeCandidate() {
        precondition(role != .leader, "a leader does not campaign")
        reset(term: term + 1)
        vote = id
        role = .candidate
    }

    mutating func becomeLeader() {
        precondition(role == .candidate, "only a candidate can win")
        reset(term: term)
        leader = id
        role = .leader
        progress[id]?.becomeReplicate()
        // An entry of the new term: committing it commits everything before it (entries of
        // old terms are never committed by counting) and lets reads be served.
        appendToLog([[]])
    }

    // MARK: Leadership transfer

    mutating func handleTransferLeadership(to target: NodeID) {
        guard target != id, target != leadershipTransferee, let peer = progress[target] else { return }
        leadershipTransferee = target
        // The transfer gets one election timeout to finish.
        electionElapsed = 0
        if peer.match == log.lastIndex {
            send(.timeoutNow, to: target)
        } else {
            sendAppend(to: target)
        }
    }
}
