import CoreboxCore
import CoreboxSystem
import Glibc
import Raft
import WriteAheadLog

/// Raft's log made durable: a `MemoryStorage` the node reads, backed by the
/// write-ahead log in `DIR/wal` and snapshot files in `DIR/snap`.
///
/// A snapshot's data lives in its file only: the storage holds its metadata,
/// and the node reads the data back when a follower needs it (`snapshot()`).
/// A store of hundreds of MiB is not held a second time in memory.
///
/// `save` persists what a `Ready` asks (snapshot, entries, hard state) with
/// one sync, so everything that became ready together shares one fdatasync
/// (group commit); only then may its messages go out and its writes be
/// acknowledged. `open` rebuilds the storage from the newest snapshot file
/// and the log records after it.
public final class DurableRaftLog: RaftStorage {
    public enum OpenError: Error, CustomStringConvertible {
        case log(WALError)
        case system(SystemError)
        case invalid(String)

        public var description: String {
            switch self {
            case .log(let error): "\(error)"
            case .system(let error): "\(error)"
            case .invalid(let message): message
            }
        }
    }

    public let storage: MemoryStorage
    public let directory: String
    private let log: WriteAheadLog
    private var snapshotDirectory: String { directory + "/snap" }
    /// The data of the snapshot `open` started from, until `takeRecoveredState`.
    private var recoveredState: [UInt8]

    private init(directory: String, storage: MemoryStorage, log: WriteAheadLog, recoveredState: [UInt8]) {
        self.directory = directory
        self.storage = storage
        self.log = log
        self.recoveredState = recoveredState
    }

    /// The state machine's data as of the snapshot the log was opened from
    /// (empty without one), handed over once: the machine is built from it.
    public func takeRecoveredState() -> [UInt8] {
        defer { recoveredState = [] }
        return recoveredState
    }

