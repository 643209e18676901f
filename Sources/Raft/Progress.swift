/// The leader's view of one follower, driving flow control.
struct Progress {
    enum State {
        /// The match point is unknown: send one append at a time and wait for the answer.
        case probe
        /// The follower is in step: stream appends, up to `maxInflightMessages` unacknowledged.
        case replicate
        /// A snapshot is on its way; appends wait until it is acknowledged or reported.
        case snapshot
    }

    /// The highest index known to be on the follower.
    var match: UInt64
    /// The next index to send.
    var next: UInt64
    var state = State.probe
    var pendingSnapshotIndex: UInt64 = 0
    /// Heard from since the last check-quorum round; also gates snapshots to silent peers.
    var recentlyActive = false
    /// In probe state, one append is outstanding; a heartbeat response clears it.
    var probeSent = false
    var inflights: Inflights

    init(match: UInt64, next: UInt64, maxInflight: Int) {
        self.match = match
        self.next = next
        inflights = Inflights(capacity: maxInflight)
    }

    var isPaused: Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflights.isFull
        case .snapshot: true
        }
    }

    mutating func becomeProbe() {
        // After a snapshot the follower holds at least the snapshot's index.
        next = max(match, state == .snapshot ? pendingSnapshotIndex : 0) + 1
        enter(.probe)
    }

    mutating func becomeReplicate() {
        next = match + 1
        enter(.replicate)
    }

    mutating func becomeSnapshot(index: UInt64) {
        enter(.snapshot)
        pendingSnapshotIndex = index
    }

    private mutating func enter(_ newState: State) {
        state = newState
        probeSent = false
        pendingSnapshotIndex = 0
        inflights.removeAll()
    }

    /// Records an acknowledgement of `index`; returns whether the match point moved.
    mutating func acknowledge(_ index: UInt64) -> Bool {
        next = max(next, index + 1)
        guard index > match else { return false }
        match = index
        probeSent = false
        return true
    }

    /// Records that an append of `entries` went out.
    mutating func sent(_ entries: [Entry]) {
        switch state {
        case .replicate:
            if let last = entries.last {
                next = last.index + 1
                inflights.add(last.index)
            }
        case .probe:
            probeSent = true
        case .snapshot:
            preconditionFailure("append sent while a snapshot is pending")
        }
    }

    /// Moves `next` back after the follower rejected `rejected`, towards the hint it gave.
    /// Returns false for a stale rejection (one that answers an older append).
    mutating func backOff(rejected: UInt64, hint: UInt64) -> Bool {
        if state == .replicate {
            guard rejected > match else { return false }
            next = match + 1
            return true
        }
        guard next - 1 == rejected else { return false }
        next = max(min(rejected, hint + 1), match + 1)
        probeSent = false
        return true
    }
}

/// The last indexes of appends sent but not yet acknowledged, oldest first.
struct Inflights {
    let capacity: Int
    private var lastIndexes: [UInt64] = []

    init(capacity: Int) {
        self.capacity = capacity
    }

    var isFull: Bool { lastIndexes.count >= capacity }

    mutating func add(_ lastIndex: UInt64) {
        lastIndexes.append(lastIndex)
    }

    /// An acknowledgement of `index` covers every append ending at or before it.
    mutating func free(through index: UInt64) {
        lastIndexes.removeFirst(lastIndexes.prefix { $0 <= index }.count)
    }

    mutating func freeOldest() {
        lastIndexes.removeFirst()
    }

    mutating func removeAll() {
        lastIndexes.removeAll()
    }
}
