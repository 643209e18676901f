import EtcdAPI
import Foundation
import SwiftProtobuf
import Testing

// Expected bytes come from etcd v3.4's own .proto files, compiled with
// protoc --python_out and encoded with Python's protobuf library.

private func encode(_ message: some SwiftProtobuf.Message) throws -> [UInt8] {
    try message.serializedBytes()
}

private func bytes(_ s: String) -> Data { Data(s.utf8) }

@Suite struct WireFormatTests {
    @Test func rangeFromKey() throws {
        var request = Etcdserverpb_RangeRequest()
        request.key = bytes("foo")
        request.rangeEnd = Data([0])
        // key: field 1, length-delimited (0x0a); range_end: field 2 (0x12).
        #expect(try encode(request) == [0x0a, 0x03, 0x66, 0x6f, 0x6f, 0x12, 0x01, 0x00])
    }

    @Test func rangeEveryOption() throws {
        var request = Etcdserverpb_RangeRequest()
        request.key = bytes("a")
        request.rangeEnd = bytes("b")
        request.limit = 10
        request.revision = 5
        request.sortOrder = .descend
        request.sortTarget = .mod
        request.serializable = true
        request.keysOnly = true
        request.countOnly = true
        request.minModRevision = 1
        request.maxModRevision = 2
        request.minCreateRevision = 3
        request.maxCreateRevision = 4
        #expect(try encode(request) == [
            0x0a, 0x01, 0x61, 0x12, 0x01, 0x62, 0x18, 0x0a, 0x20, 0x05, 0x28, 0x02, 0x30, 0x03,
            0x38, 0x01, 0x40, 0x01, 0x48, 0x01, 0x50, 0x01, 0x58, 0x02, 0x60, 0x03, 0x68, 0x04,
        ])
    }

    @Test func txnWithCompareRangeEndAndNestedTxn() throws {
        var compare = Etcdserverpb_Compare()
        compare.result = .notEqual
        compare.target = .mod
        compare.key = bytes("k")
        compare.modRevision = 7
        compare.rangeEnd = bytes("l")
        var put = Etcdserverpb_PutRequest()
        put.key = bytes("k")
        put.value = bytes("v")
        put.lease = 0x1234
        put.prevKv = true
        var success = Etcdserverpb_RequestOp()
        success.requestPut = put
        var failure = Etcdserverpb_RequestOp()
        failure.requestTxn = Etcdserverpb_TxnRequest()
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [compare]
        txn.success = [success]
        txn.failure = [failure]
        // Compare.range_end is field 64: tag 0x82 0x04.
        #expect(try encode(txn) == [
            0x0a, 0x0d, 0x08, 0x03, 0x10, 0x02, 0x1a, 0x01, 0x6b, 0x30, 0x07, 0x82, 0x04, 0x01, 0x6c,
            0x12, 0x0d, 0x12, 0x0b, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76, 0x18, 0xb4, 0x24, 0x20, 0x01,
            0x1a, 0x02, 0x22, 0x00,
        ])
    }

    @Test func watchCreateWithPackedFilters() throws {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = bytes("k")
        create.startRevision = 3
        create.filters = [.noput, .nodelete]
        create.prevKv = true
        create.watchID = 9
        create.fragment = true
        var request = Etcdserverpb_WatchRequest()
        request.createRequest = create
        #expect(try encode(request) == [
            0x0a, 0x0f, 0x0a, 0x01, 0x6b, 0x18, 0x03, 0x2a, 0x02, 0x00, 0x01, 0x30, 0x01, 0x38, 0x09,
            0x40, 0x01,
        ])
    }

    @Test func watchResponseEventsAreField11() throws {
        var event = Mvccpb_Event()
        event.type = .delete
        event.kv.key = bytes("k")
        event.kv.modRevision = 4
        var response = Etcdserverpb_WatchResponse()
        response.header.revision = 4
        response.watchID = 1
        response.events = [event]
        let expected: [UInt8] = [
            0x0a, 0x02, 0x18, 0x04, 0x10, 0x01, 0x5a, 0x09, 0x08, 0x01, 0x12, 0x05, 0x0a, 0x01, 0x6b,
            0x18, 0x04,
        ]
        #expect(try encode(response) == expected)
        #expect(try Etcdserverpb_WatchResponse(serializedBytes: expected) == response)
    }

    @Test func decodePutResponse() throws {
        let wire: [UInt8] = [
            0x0a, 0x1a, 0x08, 0xb2, 0x98, 0xea, 0xf1, 0x94, 0x83, 0x86, 0xfc, 0xcd, 0x01, 0x10, 0xcd,
            0xd2, 0x91, 0x8b, 0xd2, 0xb8, 0x81, 0xcf, 0x8e, 0x01, 0x18, 0x02, 0x20, 0x03, 0x12, 0x1b,
            0x0a, 0x03, 0x66, 0x6f, 0x6f, 0x10, 0x02, 0x18, 0x02, 0x20, 0x01, 0x2a, 0x03, 0x62, 0x61,
            0x72, 0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]
        let response = try Etcdserverpb_PutResponse(serializedBytes: wire)
        #expect(response.header.clusterID == 0xcdf8_1819_4e3a_8c32)
        #expect(response.header.memberID == 0x8e9e_05c5_2164_694d)
        #expect(response.header.revision == 2)
        #expect(response.header.raftTerm == 3)
        #expect(response.prevKv.key == bytes("foo"))
        #expect(response.prevKv.createRevision == 2)
        #expect(response.prevKv.modRevision == 2)
        #expect(response.prevKv.version == 1)
        #expect(response.prevKv.value == bytes("bar"))
        #expect(response.prevKv.lease == -1)
        #expect(try encode(response) == wire)
    }

    @Test func leaseAndMaintenance() throws {
        var grant = Etcdserverpb_LeaseGrantRequest()
        grant.ttl = 60
        grant.id = -2
        #expect(try encode(grant) == [0x08, 0x3c, 0x10, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])

        var status = Etcdserverpb_StatusResponse()
        status.version = "3.4.23"
        status.dbSize = 20480
        status.leader = 1
        status.raftIndex = 5
        status.raftTerm = 2
        status.raftAppliedIndex = 5
        status.errors = ["memberID:1 alarm:NOSPACE "]
        status.dbSizeInUse = 16384
        #expect(try encode(status) == [0x12, 0x06] + Array("3.4.23".utf8)
            + [0x18, 0x80, 0xa0, 0x01, 0x20, 0x01, 0x28, 0x05, 0x30, 0x02, 0x38, 0x05, 0x42, 0x19]
            + Array("memberID:1 alarm:NOSPACE ".utf8) + [0x48, 0x80, 0x80, 0x01])

        var alarm = Etcdserverpb_AlarmRequest()
        alarm.action = .activate
        alarm.memberID = 7
        alarm.alarm = .nospace
        #expect(try encode(alarm) == [0x08, 0x01, 0x10, 0x07, 0x18, 0x01])
    }
}
