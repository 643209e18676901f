@testable import Raft

/// A deterministic run of a cluster over a faulty network: every random choice (delays, losses,
/// duplicates, partitions, crashes, proposals, election timeouts) comes from one seed, so a
/// failure replays exactly with `Simulation(seed:parameters:)`.
///
/// Time advances in rounds: every running member ticks once, then messages that are due are
/// delivered in random order. A message is due 0...`maxDelay` rounds after it was sent, which
/// reorders traffic. Safety is checked on every `Ready` (see `SafetyRecord`); after the chaos
/// the network heals and the cluster must elect a leader and commit within fixed bounds.
struct Simulation {
    struct Parameters: Sendable, CustomStringConvertible {
        var nodes = 3
        var rounds = 500
        var dropRate = 0.05
        var duplicateRate = 0.03
        var maxDelay = 2
        var crashRate = 0.01
        var restartRate = 0.1
        var partitionRate = 0.02
        var healRate = 0.1
        var proposalRate = 0.4
        var readRate = 0.2
        var transferRate = 0.01
        var preVote = true
        var checkQuorum = true
        /// Rounds allowed, once healed, to elect a leader and then to commit on every member.
        var electionBound = 100
        var commitBound = 50

        var description: String {
            "nodes \(nodes), rounds \(rounds), drop \(dropRate), duplicate \(duplicateRate), "
                + "preVote \(preVote), checkQuorum \(checkQuorum)"
        }
    }

    /// What the run exercised, so tests can insist that the faults actually happened.
    struct Statistics {
        var delivered = 0
        var dropped = 0
        var snapshotsDelivered = 0
        var crashes = 0
        var partitions = 0
        var readsServed = 0
        var leaderChanges = 0
    }

    let seed: UInt64
    let parameters: Parameters
    private(set) var statistics = Statistics()
    private var rng: SplitMix64
    private(set) var cluster: Cluster
    private var inFlight: [(due: Int, message: Message)] = []
    private var round = 0
    private var lossy = true
    private var proposals = 0
    /// For each read request: the highest index committed when it was made. The read index
    /// returned must not be below it, or the read could miss a completed write.
    private var committedAtRead: [[UInt8]: UInt64] = [:]
    private var lastLeader: NodeID?

    init(seed: UInt64, parameters: Parameters) {
        self.seed = seed
        self.parameters = parameters
        rng = SplitMix64(seed: seed)
        cluster = Cluster(size: parameters.nodes, seed: seed) { config in
            config.heartbeatTick = 2
            config.preVote = parameters.preVote
            config.checkQuorum = parameters.checkQuorum
            config.maxInflightMessages = 3
            config.maxEntriesPerMessage = 4
        }
        cluster.compactionThreshold = 20
    }

    /// Runs the whole scenario; returns a description of the first failure, naming the seed.
    mutating func run() -> String? {
        for _ in 0..<parameters.rounds {
            injectFaults()
            if let failure = runRound() { return failure }
        }
        heal()
        return checkLiveness()
    }

