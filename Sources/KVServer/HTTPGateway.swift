import CoreboxCore
import EtcdAPI
import Glibc
import GRPCWire
import MVCC
import SwiftProtobuf

struct HTTPRequest: Sendable {
    var method: String
    /// Path and query, as the request line has them.
    var uri: String
    var contentType: String? = nil
    var body: [UInt8] = []

    var path: String { String(uri.prefix { $0 != "?" }) }
    var query: String { uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) } ?? "" }
}

struct HTTPResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    init(status: Int, contentType: String, headers: [(String, String)] = [], body: String) {
        self.status = status
        self.headers = [("Content-Type", contentType)] + headers
        self.body = Array(body.utf8)
    }

    /// A plain-text answer as Go's http.Error writes it.
    init(status: Int, text: String, headers: [(String, String)] = []) {
        self.init(status: status, contentType: "text/plain; charset=utf-8", headers: headers, body: text)
    }

    static func methodNotAllowed(allow: String) -> HTTPResponse {
        HTTPResponse(status: 405, text: "Method Not Allowed\n", headers: [("Allow", allow)])
    }
}

/// kvd's HTTP side, on the client port beside gRPC: /health, /version,
/// /metrics, etcd's JSON gateway for the v3 API (/v3/ and /v3beta/) and the
/// v2 keys subset. Gateway and v2 calls go through the gRPC method table
/// in process: the same handlers, checks and metrics as over the wire.
final class HTTPGateway: Sendable {
    private let node: ReplicatedNode<KVStateMachine>
    private let methods: GRPCMethods
    private let maintenance: MaintenanceService
    private let metrics: KVDMetrics

    init(node: ReplicatedNode<KVStateMachine>, methods: GRPCMethods, maintenance: MaintenanceService, metrics: KVDMetrics) {
        self.node = node
        self.methods = methods
        self.maintenance = maintenance
        self.metrics = metrics
    }

