import Foundation
import Synchronization
import Testing
@testable import KVServer

/// A small but real state machine: a string dictionary whose commands set a
/// key and return the value it replaced.
struct Registers: ReplicatedStateMachine, Equatable {
    struct Set: Sendable, Equatable {
        var key: String
        var value: String
    }

    var values: [String: String] = [:]
    var lastIndex: UInt64 = 0

    static func encode(_ command: Set) -> [UInt8] { Array("\(command.key)=\(command.value)".utf8) }

    static func decode(_ bytes: [UInt8]) -> Set? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let equals = text.firstIndex(of: "=") else { return nil }
        return Set(key: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
    }

    mutating func apply(_ command: Set, index: UInt64) -> String? {
        precondition(index > lastIndex, "applied out of order")
        lastIndex = index
        defer { values[command.key] = command.value }
        return values[command.key]
    }

    func snapshot<E: Error>(_ emit: ([UInt8]) throws(E) -> Void) throws(E) {
        try emit(Array((["\(lastIndex)"] + values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: "\n").utf8))
    }

    init() {}

    init(snapshot: [UInt8]) throws {
        guard !snapshot.isEmpty else { return }
        let lines = String(decoding: snapshot, as: UTF8.self).split(separator: "\n")
        lastIndex = UInt64(lines[0])!
        for line in lines.dropFirst() {
            let command = Self.decode(Array(line.utf8))!
            values[command.key] = command.value
        }
    }
}

@Suite(.serialized) struct ReplicatedNodeTests {
    var options: ReplicatedNode<Registers>.Options {
        var options = ReplicatedNode<Registers>.Options()
        options.tickInterval = .milliseconds(10)
        options.segmentSize = 64 * 1024
        return options
    }

    @Test func concurrentWritesShareLogSyncsAndAreAllApplied() async throws {
        let directory = DataDirectory()
        let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init)
        defer { node.stop() }
        let writers = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask { _ = try await node.propose(.init(key: "k\(writer % 50)", value: "v\(writer)")) }
            }
            try await group.waitForAll()
        }
        let machine = try await node.query { $0 }
        #expect(machine.values.count == 50)
        let statistics = node.currentStatistics
        #expect(statistics.isLeader)
        #expect(statistics.proposals >= writers)
        // Group commit: many writes became ready together and shared a sync.
        #expect(statistics.logSyncs < writers)
        // Each write replaced the value the previous write of its key left.
        let replaced = try await node.propose(.init(key: "k0", value: "last"))
        #expect(replaced == machine.values["k0"])
    }

    @Test func aReadSeesEveryAcknowledgedWrite() async throws {
        let directory = DataDirectory()
        let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init)
        defer { node.stop() }
        for round in 0..<20 {
            _ = try await node.propose(.init(key: "counter", value: "\(round)"))
            #expect(try await node.query { $0.values }["counter"] == "\(round)")
        }
    }

    @Test func stateSurvivesARestart() async throws {
        let directory = DataDirectory()
        var written: [String: String] = [:]
        do {
            let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init)
            for number in 0..<100 {
                _ = try await node.propose(.init(key: "key\(number % 30)", value: "value\(number)"))
                written["key\(number % 30)"] = "value\(number)"
            }
            node.stop()
        }
        let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init)
        defer { node.stop() }
        #expect(try await node.query { $0.values } == written)
        #expect(try await node.propose(.init(key: "key0", value: "again")) == written["key0"])
    }

    @Test func snapshotsBoundTheLogAndRestoreTheMachine() async throws {
        let directory = DataDirectory()
        var options = self.options
        options.snapshotInterval = 40
        options.entriesKeptAfterSnapshot = 5
        var written: [String: String] = [:]
        do {
            let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init)
            for number in 0..<400 {
                let value = String(repeating: "x", count: 100) + "\(number)"
                _ = try await node.propose(.init(key: "key\(number % 7)", value: value))
                written["key\(number % 7)"] = value
            }
            // Ten are due; one due while the last is still being written (off
            // the loop, slower on a busy machine) waits for it, so fewer may be taken.
            #expect(node.currentStatistics.snapshots >= 5)
            node.stop()
        }
        #expect(directory.names("snap").count == 1)
        #expect(directory.names("wal").count <= 2)
        let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init)
        defer { node.stop() }
        #expect(try await node.query { $0.values } == written)
    }

    @Test func everyAppliedCommandIsReportedInLogOrder() async throws {
        let directory = DataDirectory()
        let seen = Mutex<[UInt64]>([])
        let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init) { _, index in
            seen.withLock { $0.append(index) }
        }
        defer { node.stop() }
        for number in 0..<10 { _ = try await node.propose(.init(key: "k", value: "\(number)")) }
        let indexes = seen.withLock { $0 }
        #expect(indexes.count == 10)
        #expect(indexes == indexes.sorted())
    }

    @Test func localUpdatesChangeTheMachineOutsideTheLog() async throws {
        let directory = DataDirectory()
        do {
            let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init)
            _ = try await node.propose(.init(key: "replicated", value: "1"))
            let before = try await node.updateLocally { machine -> Int in
                defer { machine.values["local"] = "only here" }
                return machine.values.count
            }
            #expect(before == 1)
            #expect(try await node.query { $0.values }["local"] == "only here")
            node.stop()
        }
        // Not in the log: a restart does not bring it back.
        let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init)
        defer { node.stop() }
        #expect(try await node.query { $0.values } == ["replicated": "1"])
    }

    @Test func aStoppedNodeRefusesRequests() async throws {
        let directory = DataDirectory()
        let node = try ReplicatedNode<Registers>(directory: directory.path, options: options, restore: Registers.init)
        node.stop()
        await #expect(throws: ReplicationError.stopped) { try await node.propose(.init(key: "a", value: "b")) }
        await #expect(throws: ReplicationError.stopped) { try await node.query { $0 } }
    }
}
