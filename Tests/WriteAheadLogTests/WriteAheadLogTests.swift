import CoreboxCore
import CoreboxSystem
import Foundation
import Testing
@testable import WriteAheadLog

/// A directory under /tmp removed when the test is done with it.
final class LogDirectory {
    let path = NSTemporaryDirectory() + "corebox-wal-\(UUID().uuidString)/wal"

    deinit { try? FileManager.default.removeItem(atPath: Files.parentDirectory(of: path)) }

    var segmentNames: [String] { ((try? Syscall.listDirectory(path)) ?? []).sorted() }

    func bytes(of name: String) throws -> [UInt8] { try Files.read(path + "/" + name) }

    func overwrite(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name))
    }
}

@Suite struct WriteAheadLogTests {
    static let segmentSize = 8 * 1024

    func fill(_ log: WriteAheadLog, _ records: [WALRecord], syncEvery: Int = 5) throws {
        for (number, record) in records.enumerated() {
            try log.append(record)
            if number % syncEvery == syncEvery - 1 { try log.sync() }
        }
        try log.sync()
    }

    @Test func recordsSurviveReopeningAcrossSegments() throws {
        let directory = LogDirectory()
        let records = FrameTests.records(200)
        do {
            let (log, recovered) = try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize)
            #expect(recovered.isEmpty)
            try fill(log, records)
        }
        #expect(directory.segmentNames.count > 3)
        #expect(directory.segmentNames.first == "0000000000000000-0000000000000000.wal")
        let (log, recovered) = try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize)
        #expect(recovered == records)
        // Appending after recovery continues the same chain.
        let more = [WALRecord(kind: 9, index: 201, payload: [1, 2, 3])]
        try fill(log, more)
        #expect(try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize).records == records + more)
    }

    @Test func unsyncedRecordsAreNotOnDisk() throws {
        let directory = LogDirectory()
        let (log, _) = try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize)
        try log.append(WALRecord(kind: 1, index: 1, payload: [1]))
        try log.sync()
        try log.append(WALRecord(kind: 1, index: 2, payload: [2]))
        #expect(try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize).records.map(\.index) == [1])
    }

    @Test func segmentsAreNamedByTheirFirstIndexAndReleasedBySnapshots() throws {
        let directory = LogDirectory()
        let records = FrameTests.records(200)
        let (log, _) = try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize)
        try fill(log, records)
        let segments = log.segments
        for (segment, next) in zip(segments, segments.dropFirst()) {
            #expect(next.firstIndex > segment.firstIndex)
            #expect(next.sequence == segment.sequence + 1)
        }
        let snapshotIndex = segments[2].firstIndex + 1
        try log.releaseSegments(through: snapshotIndex)
        #expect(log.segments.first == segments[2])
        #expect(directory.segmentNames == log.segments.map(\.name))
        let recovered = try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize).records
        #expect(recovered.first!.index <= snapshotIndex + 1)
        #expect(recovered == Array(records.drop { $0.index < segments[2].firstIndex }))
        // The current segment is never released.
        try log.releaseSegments(through: .max)
        #expect(log.segments == [segments.last!])
    }

    @Test func aTornTailIsCutOffAndTheLogGoesOn() throws {
        let directory = LogDirectory()
        let records = FrameTests.records(12)
        let (log, _) = try WriteAheadLog.open(directory: directory.path, segmentSize: 64 * 1024)
        try fill(log, Array(records.prefix(8)), syncEvery: 100)
        let name = directory.segmentNames.last!
        let synced = try directory.bytes(of: name)
        // The next batch reaches the disk only up to a sector boundary inside it.
        let end = Frame.scan(synced, seed: readLittleEndian(synced, at: 17, as: UInt32.self)).end
        try fill(log, Array(records.suffix(4)), syncEvery: 100)
        var torn = try directory.bytes(of: name)
        let cut = (end / 512 + 1) * 512
        for index in cut..<torn.count { torn[index] = 0 }
        try directory.overwrite(name, torn)

        let (reopened, recovered) = try WriteAheadLog.open(directory: directory.path, segmentSize: 64 * 1024)
        #expect(recovered.count >= 8 && recovered.count < 12)
        #expect(recovered == Array(records.prefix(recovered.count)))
        try fill(reopened, [WALRecord(kind: 7, index: 99, payload: Array("after".utf8))])
        let again = try WriteAheadLog.open(directory: directory.path, segmentSize: 64 * 1024).records
        #expect(again == recovered + [WALRecord(kind: 7, index: 99, payload: Array("after".utf8))])
    }

    @Test func corruptionInTheMiddleStopsTheOpenWithTheFileAndOffset() throws {
        let directory = LogDirectory()
        let (log, _) = try WriteAheadLog.open(directory: directory.path, segmentSize: 64 * 1024)
        try fill(log, FrameTests.records(20))
        let name = directory.segmentNames.last!
        var bytes = try directory.bytes(of: name)
        bytes[1000] ^= 0x10
        try directory.overwrite(name, bytes)
        #expect {
            try WriteAheadLog.open(directory: directory.path, segmentSize: 64 * 1024)
        } throws: { error in
            guard case .corrupt(let path, let offset, let reason) = error as? WALError else { return false }
            return path == directory.path + "/" + name && offset <= 1000 && reason == "checksum mismatch"
                && "\(error)".hasPrefix("wal: corrupt record in \(directory.path)/\(name) at offset ")
        }
        // Nothing was cut: the damaged file is as it was.
        #expect(try directory.bytes(of: name) == bytes)
    }

    @Test func aTornLookingOlderSegmentIsCorruption() throws {
        let directory = LogDirectory()
        let (log, _) = try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize)
        try fill(log, FrameTests.records(100))
        let name = directory.segmentNames[1]
        var bytes = try directory.bytes(of: name)
        for index in 1024..<bytes.count { bytes[index] = 0 }
        try directory.overwrite(name, bytes)
        #expect(throws: WALError.self) { try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize) }
    }

    @Test func aMissingSegmentIsCorruption() throws {
        let directory = LogDirectory()
        let (log, _) = try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize)
        try fill(log, FrameTests.records(300))
        #expect(directory.segmentNames.count > 3)
        try Syscall.unlink(directory.path + "/" + directory.segmentNames[1])
        #expect {
            try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize)
        } throws: { error in
            "\(error)".contains("segment 1 is missing")
        }
    }

    @Test func anUnfinishedCutIsDiscarded() throws {
        let directory = LogDirectory()
        let records = FrameTests.records(3)
        let (log, _) = try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize)
        try fill(log, records)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory.path + "/0000000000000001-0000000000000004.wal.tmp"))
        #expect(try WriteAheadLog.open(directory: directory.path, segmentSize: Self.segmentSize).records == records)
        #expect(directory.segmentNames == ["0000000000000000-0000000000000000.wal"])
    }

    @Test func anUnwritableDirectoryIsASystemError() throws {
        #expect {
            try WriteAheadLog.open(directory: "/proc/corebox-wal")
        } throws: { error in
            "\(error)".hasPrefix("wal: mkdir('/proc/corebox-wal'): ")
        }
    }
}
