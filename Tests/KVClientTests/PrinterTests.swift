import EtcdAPI
import Foundation
import Testing
@testable import KVClient

/// kvctl's output for given answers, byte for byte as etcdctl 3.4.23 printed
/// it for the same answers from etcd (the expected texts were taken from
/// real etcdctl runs).
struct PrinterTests {
    static let header = Etcdserverpb_ResponseHeader.with {
        $0.clusterID = 15118495548433857066
        $0.memberID = 13668033151171901709
        $0.revision = 3
        $0.raftTerm = 2
    }
    static let headerJSON = #"{"cluster_id":15118495548433857066,"member_id":13668033151171901709,"revision":3,"raft_term":2}"#

    static func kv(_ key: String, _ value: String, create: Int64, mod: Int64, version: Int64, lease: Int64 = 0) -> Mvccpb_KeyValue {
        .with {
            $0.key = Data(key.utf8)
            $0.value = Data(value.utf8)
            $0.createRevision = create
            $0.modRevision = mod
            $0.version = version
            $0.lease = lease
        }
    }

    static let range = Etcdserverpb_RangeResponse.with {
        $0.header = header
        $0.kvs = [kv("foo", "bar", create: 2, mod: 2, version: 1), kv("foo2", "b a z", create: 3, mod: 3, version: 1)]
        $0.count = 2
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func simpleKeyValuesPlainHexAndValueOnly() {
        #expect(text(SimplePrinter().get(Self.range)) == "foo\nbar\nfoo2\nb a z\n")
        #expect(text(SimplePrinter(hex: true).get(Self.range)) == "\\x66\\x6f\\x6f\n\\x62\\x61\\x72\n\\x66\\x6f\\x6f\\x32\n\\x62\\x20\\x61\\x20\\x7a\n")
        #expect(text(SimplePrinter(valueOnly: true).get(Self.range)) == "bar\nb a z\n")
        // A key without its value (--keys-only) still gets its empty value line.
        let keysOnly = Etcdserverpb_RangeResponse.with { $0.kvs = [.with { $0.key = Data("foo".utf8) }] }
        #expect(SimplePrinter().get(keysOnly) == Array("foo\n\n".utf8))
        // Bytes go out as they are, UTF-8 or not.
        let binary = Etcdserverpb_RangeResponse.with { $0.kvs = [.with { $0.key = Data([0xFF, 0x00]); $0.value = Data([0x80]) }] }
        #expect(SimplePrinter().get(binary) == [0xFF, 0x00, 0x0A, 0x80, 0x0A])
    }

    @Test func simplePutDeleteAndTxn() {
        let put = Etcdserverpb_PutResponse.with { $0.header = Self.header; $0.prevKv = Self.kv("foo", "bar", create: 2, mod: 2, version: 1) }
        #expect(text(SimplePrinter().put(put)) == "OK\nfoo\nbar\n")
        #expect(text(SimplePrinter().put(.init())) == "OK\n")
        let delete = Etcdserverpb_DeleteRangeResponse.with { $0.deleted = 1; $0.prevKvs = [Self.kv("w1", "b", create: 8, mod: 9, version: 2)] }
        #expect(text(SimplePrinter().del(delete)) == "1\nw1\nb\n")
        #expect(text(SimplePrinter().del(.init())) == "0\n")
        let txn = Etcdserverpb_TxnResponse.with {
            $0.succeeded = true
            $0.responses = [
                .with { $0.responsePut = .init() },
                .with { $0.responseRange = .with { $0.kvs = [Self.kv("t1", "v1", create: 12, mod: 12, version: 1)]; $0.count = 1 } },
                .with { $0.responseDeleteRange = .init() },
            ]
        }
        #expect(text(SimplePrinter().txn(txn)) == "SUCCESS\n\nOK\n\nt1\nv1\n\n0\n")
        #expect(text(SimplePrinter().txn(.init())) == "FAILURE\n")
    }

    @Test func simpleWatchEvents() {
        let response = Etcdserverpb_WatchResponse.with {
            $0.events = [
                .with { $0.type = .put; $0.kv = Self.kv("w1", "a", create: 8, mod: 8, version: 1) },
                .with {
                    $0.type = .delete
                    $0.kv = .with { $0.key = Data("w1".utf8); $0.modRevision = 10 }
                    $0.prevKv = Self.kv("w1", "b", create: 8, mod: 9, version: 2)
                },
            ]
        }
        #expect(text(SimplePrinter().watch(response)) == "PUT\nw1\na\nDELETE\nw1\nb\nw1\n\n")
    }

    @Test func simpleLeases() {
        let printer = SimplePrinter()
        #expect(text(printer.grant(.with { $0.id = 0x390da214506ba10f; $0.ttl = 100 })) == "lease 390da214506ba10f granted with TTL(100s)\n")
        #expect(text(printer.revoke(0x390da214506ba115, .init())) == "lease 390da214506ba115 revoked\n")
        #expect(text(printer.keepAlive(.with { $0.id = 0x390da214506ba115; $0.ttl = 50 })) == "lease 390da214506ba115 keepalived with TTL(50)\n")
        let live = Etcdserverpb_LeaseTimeToLiveResponse.with {
            $0.id = 0x390da214506ba115
            $0.ttl = 49
            $0.grantedTtl = 50
            $0.keys = [Data("lk".utf8), Data("lk2".utf8)]
        }
        #expect(text(printer.timeToLive(live, keys: false)) == "lease 390da214506ba115 granted with TTL(50s), remaining(49s)\n")
        #expect(text(printer.timeToLive(live, keys: true)) == "lease 390da214506ba115 granted with TTL(50s), remaining(49s), attached keys([lk lk2])\n")
        let gone = Etcdserverpb_LeaseTimeToLiveResponse.with { $0.id = 0x123; $0.ttl = -1 }
        #expect(text(printer.timeToLive(gone, keys: true)) == "lease 0000000000000123 already expired\n")
        let list = Etcdserverpb_LeaseLeasesResponse.with { $0.leases = [.with { $0.id = 0x390da214506ba115 }, .with { $0.id = 1 }] }
        #expect(text(printer.leases(list)) == "found 2 leases\n390da214506ba115\n0000000000000001\n")
        #expect(SimplePrinter.leaseID(-1) == "-000000000000001")
    }

    static let member = Etcdserverpb_Member.with {
        $0.id = 0xbdae9bbc11dd390d
        $0.name = "probe"
        $0.peerUrls = ["http://127.0.0.1:23801"]
        $0.clientUrls = ["http://127.0.0.1:23791"]
    }

    static let status = Etcdserverpb_StatusResponse.with {
        $0.header = .with { $0.clusterID = 15118495548433857066; $0.memberID = 13668033151171901709; $0.revision = 14; $0.raftTerm = 2 }
        $0.version = "3.4.23"
        $0.dbSize = 20480
        $0.leader = 13668033151171901709
        $0.raftIndex = 23
        $0.raftTerm = 2
        $0.raftAppliedIndex = 23
        $0.dbSizeInUse = 16384
    }

    @Test func simpleClusterLines() {
        let members = Etcdserverpb_MemberListResponse.with { $0.members = [Self.member, .with { $0.id = 0x10; $0.peerUrls = ["a", "b"]; $0.isLearner = true }] }
        #expect(text(SimplePrinter().memberList(members)) == """
            bdae9bbc11dd390d, started, probe, http://127.0.0.1:23801, http://127.0.0.1:23791, false
            10, unstarted, , a,b, , true

            """)
        let statuses = [EndpointStatus(endpoint: "127.0.0.1:23791", status: Self.status)]
        #expect(text(SimplePrinter().endpointStatus(statuses)) == "127.0.0.1:23791, bdae9bbc11dd390d, 3.4.23, 20 kB, true, false, 2, 23, 23, \n")
        let checks = [
            EndpointHealth(endpoint: "a:1", healthy: true, took: "917.228\u{00B5}s", error: ""),
            EndpointHealth(endpoint: "b:2", healthy: false, took: "1s", error: "context deadline exceeded"),
        ]
        #expect(SimplePrinter().healthGoesToStandardError)
        #expect(text(SimplePrinter().endpointHealth(checks)) == """
            a:1 is healthy: successfully committed proposal: took = 917.228µs
            b:2 is unhealthy: failed to commit proposal: context deadline exceeded

            """)
    }

    @Test func jsonKVAnswersAsEncodingJSONWritesGoStructs() {
        let json = JSONPrinter()
        #expect(text(json.get(Self.range)) == "{\"header\":\(Self.headerJSON)," + #""kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":2,"version":1,"value":"YmFy"},"#
            + #"{"key":"Zm9vMg==","create_revision":3,"mod_revision":3,"version":1,"value":"YiBhIHo="}],"count":2}"# + "\n")
        #expect(text(json.get(.with { $0.header = Self.header })) == "{\"header\":\(Self.headerJSON)}\n")
        let put = Etcdserverpb_PutResponse.with { $0.header = Self.header; $0.prevKv = Self.kv("foo", "bar", create: 2, mod: 2, version: 1, lease: 7) }
        #expect(text(json.put(put)) == "{\"header\":\(Self.headerJSON),\"prev_kv\":{\"key\":\"Zm9v\",\"create_revision\":2,\"mod_revision\":2,\"version\":1,\"value\":\"YmFy\",\"lease\":7}}\n")
        let delete = Etcdserverpb_DeleteRangeResponse.with { $0.header = Self.header; $0.deleted = 1; $0.prevKvs = [Self.kv("foo2", "b a z", create: 3, mod: 3, version: 1)] }
        #expect(text(json.del(delete)) == "{\"header\":\(Self.headerJSON),\"deleted\":1,\"prev_kvs\":[{\"key\":\"Zm9vMg==\",\"create_revision\":3,\"mod_revision\":3,\"version\":1,\"value\":\"YiBhIHo=\"}]}\n")
        // An empty header is still there: the Go field is a non-nil pointer.
        #expect(text(json.del(.with { $0.header = .init() })) == "{\"header\":{}}\n")
    }

    @Test func jsonTxnNamesTheOneofsGoWay() {
        let txn = Etcdserverpb_TxnResponse.with {
            $0.header = Self.header
            $0.responses = [
                .with { $0.responseRange = .with { $0.header = .with { $0.revision = 13 }; $0.kvs = [Self.kv("t1", "v1", create: 12, mod: 12, version: 1)]; $0.count = 1 } },
                .with { $0.responsePut = .with { $0.header = .with { $0.revision = 14 } } },
                .init(),
            ]
        }
        #expect(text(JSONPrinter().txn(txn)) == "{\"header\":\(Self.headerJSON),\"responses\":[" +
            #"{"Response":{"ResponseRange":{"header":{"revision":13},"kvs":[{"key":"dDE=","create_revision":12,"mod_revision":12,"version":1,"value":"djE="}],"count":1}}},"# +
            #"{"Response":{"ResponsePut":{"header":{"revision":14}}}},{"Response":null}]}"# + "\n")
    }

    @Test func jsonWatchIsClientv3sStruct() {
        let put = Etcdserverpb_WatchResponse.with {
            $0.header = Self.header
            $0.events = [.with { $0.kv = Self.kv("w1", "a", create: 8, mod: 8, version: 1) }, .with { $0.type = .delete; $0.kv = .with { $0.key = Data("w1".utf8); $0.modRevision = 10 } }]
        }
        #expect(text(JSONPrinter().watch(put)) == "{\"Header\":\(Self.headerJSON),\"Events\":[" +
            #"{"kv":{"key":"dzE=","create_revision":8,"mod_revision":8,"version":1,"value":"YQ=="}},{"type":1,"kv":{"key":"dzE=","mod_revision":10}}],"# +
            #""CompactRevision":0,"Canceled":false,"Created":false}"# + "\n")
        let compacted = Etcdserverpb_WatchResponse.with { $0.compactRevision = 40090; $0.canceled = true }
        #expect(text(JSONPrinter().watch(compacted)) == #"{"Header":{},"Events":[],"CompactRevision":40090,"Canceled":true,"Created":false}"# + "\n")
    }

    @Test func jsonLeasesFlattenTheirHeader() {
        let json = JSONPrinter()
        let header = #""cluster_id":15118495548433857066,"member_id":13668033151171901709,"revision":3,"raft_term":2"#
        #expect(text(json.grant(.with { $0.header = Self.header; $0.id = 4111120242991407377; $0.ttl = 100 })) == "{\(header),\"ID\":4111120242991407377,\"TTL\":100,\"Error\":\"\"}\n")
        #expect(text(json.revoke(1, .with { $0.header = Self.header })) == "{\"header\":\(Self.headerJSON)}\n")
        #expect(text(json.keepAlive(.with { $0.header = Self.header; $0.id = 5; $0.ttl = 50 })) == "{\(header),\"ID\":5,\"TTL\":50}\n")
        let live = Etcdserverpb_LeaseTimeToLiveResponse.with { $0.header = Self.header; $0.id = 5; $0.ttl = 49; $0.grantedTtl = 50; $0.keys = [Data("lk".utf8)] }
        #expect(text(json.timeToLive(live, keys: true)) == "{\(header),\"id\":5,\"ttl\":49,\"granted-ttl\":50,\"keys\":[\"bGs=\"]}\n")
        let gone = Etcdserverpb_LeaseTimeToLiveResponse.with { $0.header = Self.header; $0.id = 5; $0.ttl = -1 }
        #expect(text(json.timeToLive(gone, keys: false)) == "{\(header),\"id\":5,\"ttl\":-1,\"granted-ttl\":0,\"keys\":null}\n")
        #expect(text(json.leases(.with { $0.header = Self.header })) == "{\(header),\"leases\":[]}\n")
        #expect(text(json.leases(.with { $0.leases = [.with { $0.id = 9 }] })) == "{\"leases\":[{\"id\":9}]}\n")
    }

    @Test func jsonClusterAnswers() {
        let members = Etcdserverpb_MemberListResponse.with {
            $0.header = .with { $0.clusterID = 15118495548433857066; $0.memberID = 13668033151171901709; $0.raftTerm = 2 }
            $0.members = [Self.member]
        }
        #expect(text(JSONPrinter().memberList(members)) == #"{"header":{"cluster_id":15118495548433857066,"member_id":13668033151171901709,"raft_term":2},"members":[{"ID":13668033151171901709,"name":"probe","peerURLs":["http://127.0.0.1:23801"],"clientURLs":["http://127.0.0.1:23791"]}]}"# + "\n")
        let statuses = [EndpointStatus(endpoint: "127.0.0.1:23791", status: Self.status)]
        #expect(text(JSONPrinter().endpointStatus(statuses)) == #"[{"Endpoint":"127.0.0.1:23791","Status":{"header":{"cluster_id":15118495548433857066,"member_id":13668033151171901709,"revision":14,"raft_term":2},"version":"3.4.23","dbSize":20480,"leader":13668033151171901709,"raftIndex":23,"raftTerm":2,"raftAppliedIndex":23,"dbSizeInUse":16384}}]"# + "\n")
        #expect(text(JSONPrinter().endpointStatus([])) == "[]\n")
        let checks = [
            EndpointHealth(endpoint: "127.0.0.1:23791", healthy: true, took: "917.228\u{00B5}s", error: ""),
            EndpointHealth(endpoint: "127.0.0.1:1", healthy: false, took: "1.000565081s", error: "context deadline exceeded"),
        ]
        #expect(!JSONPrinter().healthGoesToStandardError)
        #expect(text(JSONPrinter().endpointHealth(checks)) == #"[{"endpoint":"127.0.0.1:23791","health":true,"took":"917.228µs"},{"endpoint":"127.0.0.1:1","health":false,"took":"1.000565081s","error":"context deadline exceeded"}]"# + "\n")
    }

    @Test func jsonStringsEscapeAsGo119() {
        var json = GoJSON()
        json.string("a\"b\\c\n\t\r\u{08}\u{01}<>&\u{2028}é")
        #expect(text(json.bytes) == #""a\"b\\c\n\t\r\u0008\u0001\u003c\u003e\u0026\u2028é""#)
        #expect(GoJSON.base64Encoded(Array("".utf8)).isEmpty)
        #expect(text(GoJSON.base64Encoded(Array("ab".utf8))) == "YWI=")
        #expect(text(GoJSON.base64Encoded([0xFF, 0xFE, 0xFD, 0x00])) == "//79AA==")
    }
}