    private func failure(_ what: String) -> String {
        "seed \(seed) (\(parameters)), round \(round): \(what)\n" + cluster.ids.map { id in
            guard cluster.isUp(id) else { return "  \(id): down" }
            let node = cluster.node(id)
            return "  \(id): \(node.role) term \(node.term) leader \(node.leader.map(String.init) ?? "-") "
                + "last \(node.lastIndex) commit \(node.commitIndex) applied \(cluster.stateMachine(id).appliedIndex) "
                + "first \(cluster.storage(id).firstIndex) progress \(node.progress.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.state)/\($0.value.match)/\($0.value.next)/\($0.value.isPaused)" })"
        }.joined(separator: "\n")
    }

    private mutating func runRound() -> String? {
        round += 1
        for id in cluster.ids where cluster.isUp(id) {
            cluster.tick(id)
            send(cluster.processReady(id))
        }
        deliverDueMessages()
        checkReads()
        countLeaderChanges()
        return cluster.safety.violations.first.map(failure)
    }

    private mutating func injectFaults() {
        if cluster.partitionedSide.isEmpty {
            if rng.chance(parameters.partitionRate) {
                cluster.partitionedSide = Set(cluster.ids.filter { _ in rng.chance(0.5) })
                statistics.partitions += 1
            }
        } else if rng.chance(parameters.healRate) {
            cluster.partitionedSide = []
        }
        for id in cluster.ids {
            if cluster.isUp(id) {
                if rng.chance(parameters.crashRate) {
                    cluster.crash(id)
                    statistics.crashes += 1
                }
            } else if rng.chance(parameters.restartRate) {
                cluster.start(id)
            }
        }
        let running = cluster.ids.filter(cluster.isUp)
        if rng.chance(parameters.proposalRate), let id = running.randomElement(using: &rng) {
            proposals += 1
            try? cluster.with(id) { node throws(RaftError) in try node.propose(Array("p\(proposals)".utf8)) }
            send(cluster.processReady(id))
        }
        if rng.chance(parameters.readRate), let id = running.randomElement(using: &rng) {
            let context = Array("r\(committedAtRead.count)".utf8)
            committedAtRead[context] = cluster.safety.highestCommitted
            try? cluster.with(id) { node throws(RaftError) in try node.readIndex(context: context) }
            send(cluster.processReady(id))
        }
        if rng.chance(parameters.transferRate), let id = running.randomElement(using: &rng),
            let target = cluster.ids.randomElement(using: &rng)
        {
            try? cluster.with(id) { node throws(RaftError) in try node.transferLeadership(to: target) }
            send(cluster.processReady(id))
        }
    }

    /// Linearizable reads: every read index covers what was committed before the read began.
    private mutating func checkReads() {
        for id in cluster.ids {
            for read in cluster.members[id]!.readStates {
                statistics.readsServed += 1
                if let committed = committedAtRead[read.context], read.index < committed {
                    cluster.safety.fail("read \(read.context) on \(id) got index \(read.index), but \(committed) was committed before")
                }
            }
            cluster.members[id]!.readStates = []
        }
    }

    private mutating func countLeaderChanges() {
        if let leader = cluster.leaders.max(by: { $0.term < $1.term })?.id, leader != lastLeader {
            statistics.leaderChanges += 1
            lastLeader = leader
        }
    }

    private mutating func send(_ messages: [Message]) {
        for message in messages {
            guard !lossy || !rng.chance(parameters.dropRate) else {
                statistics.dropped += 1
                cluster.drop(message)
                continue
            }
            let copies = lossy && rng.chance(parameters.duplicateRate) ? 2 : 1
            for _ in 0..<copies {
                inFlight.append((round + Int.random(in: 0...parameters.maxDelay, using: &rng), message))
            }
        }
    }

    private mutating func deliverDueMessages() {
        while true {
            var due = inFlight.filter { $0.due <= round }.map(\.message)
            guard !due.isEmpty else { return }
            inFlight.removeAll { $0.due <= round }
            due.shuffle(using: &rng)
            for message in due {
                statistics.delivered += 1
                if case .snapshot = message.kind { statistics.snapshotsDelivered += 1 }
                send(cluster.deliver(message))
            }
        }
    }

    private mutating func heal() {
        lossy = false
        cluster.partitionedSide = []
        for id in cluster.ids where !cluster.isUp(id) { cluster.start(id) }
    }

    /// After healing, a leader that everyone follows must emerge, and a proposal made through
    /// it must then be applied on every member. A refused proposal (a transfer is under way)
    /// is retried each round.
    private mutating func checkLiveness() -> String? {
        var markerIndex: UInt64?
        var roundsRefused = 0
        var roundsSinceProposal = 0
        while true {
            if let failure = runRound() { return failure }
            if let markerIndex {
                if cluster.ids.allSatisfy({ cluster.stateMachine($0).appliedIndex >= markerIndex }) { return nil }
                roundsSinceProposal += 1
                if roundsSinceProposal > parameters.commitBound {
                    return failure("proposal at \(markerIndex) not applied everywhere within \(parameters.commitBound) rounds")
                }
            } else if let leader = agreedLeader() {
                if (try? cluster.with(leader) { node throws(RaftError) in try node.propose(Array("marker".utf8)) }) != nil {
                    markerIndex = cluster.node(leader).lastIndex
                    send(cluster.processReady(leader))
                } else {
                    roundsRefused += 1
                }
            }
            if markerIndex == nil && round - parameters.rounds - roundsRefused > parameters.electionBound {
                return failure("no leader agreed on within \(parameters.electionBound) rounds of healing")
            }
        }
    }

    private func agreedLeader() -> NodeID? {
        let views = Set(cluster.ids.map { cluster.node($0).softState.leader })
        guard views.count == 1, let leader = views.first!, cluster.node(leader).role == .leader else { return nil }
        return leader
    }
}
