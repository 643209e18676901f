import Foundation
import TestSupport
import Synchronization
import Testing
@testable import KVServer

/// kvd's HTTP side, driven by curl on the same port etcdctl uses.
@Suite(.serialized) struct HTTPTests {
    @Test func healthAndVersionAnswerAsEtcd34() async throws {
        try await EtcdctlTests.withServer { port in
            let health = try await Clients.curl(port, "/health")
            #expect(health.status == 200)
            #expect(health.body == "{\"health\":\"true\"}")
            let version = try await Clients.curl(port, "/version")
            #expect(version.status == 200)
            #expect(version.headers["content-type"] == "application/json")
            #expect(version.body == "{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}")
            let post = try await Clients.curl(port, "/health", ["-X", "POST"])
            #expect(post.status == 405)
            #expect(post.headers["allow"] == "GET")
            #expect(try await Clients.curl(port, "/nothing-here").status == 404)
        }
    }

    @Test func healthIsFalseWhileAnAlarmIsRaised() async throws {
        try await EtcdctlTests.withServer { port in
            // etcd raises NOSPACE itself; etcdctl can only disarm, so the alarm goes in through the Alarm RPC.
            let script = """
                import etcd3, etcd3.etcdrpc as rpc
                client = etcd3.client(host='127.0.0.1', port=\(port))
                request = rpc.AlarmRequest(action=rpc.AlarmRequest.ACTIVATE, memberID=1, alarm=rpc.NOSPACE)
                client.maintenancestub.Alarm(request)
                """
            let raise = try await Clients.run("/usr/bin/python3", ["-c", script])
            #expect(raise.status == 0, "\(raise.stderr)")
            let health = try await Clients.curl(port, "/health")
            #expect(health.status == 503)
            #expect(health.body == "{\"health\":\"false\"}\n")
            #expect(try await Clients.curl(port, "/health?exclude=NOSPACE").status == 200)
            #expect(try await Clients.etcdctl(port, ["alarm", "disarm"]).status == 0)
            #expect(try await Clients.curl(port, "/health").status == 200)
        }
    }

    @Test func metricsCountWALSyncsAndRPCs() async throws {
        try await EtcdctlTests.withServer { port in
            let before = try await Clients.curl(port, "/metrics")
            #expect(before.status == 200)
            #expect(before.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(before.body.contains("# TYPE etcd_disk_wal_fsync_duration_seconds histogram\n"))
            #expect(before.body.contains("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} "))
            #expect(before.body.contains("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"8.192\"} "))
            let syncsBefore = try #require(Self.sample(before.body, "etcd_disk_wal_fsync_duration_seconds_count"))
            #expect(Self.sample(before.body, "etcd_debugging_mvcc_current_revision") == 1)

            #expect(try await Clients.etcdctl(port, ["put", "k", "v"]).status == 0)
            let after = try await Clients.curl(port, "/metrics").body
            let syncsAfter = try #require(Self.sample(after, "etcd_disk_wal_fsync_duration_seconds_count"))
            #expect(syncsAfter > syncsBefore)
            #expect(Self.sample(after, "etcd_debugging_mvcc_current_revision") == 2)
            #expect(try #require(Self.sample(after, "etcd_server_proposals_committed_total")) >= 2)
            #expect(try #require(Self.sample(after, "etcd_mvcc_db_total_size_in_bytes")) > 0)
            #expect(Self.sample(after, "etcd_server_has_leader") == 1)
            let put = "{grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\""
            #expect(Self.sample(after, "grpc_server_started_total" + put + "}") == 1)
            #expect(Self.sample(after, "grpc_server_handled_total" + put + ",grpc_code=\"OK\"}") == 1)
            #expect(Self.sample(after, "grpc_server_handling_seconds_count" + put + "}") == 1)
        }
    }

