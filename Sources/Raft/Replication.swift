/// Log replication, commit, snapshots and reads: the leader's and the follower's sides.
extension RaftNode {
    /// Queues a message; `term` defaults to ours (forwarded requests pass 0).
    mutating func send(_ kind: Message.Kind, to recipient: NodeID, term messageTerm: UInt64? = nil) {
        outbox.append(Message(from: id, to: recipient, term: messageTerm ?? term, kind: kind))
    }

    // MARK: Leader

    mutating func stepLeader(_ message: Message) {
        switch message.kind {
        case .appendResponse(let response):
            handleAppendResponse(response, from: message.from)
        case .heartbeatResponse(let context):
            handleHeartbeatResponse(context: context, from: message.from)
        case .forwardedProposal(let proposals):
            // Dropped during a transfer, as a local proposal would be.
            if leadershipTransferee == nil { appendAndBroadcast(proposals) }
        case .forwardedReadIndex(let context):
            handleReadIndex(ReadRequest(from: message.from, context: context))
        case .forwardedTransfer(let target):
            handleTransferLeadership(to: target)
        default:
            break
        }
    }

    mutating func appendAndBroadcast(_ proposals: [[UInt8]]) {
        appendToLog(proposals)
        broadcastAppend()
    }

    /// Appends entries of the current term to the leader's own log, which counts as its
    /// own acknowledgement: the application persists them before sending the appends.
    mutating func appendToLog(_ proposals: [[UInt8]]) {
        let first = log.lastIndex + 1
        log.append(proposals.enumerated().map { Entry(term: term, index: first + UInt64($0.offset), data: $0.element) })
        _ = progress[id]?.acknowledge(log.lastIndex)
        _ = commitIfQuorumMatched()
    }

    /// Commits the highest index a quorum holds, if it is of the current term.
    mutating func commitIfQuorumMatched() -> Bool {
        let matches = voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        guard log.commitIfCurrentTerm(matches[quorum - 1], term: term) else { return false }
        // The first commit of this term makes the commit index trustworthy for reads.
        let waiting = readsAwaitingCommit
        readsAwaitingCommit = []
        for request in waiting { handleReadIndex(request) }
        return true
    }

    mutating func broadcastAppend() {
        for voter in voters where voter != id { sendAppend(to: voter) }
    }

    /// Sends `follower` the entries it needs next, or a snapshot if they were compacted.
    /// Returns whether a message went out. An empty append still carries the commit index.
    @discardableResult
    mutating func sendAppend(to follower: NodeID, sendIfEmpty: Bool = true) -> Bool {
        guard var peer = progress[follower], !peer.isPaused else { return false }
        defer { progress[follower] = peer }
        let previousIndex = peer.next - 1
        let previousTerm: UInt64
        let entries: [Entry]
        do {
            previousTerm = try log.term(of: previousIndex)
            entries = try log.entries(from: peer.next, maxCount: config.maxEntriesPerMessage)
        } catch .compacted {
            return sendSnapshot(to: follower, peer: &peer)
        } catch {
            preconditionFailure("entries for \(follower) from \(peer.next): \(error)")
        }
        guard !entries.isEmpty || sendIfEmpty else { return false }
        let request = AppendRequest(
            previousIndex: previousIndex, previousTerm: previousTerm, entries: entries, commit: log.committed)
        send(.append(request), to: follower)
        peer.sent(entries)
        return true
    }

    mutating func sendSnapshot(to follower: NodeID, peer: inout Progress) -> Bool {
        // A peer we have not heard from may be down; a snapshot is too costly to send blind.
        guard peer.recentlyActive else { return false }
        let snapshot: Snapshot
        do {
            snapshot = try log.snapshot()
        } catch .snapshotTemporarilyUnavailable {
            return false
        } catch {
            preconditionFailure("snapshot for \(follower): \(error)")
        }
        precondition(!snapshot.isEmpty, "entries compacted without a snapshot")
        peer.becomeSnapshot(index: snapshot.metadata.index)
        send(.snapshot(snapshot), to: follower)
        return true
    }

