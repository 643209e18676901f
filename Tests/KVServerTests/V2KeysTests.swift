import Testing
@testable import KVServer

/// The v2 keys mapping, without a server: parsing, decisions and etcd's JSON.
struct V2KeysTests {
    typealias Failure = V2Keys.Failure

    static func request(_ method: V2Keys.Method, _ form: String = "", path: String = "/v2/keys/a") throws(Failure) -> V2Keys.Request {
        try V2Keys.parse(method: method, path: path, form: Form(form)!)
    }

    /// Why parsing `form` fails, nil when it does not.
    static func failure(_ method: V2Keys.Method, _ form: String) -> Failure? {
        do throws(Failure) {
            _ = try request(method, form)
            return nil
        } catch {
            return error
        }
    }

    let node = V2Keys.Node(key: "/a", value: "one", modifiedIndex: 5, createdIndex: 3)

    @Test func parsesTheFormsLocksmithSends() throws {
        let request = try Self.request(.put, "value=%7B%22semaphore%22%3A1%7D&prevIndex=7&ttl=30&prevExist=true",
                                       path: "/v2/keys/coreos.com//updateengine/./rebootlock/semaphore/")
        #expect(request == V2Keys.Request(method: .put, key: "/coreos.com/updateengine/rebootlock/semaphore",
                                          value: "{\"semaphore\":1}", ttl: 30, prevExist: true, prevIndex: 7))
        #expect(try Self.request(.put, "value=a+b").value == "a b")
        #expect(try Self.request(.put, "prevExist=f").prevExist == false)
    }

    @Test func malformedFormValuesGetEtcdsCodes() {
        #expect(Self.failure(.put, "ttl=soon") == Failure(code: 202, cause: "invalid value for \"ttl\""))
        #expect(Self.failure(.put, "ttl=-1")?.code == 202)
        #expect(Self.failure(.put, "prevIndex=x") == Failure(code: 203, cause: "invalid value for \"prevIndex\""))
        #expect(Self.failure(.put, "prevValue=") == Failure(code: 201, cause: "\"prevValue\" cannot be empty"))
        #expect(Self.failure(.put, "prevExist=maybe") == Failure(code: 209, cause: "invalid value for prevExist"))
        #expect(Self.failure(.get, "wait=true")?.code == 209)
        #expect(Form("value=%zz") == nil)
        #expect(Form("a=1;b=2") == nil)
        #expect(Failure(code: 202, cause: "").status == 400)
        #expect(Failure(code: 100, cause: "").status == 404)
        #expect(Failure(code: 105, cause: "").status == 412)
    }

    @Test func putDecidesLikeEtcdsV2Applier() throws {
        func plan(_ form: String, _ current: V2Keys.Node?) throws -> Result<V2Keys.Plan, Failure> {
            V2Keys.plan(try Self.request(.put, form), current: current, index: 9)
        }
        #expect(try plan("value=x", nil) == .success(.write(.init(action: .set, value: "x", expectedModRevision: 0))))
        #expect(try plan("value=x&ttl=5", node) == .success(.write(.init(action: .set, value: "x", ttl: 5, expectedModRevision: 5))))
        #expect(try plan("value=x&prevExist=false", nil) == .success(.write(.init(action: .create, value: "x", expectedModRevision: 0))))
        #expect(try plan("value=x&prevExist=false", node) == .failure(Failure(code: 105, cause: "/a", index: 9)))
        #expect(try plan("value=x&prevExist=true", nil) == .failure(Failure(code: 100, cause: "/a", index: 9)))
        #expect(try plan("value=x&prevExist=true", node) == .success(.write(.init(action: .update, value: "x", expectedModRevision: 5))))
        #expect(try plan("value=x&prevIndex=5&prevValue=one", node)
            == .success(.write(.init(action: .compareAndSwap, value: "x", expectedModRevision: 5))))
        #expect(try plan("value=x&prevIndex=4", node) == .failure(Failure(code: 101, cause: "[4 != 5]", index: 9)))
        #expect(try plan("value=x&prevValue=two", node) == .failure(Failure(code: 101, cause: "[two != one]", index: 9)))
        #expect(try plan("value=x&prevValue=two&prevIndex=4", node)
            == .failure(Failure(code: 101, cause: "[two != one] [4 != 5]", index: 9)))
        #expect(try plan("value=x&prevIndex=4", nil) == .failure(Failure(code: 100, cause: "/a", index: 9)))
    }

    @Test func getAndDeleteDecide() throws {
        #expect(V2Keys.plan(try Self.request(.get), current: node, index: 9) == .success(.answer(.init(action: .get, node: node, index: 9))))
        #expect(V2Keys.plan(try Self.request(.get), current: nil, index: 9) == .failure(Failure(code: 100, cause: "/a", index: 9)))
        #expect(V2Keys.plan(try Self.request(.delete), current: node, index: 9)
            == .success(.write(.init(action: .delete, value: nil, expectedModRevision: 5))))
        #expect(V2Keys.plan(try Self.request(.delete, "prevValue=one"), current: node, index: 9)
            == .success(.write(.init(action: .compareAndDelete, value: nil, expectedModRevision: 5))))
        #expect(V2Keys.plan(try Self.request(.delete, "prevIndex=2"), current: node, index: 9)
            == .failure(Failure(code: 101, cause: "[2 != 5]", index: 9)))
    }

    @Test func eventsRenderAsEtcdsJSON() {
        let swap = V2Keys.Write(action: .compareAndSwap, value: "<two>", ttl: 30, expectedModRevision: 5)
        let event = V2Keys.event(after: swap, key: "/a", current: node, revision: 10, ttl: 30)
        #expect(event.status == 200)
        #expect(V2Keys.json(event, wallNanoseconds: 1_700_000_000_500_000_000) == """
            {"action":"compareAndSwap","node":{"key":"/a","value":"\\u003ctwo\\u003e","expiration":"2023-11-14T22:13:50.5Z",\
            "ttl":30,"modifiedIndex":10,"createdIndex":3},"prevNode":{"key":"/a","value":"one","modifiedIndex":5,"createdIndex":3}}

            """)
        let delete = V2Keys.event(after: .init(action: .delete, value: nil, expectedModRevision: 5), key: "/a", current: node, revision: 11, ttl: nil)
        #expect(V2Keys.json(delete, wallNanoseconds: 0).hasPrefix(#"{"action":"delete","node":{"key":"/a","modifiedIndex":11,"createdIndex":3},"#))
        let created = V2Keys.event(after: .init(action: .set, value: "v", expectedModRevision: 0), key: "/b", current: nil, revision: 12, ttl: nil)
        #expect(created.status == 201)
        #expect(V2Keys.json(Failure(code: 100, cause: "/b", index: 12))
            == #"{"errorCode":100,"message":"Key not found","cause":"/b","index":12}"# + "\n")
    }

    @Test func timesAreGoRFC3339Nano() {
        #expect(V2Keys.rfc3339(nanoseconds: 0) == "1970-01-01T00:00:00Z")
        #expect(V2Keys.rfc3339(nanoseconds: 951_782_400_000_000_123) == "2000-02-29T00:00:00.000000123Z")
        #expect(V2Keys.rfc3339(nanoseconds: 4_102_444_799_999_000_000) == "2099-12-31T23:59:59.999Z")
    }
}

/// The Prometheus exposition kvd writes.
struct MetricsTests {
    @Test func histogramsAreCumulativeWithEtcdsBuckets() {
        var histogram = Histogram(start: 0.001, factor: 2, count: 14)
        #expect(histogram.bounds.first == 0.001)
        #expect(histogram.bounds.last == 8.192)
        for value in [0.0005, 0.003, 0.003, 20] { histogram.observe(value) }
        var text = PrometheusText()
        text.histogram("wal", help: "Syncs.", series: [([("a", "x\"y")], histogram)])
        let lines = text.text.split(separator: "\n")
        #expect(lines.prefix(5) == [
            "# HELP wal Syncs.", "# TYPE wal histogram",
            #"wal_bucket{a="x\"y",le="0.001"} 1"#, #"wal_bucket{a="x\"y",le="0.002"} 1"#, #"wal_bucket{a="x\"y",le="0.004"} 3"#,
        ])
        #expect(lines.suffix(3) == [#"wal_bucket{a="x\"y",le="+Inf"} 4"#, #"wal_sum{a="x\"y"} 20.0065"#, #"wal_count{a="x\"y"} 4"#])
    }
}
