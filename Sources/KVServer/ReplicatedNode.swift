import CoreboxCore
import CoreboxSystem
import Dispatch
import Glibc
import Raft
import Synchronization
import WriteAheadLog

/// A deterministic state machine replicated through Raft: kvd's MVCC store,
/// or any other. Commands are applied in log order; equal logs give equal machines.
public protocol ReplicatedStateMachine: Sendable {
    associatedtype Command: Sendable
    associatedtype Output: Sendable

    static func encode(_ command: Command) -> [UInt8]
    /// nil for bytes no `encode` produced: the log is damaged, and the node stops.
    static func decode(_ bytes: [UInt8]) -> Command?

    /// Applies the command of log entry `index`.
    mutating func apply(_ command: Command, index: UInt64) -> Output

    /// The machine's state in pieces, in order (a large state is written
    /// out without being one array); the node's `restore` takes them joined.
    func snapshot<E: Error>(_ emit: ([UInt8]) throws(E) -> Void) throws(E)
}

/// Why a request did not complete.
public enum ReplicationError: Error, Equatable, Sendable {
    /// No leader, or leadership moved away before the request committed: retry.
    case noLeader
    /// The node is stopping or stopped.
    case stopped
}

/// One member running a `ReplicatedStateMachine`: the Raft node, its durable
/// log and the machine, driven by one loop on a thread of its own.
///
/// Requests from any task queue up in an inbox; the loop takes everything
/// queued at once, proposes it, and persists the resulting `Ready` with a
/// single log sync (group commit) before applying and answering. Reads go
/// through ReadIndex and get the machine as of an index that covers every
/// write acknowledged before they were asked.
public final class ReplicatedNode<Machine: ReplicatedStateMachine>: Sendable {
    public struct Options: Sendable {
        public var memberID: NodeID = 1
        /// Wall time of one Raft tick (etcd: the heartbeat interval).
        public var tickInterval: Duration = .milliseconds(100)
        /// Ticks per election timeout (etcd: 1000 ms / 100 ms).
        public var electionTicks = 10
        /// Applied entries between snapshots of the machine.
        public var snapshotInterval: UInt64 = 10_000
        /// Entries kept in the log behind a snapshot, for followers that lag a little.
        public var entriesKeptAfterSnapshot: UInt64 = 5_000
        public var segmentSize = 64 << 20
        /// Told how long each log save (its fdatasync, mostly) took: the metrics hook.
        public var onLogSave: @Sendable (Duration) -> Void = { _ in }

        public init() {}
    }

    /// Counters for metrics; read at any time.
    public struct Statistics: Sendable, Equatable {
        public var proposals = 0
        public var logSyncs = 0
        public var appliedIndex: UInt64 = 0
        public var term: UInt64 = 0
        public var isLeader = false
        public var snapshots = 0
    }

    /// Called on the loop thread with a request's outcome; it must not block.
    public typealias Completion<T> = @Sendable (Result<T, ReplicationError>) -> Void

    private enum Request: Sendable {
        /// The command, and its log encoding made on the caller's thread.
        case propose(Machine.Command, [UInt8], Completion<Machine.Output>)
        case read(Completion<Machine>)
        case local(@Sendable (inout Machine) -> Void)
    }

    private struct Inbox: ~Copyable {
        var requests: [Request] = []
        var stopping = false
    }

    private let inbox = Mutex(Inbox())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let statistics = Mutex(Statistics())
    private let options: Options

    /// Opens the log in `directory`, restores the machine from its newest
    /// snapshot and replays the committed entries after it, then starts the
    /// loop; a one-member cluster elects itself at once.
    /// Called on the loop for every applied command, in log order, with its
    /// output (watchers are fed from here); it must not block.
    private let onApply: @Sendable (Machine.Output, UInt64) -> Void
    /// The machine from a snapshot's data (empty for a fresh one), with the configuration the caller gives it.
    private let restore: @Sendable ([UInt8]) throws -> Machine