    public static func open(directory: String, segmentSize: Int = 64 << 20) throws(OpenError) -> DurableRaftLog {
        let opened: (log: WriteAheadLog, records: [WALRecord])
        do {
            opened = try WriteAheadLog.open(directory: directory + "/wal", segmentSize: segmentSize)
        } catch {
            throw .log(error)
        }
        let storage = MemoryStorage()
        let snapshotDirectory = directory + "/snap"
        var recoveredState: [UInt8] = []
        do {
            try Files.makeDirectories(snapshotDirectory, mode: 0o700)
            if let name = try newestSnapshotFile(in: snapshotDirectory) {
                let snapshot = try readSnapshotFile(snapshotDirectory + "/" + name)
                try! storage.applySnapshot(Snapshot(metadata: snapshot.metadata)) // a fresh storage takes any non-empty snapshot
                recoveredState = snapshot.data
            }
        } catch let error as SystemError {
            throw .system(error)
        } catch let error as OpenError {
            throw error
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
        var hardState = HardState()
        for (position, walRecord) in opened.records.enumerated() {
            guard let record = RaftRecord(walRecord) else {
                throw .invalid("kvd: log record \(position) in \(directory)/wal is not a Raft record (kind \(walRecord.kind))")
            }
            switch record {
            case .entry(let entry):
                guard entry.index <= storage.lastIndex + 1 else {
                    throw .invalid("kvd: log entry \(entry.index) in \(directory)/wal follows entry \(storage.lastIndex): entries are missing")
                }
                storage.append([entry])
            case .hardState(let state):
                hardState = state
            case .snapshot:
                break // the snapshot files themselves say what was taken
            }
        }
        // The hard state's commit is written lazily; a snapshot proves a later one.
        hardState.commit = max(hardState.commit, storage.firstIndex - 1)
        guard hardState.commit <= storage.lastIndex else {
            throw .invalid("kvd: \(directory)/wal commits entry \(hardState.commit) but holds entries up to \(storage.lastIndex)")
        }
        storage.setHardState(hardState)
        return DurableRaftLog(directory: directory, storage: storage, log: opened.log, recoveredState: recoveredState)
    }

    /// Persists what `ready` asks, then makes it visible in `storage`.
    public func save(_ ready: Ready) throws(WALError) {
        if let snapshot = ready.snapshot {
            do {
                try Self.writeSnapshotFile(snapshot.metadata, directory: directory) { write throws(SystemError) in try write(snapshot.data) }
            } catch {
                throw .system(error)
            }
            try log.append(RaftRecord.snapshot(snapshot.metadata).walRecord)
        }
        for entry in ready.entries { try log.append(RaftRecord.entry(entry).walRecord) }
        if let state = ready.hardState { try log.append(RaftRecord.hardState(state).walRecord) }
        try log.sync()
        if let snapshot = ready.snapshot { try? storage.applySnapshot(Snapshot(metadata: snapshot.metadata)) }
        storage.append(ready.entries)
        if let state = ready.hardState { storage.setHardState(state) }
    }

    /// What a snapshot of the state at `index` is: its metadata, or nil when it
    /// would not be newer than the one held. The state is written next, off the
    /// loop if it likes (`writeSnapshotFile`), then taken in with `install`.
    public func snapshotMetadata(at index: UInt64, voters: [NodeID]) -> SnapshotMetadata? {
        let held = (try? storage.snapshot().metadata.index) ?? 0
        guard index > held, let term = try? storage.term(of: index) else { return nil }
        return SnapshotMetadata(index: index, term: term, voters: voters)
    }

    /// Takes in the snapshot whose file `writeSnapshotFile` wrote: the storage
    /// serves it, the log records it with the hard state, then drops the entries
    /// it covers but the last `keep` and the segments and older files no longer needed.
    public func install(_ metadata: SnapshotMetadata, keep: UInt64 = 0) throws(WALError) {
        let index = metadata.index
        guard (try? storage.createSnapshot(at: index, voters: metadata.voters, data: [])) != nil else {
            return // not newer than the snapshot held
        }
        try log.append(RaftRecord.snapshot(metadata).walRecord)
        // The released segments may have held the latest hard state: repeat it.
        try log.append(RaftRecord.hardState(storage.hardState).walRecord)
        try log.sync()
        let compactTo = index > keep ? index - keep : 0
        if compactTo >= storage.firstIndex { try? storage.compact(upTo: compactTo) }
        try log.releaseSegments(through: storage.firstIndex - 1)
        try? removeSnapshotFiles(except: metadata)
    }

    // MARK: RaftStorage, for the node: the storage's answers, and the snapshot with its data read from its file

    public func initialState() -> HardState { storage.initialState() }
    public func entries(in range: Range<UInt64>) throws(StorageError) -> [Entry] { try storage.entries(in: range) }
    public func term(of index: UInt64) throws(StorageError) -> UInt64 { try storage.term(of: index) }
    public var firstIndex: UInt64 { storage.firstIndex }
    public var lastIndex: UInt64 { storage.lastIndex }

    public func snapshot() throws(StorageError) -> Snapshot {
        let held = try storage.snapshot()
        guard !held.isEmpty else { return held }
        // An unreadable file is retried on a later round, as for one still being written.
        guard let snapshot = try? Self.readSnapshotFile(snapshotDirectory + "/" + Self.fileName(held.metadata)) else {
            throw .snapshotTemporarilyUnavailable
        }
        return snapshot
    }

    // MARK: Snapshot files
    //
    // `TERM-INDEX.snap` (16 hex digits each) holds the metadata as the log's
    // snapshot record encodes it, the data, and a CRC-32C of all that.

    static func fileName(_ metadata: SnapshotMetadata) -> String {
        metadata.term.paddedHex + "-" + metadata.index.paddedHex + ".snap"
    }

    /// Writes the snapshot at `metadata` as the file of the log in `directory`,
    /// atomically and synced, its data as `data` passes it to `write`, piece
    /// by piece. It touches nothing else, so any thread may call it.
    public static func writeSnapshotFile(
        _ metadata: SnapshotMetadata, directory: String,
        data: (_ write: ([UInt8]) throws(SystemError) -> Void) throws(SystemError) -> Void
    ) throws(SystemError) {
        var header = ByteWriter()
        metadata.encode(into: &header)
        try Files.writeAtomically(directory + "/snap/" + fileName(metadata), mode: 0o600) { write throws(SystemError) in
            var crc = CRC32C()
            crc.update(header.bytes)
            try write(header.bytes)
            try withoutActuallyEscaping(write) { write throws(SystemError) in
                try data { piece throws(SystemError) in
                    crc.update(piece)
                    try write(piece)
                }
            }
            var trailer = ByteWriter()
            trailer.append(crc.value)
            try write(trailer.bytes)
        }
    }

    /// The snapshot file with the highest index, by name.
    private static func newestSnapshotFile(in directory: String) throws(SystemError) -> String? {
        try Syscall.listDirectory(directory)
            .filter { $0.hasSuffix(".snap") && $0.count == 38 }
            .max { $0.dropFirst(17) < $1.dropFirst(17) }
    }

    /// A snapshot file's metadata and data; a damaged file stops the start.
    private static func readSnapshotFile(_ path: String) throws -> Snapshot {
        let bytes = try Files.read(path)
        var trailer = ByteReader(Array(bytes.suffix(4)))
        guard bytes.count >= 4, CRC32C.checksum(Array(bytes.dropLast(4))) == trailer.uint32() else {
            throw OpenError.invalid("kvd: snapshot \(path) is damaged (checksum mismatch)")
        }
        var reader = ByteReader(Array(bytes.dropLast(4)))
        guard let metadata = SnapshotMetadata(reading: &reader) else {
            throw OpenError.invalid("kvd: snapshot \(path) is damaged (bad metadata)")
        }
        return Snapshot(metadata: metadata, data: reader.rest())
    }

    private func removeSnapshotFiles(except metadata: SnapshotMetadata) throws(SystemError) {
        let current = Self.fileName(metadata)
        for name in try Syscall.listDirectory(snapshotDirectory) where name.hasSuffix(".snap") && name != current {
            try Syscall.unlink(snapshotDirectory + "/" + name)
        }
    }
}