    mutating func handleAppendResponse(_ response: AppendResponse, from follower: NodeID) {
        guard var peer = progress[follower] else { return }
        peer.recentlyActive = true
        if let rejection = response.rejection {
            // The follower's hint names its last entry with a term at most ours there; find
            // our own last entry with a term at most that, and probe right after it.
            var hint = rejection.hintIndex
            if rejection.hintTerm > 0 {
                hint = log.lastIndex(atOrBefore: rejection.hintIndex, withTermAtMost: rejection.hintTerm).index
            }
            let backedOff = peer.backOff(rejected: response.index, hint: hint)
            if backedOff && peer.state == .replicate { peer.becomeProbe() }
            progress[follower] = peer
            if backedOff { sendAppend(to: follower) }
            return
        }
        let wasPaused = peer.isPaused
        let moved = peer.acknowledge(response.index)
        guard moved || (peer.state == .probe && peer.match == response.index) else {
            progress[follower] = peer
            return
        }
        switch peer.state {
        case .probe:
            peer.becomeReplicate()
        case .snapshot where peer.match + 1 >= log.firstIndex:
            // Caught up by the snapshot (or otherwise): appends can continue from here.
            peer.becomeProbe()
            peer.becomeReplicate()
        case .replicate:
            peer.inflights.free(through: response.index)
        case .snapshot:
            break
        }
        progress[follower] = peer
        if commitIfQuorumMatched() {
            broadcastAppend()
        } else if wasPaused {
            sendAppend(to: follower)
        }
        while sendAppend(to: follower, sendIfEmpty: false) {}
        if follower == leadershipTransferee && progress[follower]?.match == log.lastIndex {
            send(.timeoutNow, to: follower)
        }
    }

    mutating func broadcastHeartbeat(context: [UInt8]?) {
        for voter in voters where voter != id {
            // Never past what the follower holds: it could not commit entries it lacks.
            let commit = min(progress[voter]?.match ?? 0, log.committed)
            send(.heartbeat(commit: commit, context: context), to: voter)
        }
    }

    mutating func handleHeartbeatResponse(context: [UInt8]?, from follower: NodeID) {
        guard var peer = progress[follower] else { return }
        peer.recentlyActive = true
        peer.probeSent = false
        // If all streamed appends were lost, no acknowledgement will free the window: let one
        // more through, whose rejection then sends the follower back to probing.
        if peer.state == .replicate && peer.inflights.isFull { peer.inflights.freeOldest() }
        progress[follower] = peer
        if peer.match < log.lastIndex { sendAppend(to: follower) }
        guard let context, pendingReads.acknowledge(context, from: follower) >= quorum else { return }
        for read in pendingReads.release(through: context) { answerRead(read.request, index: read.index) }
    }

    // MARK: Reads

    mutating func handleReadIndex(_ request: ReadRequest) {
        if voters.count == 1 {
            // Nobody else could lead: the commit index is current.
            answerRead(request, index: log.committed)
        } else if !log.matchesTerm(at: log.committed, term) {
            readsAwaitingCommit.append(request)
        } else {
            pendingReads.add(request, index: log.committed)
            _ = pendingReads.acknowledge(request.context, from: id)
            broadcastHeartbeat(context: request.context)
        }
    }

    mutating func answerRead(_ request: ReadRequest, index: UInt64) {
        let state = ReadState(index: index, context: request.context)
        if request.from == id {
            readStates.append(state)
        } else {
            send(.readIndexResponse(state), to: request.from)
        }
    }

    // MARK: Follower

    mutating func stepFollower(_ message: Message) {
        switch message.kind {
        case .append(let request):
            heardFromLeader(message.from)
            handleAppend(request, from: message.from)
        case .heartbeat(let commit, let context):
            heardFromLeader(message.from)
            log.commit(to: commit)
            send(.heartbeatResponse(context: context), to: message.from)
        case .snapshot(let snapshot):
            heardFromLeader(message.from)
            let restored = restore(snapshot)
            send(.appendResponse(AppendResponse(index: restored ? log.lastIndex : log.committed)), to: message.from)
        case .timeoutNow:
            startElection(isTransfer: true)
        case .readIndexResponse(let state):
            readStates.append(state)
        default:
            // Forwarded requests reach a follower only when their sender's view of the
            // leader was stale; they are dropped like any lost message.
            break
        }
    }

    mutating func heardFromLeader(_ sender: NodeID) {
        electionElapsed = 0
        leader = sender
    }

    mutating func handleAppend(_ request: AppendRequest, from sender: NodeID) {
        guard request.previousIndex >= log.committed else {
            // Everything up to our commit index matches already.
            send(.appendResponse(AppendResponse(index: log.committed)), to: sender)
            return
        }
        if let lastMatched = log.appendIfConsistent(request) {
            send(.appendResponse(AppendResponse(index: lastMatched)), to: sender)
            return
        }
        let hint = log.lastIndex(
            atOrBefore: min(request.previousIndex, log.lastIndex), withTermAtMost: request.previousTerm)
        let rejection = AppendResponse.Rejection(hintIndex: hint.index, hintTerm: hint.term)
        send(.appendResponse(AppendResponse(index: request.previousIndex, rejection: rejection)), to: sender)
    }

    /// Replaces the log by `snapshot` if it is news; returns whether it did.
    mutating func restore(_ snapshot: Snapshot) -> Bool {
        let metadata = snapshot.metadata
        guard metadata.index > log.committed else { return false }
        if log.matchesTerm(at: metadata.index, metadata.term) {
            // We hold that entry already: just learn that it is committed.
            log.commit(to: metadata.index)
            return false
        }
        log.restore(snapshot)
        return true
    }
}