    public init(
        directory: String, options: Options = Options(), restore: @escaping @Sendable ([UInt8]) throws -> Machine,
        onApply: @escaping @Sendable (Machine.Output, UInt64) -> Void = { _, _ in }
    ) throws {
        self.options = options
        self.onApply = onApply
        self.restore = restore
        let log = try DurableRaftLog.open(directory: directory, segmentSize: options.segmentSize)
        let machine = try restore(log.takeRecoveredState())
        let loop = Loop(node: self, log: log, machine: machine, applied: try log.storage.snapshot().metadata.index)
        loop.campaign()
        startThread { loop.run() }
    }

    /// Replicates `command`; once it is committed and applied, `completion`
    /// gets what applying it gave. The server's hot path: no task, no hop.
    public func propose(_ command: Machine.Command, completion: @escaping Completion<Machine.Output>) {
        enqueue(.propose(command, Machine.encode(command), completion))
    }

    /// Gives `completion` the machine as of an index that includes every write
    /// committed before this call (a linearizable read). It runs on the loop
    /// and must not keep the machine: a copy alive across the next write makes
    /// that write copy the whole store.
    public func read(completion: @escaping Completion<Machine>) {
        enqueue(.read(completion))
    }

    public func propose(_ command: Machine.Command) async throws -> Machine.Output {
        try await withCheckedThrowingContinuation { continuation in
            propose(command) { continuation.resume(with: $0) }
        }
    }