    @Test func gatewayPutAndRangeRoundTrip() async throws {
        try await EtcdctlTests.withServer { port in
            // "foo" and "bar" in base64, as the protobuf JSON mapping carries bytes.
            let put = try await Clients.curl(port, "/v3/kv/put", ["-d", #"{"key":"Zm9v","value":"YmFy"}"#])
            #expect(put.status == 200)
            #expect(put.body.contains(#""revision":"2""#))
            #expect(try await Clients.etcdctl(port, ["get", "foo", "--print-value-only"]).stdout == "bar\n")
            #expect(try await Clients.etcdctl(port, ["put", "foo", "baz"]).status == 0)
            let range = try await Clients.curl(port, "/v3beta/kv/range", ["-d", #"{"key":"Zm9v"}"#])
            #expect(range.status == 200)
            #expect(range.headers["content-type"] == "application/json")
            #expect(range.body.contains(#""kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"YmF6"}]"#))
            #expect(range.body.contains(#""count":"1""#))
            let txn = try await Clients.curl(port, "/v3/kv/txn", ["-d", #"{"compare":[{"key":"Zm9v","target":"VALUE","value":"YmF6"}],"success":[{"request_delete_range":{"key":"Zm9v"}}]}"#])
            #expect(txn.status == 200)
            #expect(txn.body.contains(#""succeeded":true"#))
            #expect(try await Clients.etcdctl(port, ["get", "foo"]).stdout == "")
        }
    }

    @Test func gatewayErrorsAsGRPCGatewayWritesThem() async throws {
        try await EtcdctlTests.withServer { port in
            let future = try await Clients.curl(port, "/v3/kv/range", ["-d", #"{"key":"Zm9v","revision":"99"}"#])
            #expect(future.status == 400)
            #expect(future.body == #"{"error":"etcdserver: mvcc: required revision is a future revision","message":"etcdserver: mvcc: required revision is a future revision","code":11}"#)
            let lease = try await Clients.curl(port, "/v3/kv/put", ["-d", #"{"key":"Zm9v","lease":"1234"}"#])
            #expect(lease.status == 404)
            #expect(lease.body.contains(#""code":5"#))
            let badJSON = try await Clients.curl(port, "/v3/kv/put", ["-d", #"{"key": "#])
            #expect(badJSON.status == 400)
            #expect(badJSON.body.hasPrefix(#"{"error":"#))
            #expect(badJSON.body.hasSuffix(#""code":3}"#))
            #expect(try await Clients.curl(port, "/v3/kv/range").status == 405)
            #expect(try await Clients.curl(port, "/v3/kv/nothing", ["-d", "{}"]).status == 404)
        }
    }

    @Test func v2KeysSetGetCreateCompareAndDelete() async throws {
        try await EtcdctlTests.withServer { port in
            let key = "/v2/keys/coreos.com/lock"
            let set = try await Clients.curl(port, key, ["-X", "PUT", "-d", "value=one"])
            #expect(set.status == 201)
            #expect(set.headers["x-etcd-index"] == "2")
            #expect(set.body == #"{"action":"set","node":{"key":"/coreos.com/lock","value":"one","modifiedIndex":2,"createdIndex":2}}"# + "\n")
            let get = try await Clients.curl(port, key)
            #expect(get.status == 200)
            #expect(get.body == #"{"action":"get","node":{"key":"/coreos.com/lock","value":"one","modifiedIndex":2,"createdIndex":2}}"# + "\n")

            let create = try await Clients.curl(port, key, ["-X", "PUT", "-d", "value=two", "-d", "prevExist=false"])
            #expect(create.status == 412)
            #expect(create.body == #"{"errorCode":105,"message":"Key already exists","cause":"/coreos.com/lock","index":2}"# + "\n")

            let staleSwap = try await Clients.curl(port, key + "?prevIndex=1", ["-X", "PUT", "-d", "value=two"])
            #expect(staleSwap.status == 412)
            #expect(staleSwap.body.contains(#""errorCode":101,"message":"Compare failed","cause":"[1 != 2]""#))
            let swap = try await Clients.curl(port, key, ["-X", "PUT", "-d", "value=two", "-d", "prevIndex=2"])
            #expect(swap.status == 200)
            #expect(swap.body == #"{"action":"compareAndSwap","node":{"key":"/coreos.com/lock","value":"two","modifiedIndex":3,"createdIndex":2},"prevNode":{"key":"/coreos.com/lock","value":"one","modifiedIndex":2,"createdIndex":2}}"# + "\n")

            // v2 keys live apart from v3 keys.
            #expect(try await Clients.etcdctl(port, ["get", "/coreos.com/lock"]).stdout == "")
            let badValue = try await Clients.curl(port, key + "?prevValue=one", ["-X", "DELETE"])
            #expect(badValue.status == 412)
            #expect(badValue.body.contains(#""cause":"[one != two]""#))
            let delete = try await Clients.curl(port, key + "?prevValue=two", ["-X", "DELETE"])
            #expect(delete.status == 200)
            #expect(delete.body.hasPrefix(#"{"action":"compareAndDelete","node":{"key":"/coreos.com/lock","modifiedIndex":4,"createdIndex":2},"prevNode":"#))
            let gone = try await Clients.curl(port, key)
            #expect(gone.status == 404)
            #expect(gone.body == #"{"errorCode":100,"message":"Key not found","cause":"/coreos.com/lock","index":4}"# + "\n")

            let badTTL = try await Clients.curl(port, key, ["-X", "PUT", "-d", "value=x", "-d", "ttl=soon"])
            #expect(badTTL.status == 400)
            #expect(badTTL.body.contains(#""errorCode":202"#))
            let badForm = try await Clients.curl(port, key, ["-X", "PUT", "-d", "value=%zz"])
            #expect(badForm.status == 400)
            #expect(badForm.body.contains(#""errorCode":210"#))
        }
    }

    @Test func v2KeyWithATTLExpires() async throws {
        try await EtcdctlTests.withServer { port in
            let key = "/v2/keys/expiring"
            // A TTL that a loaded machine's next curl does not outlast.
            let set = try await Clients.curl(port, key, ["-X", "PUT", "-d", "value=soon", "-d", "ttl=5"])
            #expect(set.status == 201)
            #expect(set.body.contains(#""ttl":5,"modifiedIndex":2"#))
            #expect(set.body.contains(#""expiration":""#))
            #expect(try await Clients.curl(port, key).status == 200)
            let deadline = ContinuousClock.now + .seconds(30)
            var status = 200
            while status == 200 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
                status = try await Clients.curl(port, key).status
            }
            #expect(status == 404)
        }
    }

    @Test func garbageOnThePortLeavesGRPCAndHTTPServing() async throws {
        try await EtcdctlTests.withServer { port in
            // Each sends its bytes and prints the start of what came back before the server closed the
            // connection or the wait ended: HTTP/1 garbage and a bad request line (closed by the server:
            // a long wait, for a loaded machine), the HTTP/2 preface followed by the start of a frame
            // (the server's SETTINGS come, then it waits for the rest: 5 s), half a preface (2 s).
            let script = """
                import os, socket, sys
                sends = [bytes(range(256)) * 16, b"GARBAGE / NONSENSE\\r\\n\\r\\n", b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + bytes(range(256)), b"PRI * HT"]
                for payload, wait in zip(sends, [20, 20, 5, 2]):
                    s = socket.create_connection(("127.0.0.1", \(port)), timeout=wait)
                    s.sendall(payload)
                    answer = b""
                    try:
                        while chunk := s.recv(65536):
                            answer += chunk
                    except (ConnectionResetError, socket.timeout):
                        pass
                    print(repr(answer[:12]))
                    s.close()
                """
            let run = try await Clients.run("/usr/bin/python3", ["-c", script])
            #expect(run.status == 0, "\(run.stderr)")
            let answers = run.stdout.split(separator: "\n")
            #expect(answers.count == 4)
            #expect(answers.prefix(2) == ["b'HTTP/1.1 400'", "b'HTTP/1.1 400'"], "\(answers)")
            // After the preface the gRPC side speaks: its SETTINGS frame (type 4, no flags, stream 0) comes first.
            #expect(answers.dropFirst(2).first?.dropFirst(14).hasPrefix(#"\x04\x00\x00\x00\x00\x00"#) == true, "\(answers)")
            // Before the whole preface nothing is decided, and the SETTINGS it holds back must not leak.
            #expect(answers.last == "b''")
            #expect(try await Clients.etcdctl(port, ["put", "after", "garbage"]).stdout == "OK\n")
            #expect(try await Clients.etcdctl(port, ["get", "after", "--print-value-only"]).stdout == "garbage\n")
            #expect(try await Clients.curl(port, "/health").status == 200)
        }
    }

    @Test func stoppingClosesOpenHTTP1Connections() async throws {
        let directory = DataDirectory()
        var configuration = KVDConfiguration()
        configuration.dataDirectory = directory.path
        configuration.listenClient = [.init(host: "127.0.0.1", port: 0)]
        let server = try await KVDServer.start(configuration)
        // One connection idle after a request, one that sent nothing yet: neither answers
        // the PING of the gRPC side's graceful GOAWAY, so the stop must close them itself.
        let script = """
            import socket
            idle = socket.create_connection(("127.0.0.1", \(server.clientPorts[0])), timeout=10)
            silent = socket.create_connection(("127.0.0.1", \(server.clientPorts[0])), timeout=10)
            idle.sendall(b"GET /version HTTP/1.1\\r\\nHost: kvd\\r\\n\\r\\n")
            print(idle.recv(15).decode(), flush=True)
            rest = b""
            while chunk := idle.recv(65536):
                rest += chunk
            print("closed", silent.recv(1))
            """
        let client = try ChildProcess("/usr/bin/python3", ["-c", script])
        // Both connected once the first has its answer; a moment more for the accept of the second.
        let connected = ContinuousClock.now + .seconds(20)
        while !client.stdout.contains("HTTP/1.1 200 OK"), client.isRunning, ContinuousClock.now < connected {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))
        let stopped = Flag()
        Task {
            await server.stop()
            stopped.set()
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while !stopped.isSet && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(stopped.isSet)
        #expect(try await client.exitStatus(within: .seconds(15)) == 0)
        #expect(client.stdout == "HTTP/1.1 200 OK\nclosed b''\n", "\(client.stderr)")
    }

    final class Flag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    /// The value of the sample `name` (with its labels) in a Prometheus exposition.
    static func sample(_ text: String, _ name: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
    }
}
