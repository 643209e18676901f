@testable import Raft

/// A small, fast, seedable generator (SplitMix64), so every run can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < probability
    }
}

/// The application's state: a digest chained over every applied entry, so two members that
/// applied the same sequence hold the same digest. It travels in snapshots as 16 bytes.
struct StateMachine: Equatable {
    var appliedIndex: UInt64 = 0
    var digest: UInt64 = 0xCBF2_9CE4_8422_2325
    /// Proposal payloads applied since this member last started or restored.
    var appliedData: [[UInt8]] = []

    init() {}

    init(restoring snapshot: Snapshot) {
        guard !snapshot.isEmpty else { return }
        appliedIndex = snapshot.metadata.index
        digest = snapshot.data.dropFirst(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    var snapshotData: [UInt8] {
        (0..<8).reversed().map { UInt8(truncatingIfNeeded: appliedIndex >> ($0 * 8)) }
            + (0..<8).reversed().map { UInt8(truncatingIfNeeded: digest >> ($0 * 8)) }
    }

    mutating func apply(_ entry: Entry) {
        for value in [entry.index, entry.term] + entry.data.map(UInt64.init) {
            digest = (digest ^ value) &* 0x100_0000_01B3
        }
        appliedIndex = entry.index
        if !entry.data.isEmpty { appliedData.append(entry.data) }
    }
}

/// One member as its application runs it: durable storage, and a node and state machine that
/// a crash loses.
struct Member {
    let storage: MemoryStorage
    var config: RaftConfig
    var node: RaftNode?
    var stateMachine = StateMachine()
    var readStates: [ReadState] = []
    var incarnation: UInt64 = 0
}

/// A cluster run by its applications in one process, with the safety checks applied to
/// every `Ready`. Unit tests deliver messages with `stabilize`; `Simulation` adds a faulty
/// network on top.
struct Cluster {
    let seed: UInt64
    let ids: [NodeID]
    var members: [NodeID: Member] = [:]
    /// Members on one side of a network partition; empty when the network is whole.
    var partitionedSide: Set<NodeID> = []
    /// Snapshot and compact a member's storage once this many applied entries pile up.
    var compactionThreshold: UInt64?
    var safety = SafetyRecord()

    /// `logs`, if given, preloads each member's storage with entries of those terms.
    init(size: Int, seed: UInt64 = 1, logs: [[UInt64]] = [], configure: (inout RaftConfig) -> Void = { _ in }) {
        self.seed = seed
        ids = (1...UInt64(size)).map { $0 }
        for id in ids {
            var config = RaftConfig(id: id, voters: ids, electionTick: 10, heartbeatTick: 1)
            configure(&config)
            let storage = logs.isEmpty ? MemoryStorage() : MemoryStorage.withLog(terms: logs[Int(id - 1)])
            members[id] = Member(storage: storage, config: config)
            start(id)
        }
    }

    /// Starts (or restarts) `id` from its storage, as its application would after a crash.
    mutating func start(_ id: NodeID) {
        var member = members[id]!
        let snapshot = try! member.storage.snapshot()
        member.stateMachine = StateMachine(restoring: snapshot)
        member.config.applied = snapshot.metadata.index
        member.incarnation += 1
        let rng = SplitMix64(seed: seed &* 1_000_003 &+ id << 32 &+ member.incarnation)
        member.node = RaftNode(config: member.config, storage: member.storage, rng: rng)
        member.readStates = []
        members[id] = member
    }

    mutating func crash(_ id: NodeID) {
        members[id]!.node = nil
    }

    func isUp(_ id: NodeID) -> Bool { members[id]?.node != nil }

    func node(_ id: NodeID) -> RaftNode { members[id]!.node! }

    func storage(_ id: NodeID) -> MemoryStorage { members[id]!.storage }

    func stateMachine(_ id: NodeID) -> StateMachine { members[id]!.stateMachine }

    /// Runs `body` on `id`'s node in place.
    mutating func with<Result, Failure: Error>(
        _ id: NodeID, _ body: (inout RaftNode) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(&members[id]!.node!)
    }

    /// The members that believe they lead, with their terms.
    var leaders: [(id: NodeID, term: UInt64)] {
        ids.compactMap { id in
            members[id]!.node.flatMap { $0.role == .leader ? (id, $0.term) : nil }
        }
    }

    func isLinkUp(_ from: NodeID, _ to: NodeID) -> Bool {
        partitionedSide.contains(from) == partitionedSide.contains(to)
    }

    // MARK: The application's loop

    /// Handles one `Ready` of `id` as `Ready` prescribes and returns the messages to send.
    mutating func processReady(_ id: NodeID) -> [Message] {
        guard members[id]?.node?.hasReady == true, let ready = members[id]!.node?.ready() else { return [] }
        let storage = members[id]!.storage
        if let snapshot = ready.snapshot { try! storage.applySnapshot(snapshot) }
        storage.append(ready.entries)
        if let hardState = ready.hardState { storage.setHardState(hardState) }
        safety.checkPersisted(ready.entries, by: id, storage: storage)
        if ready.softState?.role == .leader {
            safety.checkNewLeader(id, term: node(id).term, storage: storage)
        }

        if let snapshot = ready.snapshot { members[id]!.stateMachine = StateMachine(restoring: snapshot) }
        for entry in ready.committedEntries {
            if entry.index != members[id]!.stateMachine.appliedIndex + 1 {
                safety.fail("member \(id) applied \(entry.index) after \(members[id]!.stateMachine.appliedIndex)")
            }
            members[id]!.stateMachine.apply(entry)
            let otherLeaders = leaders.filter { $0.id != id }.map { (term: $0.term, storage: self.storage($0.id)) }
            safety.checkApplied(entry, digest: members[id]!.stateMachine.digest, by: id, leaders: otherLeaders)
        }
        members[id]!.readStates += ready.readStates
        members[id]!.node!.advance(ready)
        compactIfDue(id)
        safety.checkDurability(storages: ids.map { self.storage($0) })
        return ready.messages
    }

    mutating func compactIfDue(_ id: NodeID) {
        guard let threshold = compactionThreshold else { return }
        let storage = members[id]!.storage
        let applied = members[id]!.stateMachine.appliedIndex
        guard applied >= storage.firstIndex - 1 + threshold else { return }
        try! storage.createSnapshot(at: applied, voters: ids, data: members[id]!.stateMachine.snapshotData)
        // Keep a few entries, so that slightly lagging followers need no snapshot.
        try! storage.compact(upTo: applied - threshold / 4)
    }

    /// Delivers `message` and returns the recipient's answers. Snapshot outcomes are reported
    /// to the sender, as a transport that streams snapshots would.
    mutating func deliver(_ message: Message) -> [Message] {
        guard isUp(message.to), isLinkUp(message.from, message.to) else {
            drop(message)
            return []
        }
        members[message.to]!.node!.step(message)
        if case .snapshot = message.kind {
            members[message.from]?.node?.reportSnapshot(to: message.to, succeeded: true)
        }
        return processReady(message.to)
    }

    mutating func drop(_ message: Message) {
        if case .snapshot = message.kind {
            members[message.from]?.node?.reportSnapshot(to: message.to, succeeded: false)
        }
    }

    /// Collects every member's pending work and delivers messages until none are left.
    /// `intercept` sees each message first and may drop it (return false).
    mutating func stabilize(_ intercept: (Message) -> Bool = { _ in true }) {
        var queue = ids.flatMap { processReady($0) }
        while !queue.isEmpty {
            let message = queue.removeFirst()
            if intercept(message) {
                queue += deliver(message)
            } else {
                drop(message)
            }
            if queue.isEmpty { queue = ids.flatMap { processReady($0) } }
        }
    }

    mutating func tick(_ id: NodeID, times: Int = 1) {
        for _ in 0..<times { members[id]!.node!.tick() }
    }

    /// Ticks every running member `times` times, delivering messages after each round.
    mutating func tickAll(times: Int) {
        for _ in 0..<times {
            for id in ids where isUp(id) { tick(id) }
            stabilize()
        }
    }

    /// Elects `id` by having it campaign, and checks that it won.
    mutating func elect(_ id: NodeID) {
        with(id) { $0.campaign() }
        stabilize()
    }
}

extension MemoryStorage {
    /// A storage holding entries with the given terms at indexes 1, 2, ..., and a hard state
    /// at the last term, as a member that lived through those terms would have.
    static func withLog(terms: [UInt64], commit: UInt64 = 0) -> MemoryStorage {
        let storage = MemoryStorage()
        storage.append(terms.enumerated().map { Entry(term: $0.element, index: UInt64($0.offset + 1)) })
        storage.setHardState(HardState(term: terms.last ?? 0, commit: commit))
        return storage
    }
}

/// One node driven by hand, for tests of single rules: its application persists every
/// `Ready` at once and hands back what the node sent.
struct Solo {
    let storage: MemoryStorage
    var node: RaftNode

    init(
        id: NodeID = 1, voters: [NodeID] = [1, 2, 3], storage: MemoryStorage = MemoryStorage(),
        configure: (inout RaftConfig) -> Void = { _ in }
    ) {
        var config = RaftConfig(id: id, voters: voters)
        configure(&config)
        self.storage = storage
        node = RaftNode(config: config, storage: storage, rng: SplitMix64(seed: id))
    }

    /// Persists the pending `Ready` and returns it.
    @discardableResult
    mutating func flush() -> Ready {
        let ready = node.ready()
        if let snapshot = ready.snapshot { try! storage.applySnapshot(snapshot) }
        storage.append(ready.entries)
        if let hardState = ready.hardState { storage.setHardState(hardState) }
        node.advance(ready)
        return ready
    }

    /// Delivers a message from `sender` and returns what the node sends in answer.
    mutating func receive(_ kind: Message.Kind, from sender: NodeID, term: UInt64) -> [Message] {
        node.step(Message(from: sender, to: node.id, term: term, kind: kind))
        return flush().messages
    }

    /// Makes this node leader at the next term without an election, for leader-side rules.
    mutating func becomeLeader() {
        node.becomeCandidate()
        node.becomeLeader()
        flush()
    }
}

extension Message {
    var isAppend: Bool {
        if case .append = kind { true } else { false }
    }

    var appendedEntries: [Entry] {
        if case .append(let request) = kind { request.entries } else { [] }
    }
}