    /// Evaluates `body` on the loop against the machine as `read` gives it,
    /// and returns what it gives: only that leaves the loop, never the machine.
    public func query<T: Sendable>(_ body: @escaping @Sendable (Machine) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            read { result in continuation.resume(with: Result { try body(result.get()) }) }
        }
    }

    /// Changes this member's machine outside the log, on the loop: for state
    /// that is the leader's own and not replicated (etcd's lease expiry
    /// instants, renewed by keep-alives).
    public func updateLocally<T: Sendable>(_ body: @escaping @Sendable (inout Machine) -> T) async throws -> T {
        let box = Mutex<T?>(nil)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(.local { machine in
                box.withLock { $0 = body(&machine) }
            })
            // Answered once the update ran, without the machine leaving the loop.
            enqueue(.read { continuation.resume(with: $0.map { _ in }) })
        }
        return box.withLock { $0! }
    }

    public var currentStatistics: Statistics { statistics.withLock { $0 } }

    /// Fails what is queued, finishes the loop and closes the log.
    public func stop() {
        inbox.withLock { $0.stopping = true }
        wakeUp.signal()
        finished.wait()
    }

    private func enqueue(_ request: Request) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.stopping else { return false }
            inbox.requests.append(request)
            return true
        }
        guard accepted else {
            Self.fail(request, .stopped)
            return
        }
        wakeUp.signal()
    }

    private static func fail(_ request: Request, _ error: ReplicationError) {
        switch request {
        case .propose(_, _, let completion): completion(.failure(error))
        case .read(let completion): completion(.failure(error))
        case .local: break
        }
    }

    /// The loop's state: owned by its thread alone.
    private final class Loop: @unchecked Sendable {
        unowned let node: ReplicatedNode
        let log: DurableRaftLog
        var raft: RaftNode
        var machine: Machine
        var applied: UInt64
        var nextRequestID: UInt64 = 1
        var waitingWrites: [UInt64: Completion<Machine.Output>] = [:]
        /// Commands this member appended as leader, by log index, with the
        /// term they were appended in: applied as they are, not decoded back
        /// from the entry, unless another leader's entry replaced them.
        var proposed: [UInt64: (term: UInt64, command: Machine.Command)] = [:]
        var waitingReadIndex: [UInt64: Completion<Machine>] = [:]
        /// Reads whose index is known, waiting for the machine to catch up.
        var waitingApply: [(index: UInt64, completion: Completion<Machine>)] = []
        /// The snapshot being written off the loop.
        var snapshotWriting: SnapshotWriting?
        var lastSnapshotIndex: UInt64

        init(node: ReplicatedNode, log: DurableRaftLog, machine: Machine, applied: UInt64) {
            self.node = node
            self.log = log
            self.machine = machine
            self.applied = applied
            lastSnapshotIndex = applied
            let options = node.options
            let config = RaftConfig(id: options.memberID, voters: [options.memberID],
                                    electionTick: options.electionTicks, applied: applied)
            raft = RaftNode(config: config, storage: log, rng: SystemRandomNumberGenerator())
        }

        /// Campaigns and handles what that gives, before the loop thread owns
        /// this state: a one-member cluster is its leader when `init` returns.
        func campaign() {
            raft.campaign()
            persistAndApply()
        }

        func run() {
            var nextTick = ContinuousClock.now + node.options.tickInterval
            while true {
                let wait = ContinuousClock.now.duration(to: nextTick)
                if wait > .zero { _ = node.wakeUp.wait(timeout: .now() + .nanoseconds(Int(wait.nanoseconds))) }
                if ContinuousClock.now >= nextTick {
                    raft.tick()
                    nextTick = ContinuousClock.now + node.options.tickInterval
                }
                let (requests, stopping) = node.inbox.withLock { inbox in
                    defer { inbox.requests.removeAll() }
                    return (inbox.requests, inbox.stopping)
                }
                if stopping {
                    failAll(requests, ReplicationError.stopped)
                    // The log closes with the loop: a snapshot still being written is finished and taken in first.
                    if let writing = snapshotWriting {
                        writing.done.wait()
                        installSnapshot(writing)
                    }
                    break
                }
                if let writing = snapshotWriting, writing.result.withLock({ $0 }) != nil { installSnapshot(writing) }
                submit(requests)
                persistAndApply()
            }
            node.finished.signal()
        }

        private func submit(_ requests: [Request]) {
            for request in requests {
                let id = nextRequestID
                nextRequestID += 1
                do {
                    switch request {
                    case .propose(let command, let encoded, let completion):
                        try raft.propose(RequestEnvelope.encode(id: id, command: encoded))
                        waitingWrites[id] = completion
                        if raft.role == .leader { proposed[raft.lastIndex] = (raft.term, command) }
                    case .read(let completion):
                        try raft.readIndex(context: RequestEnvelope.encode(id: id, command: []))
                        waitingReadIndex[id] = completion
                    case .local(let body):
                        body(&machine)
                    }
                } catch {
                    failAll([request], ReplicationError.noLeader)
                }
            }
            node.statistics.withLock { $0.proposals += requests.count }
        }

        private func persistAndApply() {
            do { try processReady() } catch { logFailed(error) }
        }

        /// The log cannot be written: acknowledging anything more could lose it.
        private func logFailed(_ error: any Error) -> Never {
            preconditionFailure("kvd: cannot write the log: \(error)")
        }

        private func processReady() throws {
            while raft.hasReady {
                let ready = raft.ready()
                if ready.snapshot != nil || !ready.entries.isEmpty || ready.hardState != nil {
                    let start = ContinuousClock.now
                    try log.save(ready)
                    node.options.onLogSave(start.duration(to: .now))
                    node.statistics.withLock { $0.logSyncs += 1 }
                }
                if let snapshot = ready.snapshot, !snapshot.isEmpty {
                    machine = try! node.restore(snapshot.data)
                    applied = snapshot.metadata.index
                }
                for entry in ready.committedEntries { apply(entry) }
                for state in ready.readStates {
                    guard let id = RequestEnvelope.decode(state.context)?.id,
                          let completion = waitingReadIndex.removeValue(forKey: id) else { continue }
                    waitingApply.append((state.index, completion))
                }
                answerReads()
                raft.advance(ready)
                if let softState = ready.softState, softState.role != .leader { failWaiting() }
                snapshotIfDue()
                node.statistics.withLock {
                    $0.appliedIndex = applied
                    $0.term = raft.term
                    $0.isLeader = raft.role == .leader
                }
            }
        }

        private func apply(_ entry: Entry) {
            applied = entry.index
            // Empty entries are the ones a new leader appends to commit its term.
            guard !entry.data.isEmpty else { return }
            let local = proposed.removeValue(forKey: entry.index).flatMap { $0.term == entry.term ? $0.command : nil }
            guard let id = RequestEnvelope.id(of: entry.data),
                  let command = local ?? RequestEnvelope.decode(entry.data).flatMap({ Machine.decode($0.command) }) else {
                preconditionFailure("kvd: log entry \(entry.index) holds no command this server wrote")
            }
            let output = machine.apply(command, index: entry.index)
            node.onApply(output, entry.index)
            waitingWrites.removeValue(forKey: id)?(.success(output))
        }

        private func answerReads() {
            waitingApply.removeAll { waiting in
                guard waiting.index <= applied else { return false }
                waiting.completion(.success(machine))
                return true
            }
        }

        /// Every `snapshotInterval` applied entries, the machine as of now is
        /// serialized and written on a thread of its own: the loop goes on
        /// serving (its next writes copy what they change of the machine), and
        /// takes the snapshot in once the file is there.
        private func snapshotIfDue() {
            guard snapshotWriting == nil, applied >= lastSnapshotIndex + node.options.snapshotInterval,
                  let metadata = log.snapshotMetadata(at: applied, voters: [node.options.memberID]) else { return }
            lastSnapshotIndex = applied
            let (state, node, directory, writing) = (machine, node, log.directory, SnapshotWriting())
            snapshotWriting = writing
            startThread {
                let written = Result { () throws(SystemError) in
                    try DurableRaftLog.writeSnapshotFile(metadata, directory: directory) { write throws(SystemError) in
                        try state.snapshot(write)
                    }
                    return metadata
                }
                writing.result.withLock { $0 = written }
                writing.done.signal()
                node.wakeUp.signal()
            }
        }

        /// A failed write is tried again `snapshotInterval` entries later.
        private func installSnapshot(_ writing: SnapshotWriting) {
            snapshotWriting = nil
            guard case .success(let metadata) = writing.result.withLock({ $0 }) else { return }
            do { try log.install(metadata, keep: node.options.entriesKeptAfterSnapshot) } catch { logFailed(error) }
            node.statistics.withLock { $0.snapshots += 1 }
        }

        /// A member that lost leadership cannot promise its pending requests an outcome.
        private func failWaiting() {
            for completion in waitingWrites.values { completion(.failure(.noLeader)) }
            for completion in waitingReadIndex.values { completion(.failure(.noLeader)) }
            waitingWrites.removeAll()
            waitingReadIndex.removeAll()
            proposed.removeAll()
        }

        private func failAll(_ requests: [Request], _ error: ReplicationError) {
            for request in requests { ReplicatedNode.fail(request, error) }
            if error == .stopped {
                failWaiting()
                for waiting in waitingApply { waiting.completion(.failure(error)) }
                waitingApply.removeAll()
            }
        }
    }
}

/// A snapshot written on a thread of its own: its outcome, and a signal when there is one.
private final class SnapshotWriting: Sendable {
    let result = Mutex<Result<SnapshotMetadata, SystemError>?>(nil)
    let done = DispatchSemaphore(value: 0)
}

/// An entry's data: the proposing request's id (to find its waiter) and the command.
enum RequestEnvelope {
    static func encode(id: UInt64, command: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.append(id)
        return writer.bytes + command
    }

    static func id(of bytes: [UInt8]) -> UInt64? {
        var reader = ByteReader(bytes)
        return reader.uint64()
    }

    static func decode(_ bytes: [UInt8]) -> (id: UInt64, command: [UInt8])? {
        var reader = ByteReader(bytes)
        guard let id = reader.uint64() else { return nil }
        return (id, reader.rest())
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
