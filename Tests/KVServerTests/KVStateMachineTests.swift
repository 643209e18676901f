import EtcdAPI
import Foundation
import MVCC
import Testing
@testable import KVServer

@Suite struct KVStateMachineTests {
    static func put(_ key: String, _ value: String, lease: Int64 = 0) -> KVStateMachine.Command {
        var message = Etcdserverpb_PutRequest()
        message.key = Data(key.utf8)
        message.value = Data(value.utf8)
        message.lease = lease
        message.prevKv = true
        return .put(message)
    }

    static func range(_ store: Store, _ key: String) throws -> [String] {
        try store.range(RangeRequest(key: Array(key.utf8))).kvs.map { String(decoding: $0.value, as: UTF8.self) }
    }

    @Test func commandsRoundTripThroughTheLogEncoding() {
        var txn = Etcdserverpb_TxnRequest()
        var compare = Etcdserverpb_Compare()
        compare.key = Data("a".utf8)
        compare.target = .version
        compare.version = 0
        txn.compare = [compare]
        var op = Etcdserverpb_RequestOp()
        op.requestPut = { var p = Etcdserverpb_PutRequest(); p.key = Data([1]); p.value = Data([2]); return p }()
        txn.success = [op]
        var grant = Etcdserverpb_LeaseGrantRequest()
        grant.id = 7
        grant.ttl = 60
        var revoke = Etcdserverpb_LeaseRevokeRequest()
        revoke.id = 7
        var compaction = Etcdserverpb_CompactionRequest()
        compaction.revision = 3
        var delete = Etcdserverpb_DeleteRangeRequest()
        delete.key = Data([0])
        delete.rangeEnd = Data([0])
        for command in [Self.put("k", "v"), .txn(txn), .leaseGrant(grant), .leaseRevoke(revoke), .compaction(compaction), .deleteRange(delete)] {
            #expect(KVStateMachine.decode(KVStateMachine.encode(command)) == command)
        }
        #expect(KVStateMachine.decode([]) == nil)
        #expect(KVStateMachine.decode([99, 1, 2]) == nil)
    }

    @Test func appliesWritesAndReportsEtcdErrors() throws {
        var machine = try KVStateMachine(snapshot: [], configuration: StoreConfiguration())
        let first = machine.apply(Self.put("foo", "bar"), index: 1)
        #expect(first.revision == 2)
        #expect(first.events.count == 1)
        guard case .success(.put(let response)) = first.result else { Issue.record("put failed: \(first.result)"); return }
        #expect(response.prevKv == nil)
        let second = machine.apply(Self.put("foo", "baz"), index: 2)
        guard case .success(.put(let replaced)) = second.result else { Issue.record("put failed"); return }
        #expect(replaced.prevKv.map { String(decoding: $0.value, as: UTF8.self) } == "bar")
        #expect(try Self.range(machine.store, "foo") == ["baz"])

        let missingLease = machine.apply(Self.put("k", "v", lease: 12345), index: 3)
        guard case .failure(let status) = missingLease.result else { Issue.record("expected an error"); return }
        #expect(status.message == "etcdserver: requested lease not found")
        #expect(missingLease.revision == 3)
    }

    @Test func revokingALeaseDeletesItsKeys() throws {
        var machine = try KVStateMachine(snapshot: [], configuration: StoreConfiguration())
        var grant = Etcdserverpb_LeaseGrantRequest()
        grant.id = 42
        grant.ttl = 30
        guard case .success(.leaseGrant) = machine.apply(.leaseGrant(grant), index: 1).result else { Issue.record("grant failed"); return }
        _ = machine.apply(Self.put("/locks/a", "holder", lease: 42), index: 2)
        #expect(try Self.range(machine.store, "/locks/a") == ["holder"])
        var revoke = Etcdserverpb_LeaseRevokeRequest()
        revoke.id = 42
        let revoked = machine.apply(.leaseRevoke(revoke), index: 3)
        #expect(revoked.events.count == 1)
        #expect(try Self.range(machine.store, "/locks/a").isEmpty)
    }

    @Test func theStoreSurvivesARestartOfTheNode() async throws {
        let directory = DataDirectory()
        var options = ReplicatedNode<KVStateMachine>.Options()
        options.tickInterval = .milliseconds(10)
        options.segmentSize = 64 * 1024
        options.snapshotInterval = 25
        options.entriesKeptAfterSnapshot = 3
        do {
            let node = try ReplicatedNode<KVStateMachine>(directory: directory.path, options: options, restore: KVStateMachine.restoreWithDefaults)
            for number in 0..<60 {
                let output = try await node.propose(Self.put("key\(number % 10)", "value\(number)"))
                #expect(output.revision == Int64(number) + 2)
            }
            node.stop()
        }
        let node = try ReplicatedNode<KVStateMachine>(directory: directory.path, options: options, restore: KVStateMachine.restoreWithDefaults)
        defer { node.stop() }
        let store = try await node.query { $0.store }
        #expect(store.currentRevision == 61)
        #expect(try Self.range(store, "key3") == ["value53"])
        #expect(store.keyCount == 10)
    }
}

extension KVStateMachine {
    /// The node's `restore` with a default store configuration.
    static let restoreWithDefaults: @Sendable ([UInt8]) throws -> KVStateMachine = {
        try KVStateMachine(snapshot: $0, configuration: StoreConfiguration())
    }
}
