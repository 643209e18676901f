/// A linearizable read waiting for its index: who asked (the leader itself or a follower)
/// and the context that identifies it.
struct ReadRequest: Hashable {
    var from: NodeID
    var context: [UInt8]
}

/// Read requests waiting for a quorum to confirm that the leader still leads. Each records the
/// commit index when it arrived; it may be served once a quorum acknowledged a heartbeat sent
/// after that moment, since no other leader can have committed anything newer by then.
struct PendingReads {
    struct Pending {
        var request: ReadRequest
        var index: UInt64
        var acknowledgements: Set<NodeID>
    }

    private var byContext: [[UInt8]: Pending] = [:]
    private var order: [[UInt8]] = []

    /// The newest context: periodic heartbeats carry it, so a lost round is retried.
    var newestContext: [UInt8]? { order.last }

    mutating func add(_ request: ReadRequest, index: UInt64) {
        guard byContext[request.context] == nil else { return }
        byContext[request.context] = Pending(request: request, index: index, acknowledgements: [])
        order.append(request.context)
    }

    /// Counts `node`'s acknowledgement of the round for `context`; returns the count so far.
    mutating func acknowledge(_ context: [UInt8], from node: NodeID) -> Int {
        byContext[context]?.acknowledgements.insert(node)
        return byContext[context]?.acknowledgements.count ?? 0
    }

    /// Removes and returns the request for `context` and every older one: the round that
    /// confirmed it was sent after they all arrived.
    mutating func release(through context: [UInt8]) -> [Pending] {
        guard let position = order.firstIndex(of: context) else { return [] }
        let released = order[...position].compactMap { byContext.removeValue(forKey: $0) }
        order.removeFirst(position + 1)
        return released
    }
}
