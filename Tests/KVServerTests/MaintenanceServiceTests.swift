import CoreboxCore
import TestSupport
import Foundation
import Testing
@testable import KVServer

@Suite(.serialized) struct MaintenanceServiceTests {
    @Test func endpointStatusAndHealth() async throws {
        try await EtcdServices.withServer { port in
            #expect(try await Clients.etcdctl(port, ["put", "a", "1"]).status == 0)
            let status = try await Clients.etcdctl(port, ["endpoint", "status", "-w", "json"])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]], "\(status.stderr)")
            let fields = try #require(json.first?["Status"] as? [String: Any])
            #expect(fields["version"] as? String == "3.4.23")
            #expect(fields["leader"] as? Int == Int(EtcdServices.memberID))
            #expect((fields["dbSize"] as? Int ?? 0) > 0)
            #expect((fields["raftIndex"] as? Int ?? 0) >= 2)
            #expect((fields["raftTerm"] as? Int ?? 0) >= 1)
            #expect(fields["errors"] == nil)
            let header = try #require(fields["header"] as? [String: Any])
            #expect(header["revision"] as? Int == 2)

            let health = try await Clients.etcdctl(port, ["endpoint", "health"])
            #expect(health.status == 0)
            #expect((health.stdout + health.stderr).contains("127.0.0.1:\(port) is healthy"))
        }
    }

    /// A write past --quota-backend-bytes fails with etcd's NOSPACE error and
    /// raises the alarm; while it is raised, puts fail even where they would
    /// fit, deletes and reads still work, and disarming lets writes in again.
    @Test func theSpaceQuotaRaisesNOSPACEUntilDisarmed() async throws {
        try await EtcdctlTests.withServer(configure: { $0.quotaBackendBytes = 16_384; $0.maxTxnOperations = 3 }) { port in
            let value = String(repeating: "v", count: 4000)
            var put = try await Clients.etcdctl(port, ["put", "key0", value])
            for number in 1..<8 where put.status == 0 {
                put = try await Clients.etcdctl(port, ["put", "key\(number)", value])
            }
            #expect(put.status != 0)
            #expect(put.stderr.contains("etcdserver: mvcc: database space exceeded"), "\(put.stderr)")
            let alarms = try await Clients.etcdctl(port, ["alarm", "list"])
            #expect(alarms.stdout.contains("alarm:NOSPACE"), "\(alarms.stdout)")
            #expect(try await Clients.etcdctl(port, ["put", "small", "1"]).stderr.contains("database space exceeded"))
            #expect(try await Clients.etcdctl(port, ["lease", "grant", "60"]).stderr.contains("database space exceeded"))
            #expect(try await Clients.etcdctl(port, ["get", "key0", "--print-value-only"]).stdout == value + "\n")
            #expect(try await Clients.etcdctl(port, ["del", "--prefix", "key"]).status == 0)
            let status = try await Clients.etcdctl(port, ["endpoint", "status"])
            #expect(status.stdout.contains("alarm:NOSPACE"), "\(status.stdout)")

            // Compaction frees the deleted history; then the alarm is disarmed.
            let revision = try await Clients.etcdctl(port, ["get", "small", "-w", "json"]).stdout
            let current = try #require(revision.split(separator: "\"revision\":").last?.prefix { $0.isNumber })
            #expect(try await Clients.etcdctl(port, ["compaction", String(current)]).status == 0)
            #expect(try await Clients.etcdctl(port, ["alarm", "disarm"]).status == 0)
            #expect(try await Clients.etcdctl(port, ["alarm", "list"]).stdout.isEmpty)
            #expect(try await Clients.etcdctl(port, ["put", "small", "1"]).stdout == "OK\n")
            // --max-txn-ops reaches the store.
            let txn = try await Clients.etcdctl(port, ["txn"], stdin: "\nput a 1\nput b 2\nput c 3\nput d 4\n\n\n")
            #expect(txn.stderr.contains("etcdserver: too many operations in txn request"), "\(txn.stderr)")
        }
    }

    @Test func memberListShowsTheOneMember() async throws {
        try await EtcdServices.withServer { port in
            let list = try await Clients.etcdctl(port, ["member", "list"])
            let id = String(EtcdServices.memberID, radix: 16)
            #expect(list.stdout == "\(id), started, kvd-test, http://127.0.0.1:2380, http://127.0.0.1:2379, false\n", "\(list.stderr)")
            let add = try await Clients.etcdctl(port, ["member", "add", "other", "--peer-urls=http://10.0.0.2:2380"])
            #expect(add.stderr.contains("etcdserver: re-configuration failed due to not enough started members"))
            let remove = try await Clients.etcdctl(port, ["member", "remove", "1234"])
            #expect(remove.stderr.contains("etcdserver: member not found"))
        }
    }

    @Test func snapshotSaveWritesTheStoreAndItsDigest() async throws {
        try await EtcdServices.withServer { port in
            #expect(try await Clients.etcdctl(port, ["put", "snap", "shot"]).status == 0)
            let file = NSTemporaryDirectory() + "corebox-snapshot-\(UUID().uuidString).db"
            defer { try? FileManager.default.removeItem(atPath: file) }
            let save = try await Clients.etcdctl(port, ["snapshot", "save", file])
            #expect(save.status == 0, "\(save.stderr)")
            #expect(save.stdout.contains("Snapshot saved at \(file)"))
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(bytes.count % 512 == 32)
            try #require(bytes.count > 32)
            #expect(bytes.starts(with: Array("MVCCSNAP".utf8)))
            var sha = SHA256()
            sha.update(bytes.dropLast(32))
            let digest = sha.finalize()
            #expect(digest == Array(bytes.suffix(32)))
        }
    }

    @Test func hashKVAndDefragmentAnswer() async throws {
        try await EtcdServices.withServer { port in
            #expect(try await Clients.etcdctl(port, ["put", "h", "1"]).status == 0)
            let first = try await Clients.etcdctl(port, ["endpoint", "hashkv", "-w", "json"]).stdout
            #expect(first.contains("\"compact_revision\":-1"))
            #expect(first == (try await Clients.etcdctl(port, ["endpoint", "hashkv", "-w", "json"]).stdout))
            #expect(try await Clients.etcdctl(port, ["put", "h", "2"]).status == 0)
            #expect(first != (try await Clients.etcdctl(port, ["endpoint", "hashkv", "-w", "json"]).stdout))
            let defrag = try await Clients.etcdctl(port, ["defrag"])
            #expect(defrag.stdout.contains("Finished defragmenting etcd member[127.0.0.1:\(port)]"), "\(defrag.stderr)")
        }
    }
}