    func respond(to request: HTTPRequest) async -> HTTPResponse {
        let path = request.path
        switch path {
        case "/health":
            guard request.method == "GET" else { return .methodNotAllowed(allow: "GET") }
            return await health(excluding: Form(request.query) ?? Form())
        case "/version":
            guard request.method == "GET" else { return .methodNotAllowed(allow: "GET") }
            return HTTPResponse(status: 200, contentType: "application/json",
                                body: "{\"etcdserver\":\"\(MaintenanceService.version)\",\"etcdcluster\":\"3.4.0\"}")
        case "/metrics":
            guard request.method == "GET" else { return .methodNotAllowed(allow: "GET") }
            let store = try? await node.query { KVDMetrics.StoreFigures($0.store) }
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                body: metrics.render(node: node.currentStatistics, store: store))
        default:
            if path == "/v2/keys" || path.hasPrefix("/v2/keys/") { return await v2Keys(request) }
            for prefix in ["/v3/", "/v3beta/"] where path.hasPrefix(prefix) {
                return await v3(String(path.dropFirst(prefix.count)), request)
            }
            return HTTPResponse(status: 404, text: "404 page not found\n")
        }
    }

    // MARK: /health

    /// etcd 3.4's checkHealth: any alarm not excluded with `?exclude=NAME`, no
    /// leader, or a failing linearizable read makes it "false" with 503.
    private func health(excluding form: Form) async -> HTTPResponse {
        let excluded = Set(form.pairs.filter { $0.0 == "exclude" }.map(\.1))
        let alarmed = maintenance.raisedAlarmNames.contains { !excluded.contains($0) }
        var healthy = !alarmed && node.currentStatistics.isLeader
        if healthy { healthy = (try? await node.query { _ in }) != nil }
        metrics.recordHealth(healthy)
        return healthy
            ? HTTPResponse(status: 200, text: "{\"health\":\"true\"}")
            : HTTPResponse(status: 503, text: "{\"health\":\"false\"}\n")
    }

    // MARK: The v3 JSON gateway

    /// The protobuf JSON mapping with the .proto's field names, as grpc-gateway's
    /// default marshaler (`JSONPb{OrigName: true}`) writes them.
    private static var jsonOptions: JSONEncodingOptions {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return options
    }

    private func v3(_ route: String, _ request: HTTPRequest) async -> HTTPResponse {
        guard request.method == "POST" else { return .methodNotAllowed(allow: "POST") }
        let body = request.body
        switch route {
        case "kv/range": return await call(body, "/etcdserverpb.KV/Range", Etcdserverpb_RangeRequest.self, Etcdserverpb_RangeResponse.self)
        case "kv/put": return await call(body, "/etcdserverpb.KV/Put", Etcdserverpb_PutRequest.self, Etcdserverpb_PutResponse.self)
        case "kv/deleterange":
            return await call(body, "/etcdserverpb.KV/DeleteRange", Etcdserverpb_DeleteRangeRequest.self, Etcdserverpb_DeleteRangeResponse.self)
        case "kv/txn": return await call(body, "/etcdserverpb.KV/Txn", Etcdserverpb_TxnRequest.self, Etcdserverpb_TxnResponse.self)
        case "kv/compaction":
            return await call(body, "/etcdserverpb.KV/Compact", Etcdserverpb_CompactionRequest.self, Etcdserverpb_CompactionResponse.self)
        case "lease/grant":
            return await call(body, "/etcdserverpb.Lease/LeaseGrant", Etcdserverpb_LeaseGrantRequest.self, Etcdserverpb_LeaseGrantResponse.self)
        case "lease/revoke", "kv/lease/revoke":
            return await call(body, "/etcdserverpb.Lease/LeaseRevoke", Etcdserverpb_LeaseRevokeRequest.self, Etcdserverpb_LeaseRevokeResponse.self)
        case "lease/timetolive", "kv/lease/timetolive":
            return await call(body, "/etcdserverpb.Lease/LeaseTimeToLive", Etcdserverpb_LeaseTimeToLiveRequest.self,
                              Etcdserverpb_LeaseTimeToLiveResponse.self)
        case "maintenance/status":
            return await call(body, "/etcdserverpb.Maintenance/Status", Etcdserverpb_StatusRequest.self, Etcdserverpb_StatusResponse.self)
        default: return HTTPResponse(status: 404, text: "Not Found\n")
        }
    }

    /// Decodes the body (empty is the empty message), runs the RPC and encodes its answer or error.
    private func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ body: [UInt8], _ path: String, _: Request.Type, _: Response.Type
    ) async -> HTTPResponse {
        let message: Request
        do {
            message = body.isEmpty ? Request() : try Request(jsonUTF8Bytes: body)
        } catch {
            return Self.gatewayError(GRPCStatus(.invalidArgument, "\(error)"))
        }
        do {
            let response: Response = try await methods.call(path, message)
            return HTTPResponse(status: 200, contentType: "application/json", body: (try? response.jsonString(options: Self.jsonOptions)) ?? "{}")
        } catch {
            return Self.gatewayError(error)
        }
    }

    /// grpc-gateway 1.9's error body and its HTTP status for the gRPC code.
    static func gatewayError(_ error: GRPCStatus) -> HTTPResponse {
        let status = switch error.code {
        case .cancelled: 408
        case .invalidArgument, .failedPrecondition, .outOfRange: 400
        case .deadlineExceeded: 504
        case .notFound: 404
        case .alreadyExists, .aborted: 409
        case .permissionDenied: 403
        case .unauthenticated: 401
        case .resourceExhausted: 429
        case .unimplemented: 501
        case .unavailable: 503
        default: 500
        }
        let body = "{\"error\":\(JSONString.quoted(error.message)),\"message\":\(JSONString.quoted(error.message)),\"code\":\(error.code.rawValue)}"
        return HTTPResponse(status: status, contentType: "application/json", body: body)
    }

    // MARK: v2 keys

    private func v2Keys(_ request: HTTPRequest) async -> HTTPResponse {
        guard let method = V2Keys.Method(rawValue: request.method) else { return .methodNotAllowed(allow: "GET, PUT, DELETE") }
        do throws(V2Keys.Failure) {
            let query = Form(request.query)
            // Go's ParseForm reads the body only for a form content type.
            let mediaType = request.contentType?.lowercased().split(separator: ";").first?.filter { $0 != " " }
            let isForm = mediaType == "application/x-www-form-urlencoded"
            let body = isForm ? Form(String(decoding: request.body, as: UTF8.self)) : Form()
            guard let query, let body else { throw V2Keys.Failure(code: V2Keys.Failure.invalidForm, cause: "invalid form") }
            let parsed = try V2Keys.parse(method: method, path: request.path, form: body.merged(with: query))
            return try await v2Apply(parsed)
        } catch {
            return Self.v2Error(error)
        }
    }

    /// Reads the key, decides, and writes only if the key did not change in
    /// between; a concurrent change starts over with the newer node.
    private func v2Apply(_ request: V2Keys.Request) async throws(V2Keys.Failure) -> HTTPResponse {
        let storeKey = Array((V2Keys.storePrefix + request.key).utf8)
        for _ in 0..<16 {
            let current: V2Keys.Node?, index: Int64
            do {
                (current, index) = try await node.query { (Self.v2Node(request.key, at: storeKey, in: $0.store), $0.store.currentRevision) }
            } catch {
                throw Self.v2Internal(error)
            }
            switch V2Keys.plan(request, current: current, index: index) {
            case .failure(let failure):
                throw failure
            case .success(.answer(let event)):
                return Self.v2Response(event)
            case .success(.write(let write)):
                do {
                    guard let (revision, ttl) = try await v2Write(write, key: storeKey) else { continue }
                    return Self.v2Response(V2Keys.event(after: write, key: request.key, current: current, revision: revision, ttl: ttl))
                } catch {
                    throw Self.v2Internal(error)
                }
            }
        }
        throw V2Keys.Failure(code: V2Keys.Failure.raftInternal, cause: "the key kept changing")
    }

    private static func v2Node(_ key: String, at storeKey: [UInt8], in store: Store) -> V2Keys.Node? {
        // A range at the current revision cannot fail.
        guard let kv = try? store.range(RangeRequest(key: storeKey)).kvs.first else { return nil }
        let ttl = kv.lease == 0 ? nil : try? store.leaseTimeToLive(id: kv.lease, keys: false, now: .now).ttl
        return V2Keys.Node(key: key, value: String(decoding: kv.value, as: UTF8.self), modifiedIndex: kv.modRevision,
                           createdIndex: kv.createRevision, ttl: ttl)
    }

    /// One txn guarded by the key's mod revision; a TTL gets a lease first (one
    /// left behind by a failed guard expires with nothing attached). nil: the guard failed.
    private func v2Write(_ write: V2Keys.Write, key: [UInt8]) async throws -> (revision: Int64, ttl: Int64?)? {
        var leaseID: Int64 = 0
        var ttl: Int64?
        if let seconds = write.ttl {
            var grant = Etcdserverpb_LeaseGrantRequest()
            grant.ttl = seconds
            let granted: Etcdserverpb_LeaseGrantResponse = try await methods.call("/etcdserverpb.Lease/LeaseGrant", grant)
            leaseID = granted.id
            ttl = granted.ttl
        }
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [Etcdserverpb_Compare.with {
            $0.key = .init(key)
            $0.target = .mod
            $0.result = .equal
            $0.modRevision = write.expectedModRevision
        }]
        txn.success = [Etcdserverpb_RequestOp.with { operation in
            if let value = write.value {
                operation.requestPut = .with {
                    $0.key = .init(key)
                    $0.value = .init(value.utf8)
                    $0.lease = leaseID
                }
            } else {
                operation.requestDeleteRange = .with { $0.key = .init(key) }
            }
        }]
        let response: Etcdserverpb_TxnResponse = try await methods.call("/etcdserverpb.KV/Txn", txn)
        return response.succeeded ? (response.header.revision, ttl) : nil
    }

    private static func v2Internal(_ error: any Error) -> V2Keys.Failure {
        V2Keys.Failure(code: V2Keys.Failure.raftInternal, cause: (error as? GRPCStatus)?.message ?? "\(error)")
    }

    private static func v2Response(_ event: V2Keys.Event) -> HTTPResponse {
        HTTPResponse(status: event.status, contentType: "application/json", headers: [("X-Etcd-Index", "\(event.index)")],
                     body: V2Keys.json(event, wallNanoseconds: wallNanoseconds))
    }

    private static func v2Error(_ failure: V2Keys.Failure) -> HTTPResponse {
        HTTPResponse(status: failure.status, contentType: "application/json", headers: [("X-Etcd-Index", "\(failure.index)")],
                     body: V2Keys.json(failure))
    }

    private static var wallNanoseconds: Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
