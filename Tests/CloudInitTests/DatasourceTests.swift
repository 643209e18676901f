import CloudConfig
import CloudInit
import Foundation
import TestSupport
import Testing

/// python3's http.server on a loopback port of its choosing, answering from
/// a table of routes: a string is a 200 body, `{"status": N}` that status,
/// `{"fail": N, "body": S}` a 503 for the first N requests and then S.
/// Anything else is a 404.
final class RouteServer {
    static let script = #"""
        import http.server, json, sys
        routes = json.load(open(sys.argv[1]))
        hits = {}
        class Routes(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                hits[self.path] = hits.get(self.path, 0) + 1
                route = routes.get(self.path)
                code, body = 404, "not found"
                if isinstance(route, str):
                    code, body = 200, route
                elif isinstance(route, dict) and "status" in route:
                    code, body = route["status"], "status"
                elif isinstance(route, dict) and "redirect" in route:
                    self.send_response(302)
                    self.send_header("Location", route["redirect"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                elif isinstance(route, dict):
                    code, body = (503, "busy") if hits[self.path] <= route["fail"] else (200, route["body"])
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Routes)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    private let scratch: TemporaryDirectory
    private let process: ChildProcess
    let base: String

    init(_ routes: [String: Any]) async throws {
        scratch = try TemporaryDirectory()
        try JSONSerialization.data(withJSONObject: routes).write(to: URL(fileURLWithPath: scratch.path + "/routes.json"))
        process = try ChildProcess("/usr/bin/python3", ["-c", Self.script, scratch.path + "/routes.json"])
        while !process.stdout.hasSuffix("\n") {
            guard process.isRunning else { throw DatasourceError("route server did not start: \(process.stderr)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        base = "http://127.0.0.1:" + process.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { process.stop() }
}

/// A schedule that retries at once, so tests do not wait.
let quickFetcher = HTTPFetcher(retry: RetrySchedule(attempts: 3, firstDelay: .milliseconds(1), maximumDelay: .milliseconds(2)), timeout: 5)

/// Nothing listens on port 1 of loopback: connections are refused at once.
let refusedURL = "http://127.0.0.1:1/user-data"

struct LocalDatasourceTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func fileReadsItsUserData() throws {
        let scratch = try TemporaryDirectory()
        let source = FileDatasource(path: scratch.path + "/user-data")
        #expect(source.kind == "local-file")
        #expect(!source.isAvailable())
        #expect(throws: DatasourceError("open('\(scratch.path)/user-data'): No such file or directory (errno 2)")) {
            try source.fetchUserData()
        }
        try scratch.write("user-data", "#cloud-config\nhostname: a\n")
        #expect(source.isAvailable())
        #expect(try Self.text(source.fetchUserData()) == "#cloud-config\nhostname: a\n")
        #expect(source.fetchMetadata() == Metadata())
        #expect(source.configRoot == "")
    }

    @Test func configDriveReadsOpenStackLatest() throws {
        let scratch = try TemporaryDirectory()
        let missing = ConfigDriveDatasource(root: scratch.path + "/not-mounted")
        #expect(!missing.isAvailable())

        let source = ConfigDriveDatasource(root: scratch.path)
        #expect(source.kind == "cloud-drive")
        #expect(source.isAvailable())
        #expect(source.configRoot == scratch.path + "/openstack")
        #expect(try source.fetchUserData() == [])
        #expect(try source.fetchMetadata() == Metadata())

        try scratch.write("openstack/latest/user_data", "#!/bin/sh\necho hi\n")
        try scratch.write("openstack/latest/meta_data.json", #"{"uuid": "u-1", "hostname": "h1", "public_keys": {"b": "ssh-rsa B", "a": "ssh-rsa A"}}"#)
        #expect(try Self.text(source.fetchUserData()) == "#!/bin/sh\necho hi\n")
        #expect(try source.fetchMetadata() == Metadata(instanceID: "u-1", hostname: "h1", sshPublicKeys: ["ssh-rsa A", "ssh-rsa B"]))

        try scratch.write("openstack/latest/meta_data.json", "{")
        #expect(throws: DatasourceError("config drive openstack/latest/meta_data.json: not valid JSON")) { try source.fetchMetadata() }
    }

    @Test func noCloudWaitsForItsMetaData() throws {
        let scratch = try TemporaryDirectory()
        let source = NoCloudDatasource(root: scratch.path)
        #expect(source.kind == "nocloud")
        #expect(!source.isAvailable(), "an empty mount point is not the volume")

        try scratch.write("meta-data", "instance-id: iid-01\nlocal-hostname: box\n")
        #expect(source.isAvailable())
        #expect(try source.fetchUserData() == [])
        #expect(try source.fetchMetadata() == Metadata(instanceID: "iid-01", hostname: "box"))

        try scratch.write("user-data", "#cloud-config\n")
        #expect(try Self.text(source.fetchUserData()) == "#cloud-config\n")
        try scratch.write("meta-data", "- not a mapping\n")
        #expect(throws: DatasourceError("NoCloud meta-data: line 1, column 1: not a mapping of keys")) { try source.fetchMetadata() }
    }

    @Test func theKernelCommandLineNamesTheURL() {
        #expect(ProcCmdlineDatasource.cloudConfigURL(in: "root=/dev/sda1 cloud-config-url=http://a/b quiet\n") == "http://a/b")
        #expect(ProcCmdlineDatasource.cloudConfigURL(in: "cloud_config_url=http://x/?a=b=c") == "http://x/?a=b=c")
        #expect(ProcCmdlineDatasource.cloudConfigURL(in: "cloud-config-url=http://1 cloud-config-url=http://2") == "http://2")
        #expect(ProcCmdlineDatasource.cloudConfigURL(in: "cloud-config-url root=/dev/sda") == nil)
        #expect(ProcCmdlineDatasource.cloudConfigURL(in: "my-cloud-config-url=http://a") == nil)
    }

    @Test func procCmdlineIsAvailableOnlyWithAURL() throws {
        let scratch = try TemporaryDirectory()
        let source = ProcCmdlineDatasource(cmdlinePath: scratch.path + "/cmdline", fetcher: quickFetcher)
        #expect(source.kind == "proc-cmdline")
        #expect(!source.availabilityChanges)
        #expect(!source.isAvailable())
        try scratch.write("cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1\n")
        #expect(!source.isAvailable())
        #expect(throws: DatasourceError("cloud-config-url not found in \(scratch.path)/cmdline")) { try source.fetchUserData() }
        try scratch.write("cmdline", "root=/dev/vda1 cloud-config-url=ftp://example/x\n")
        #expect(source.isAvailable())
        #expect(throws: DatasourceError("URL ftp://example/x does not have a valid HTTP scheme")) { try source.fetchUserData() }
    }
}

struct RemoteDatasourceTests {
    @Test func coreosCloudinitRetrySchedule() {
        let delays = RetrySchedule.coreosCloudinit.delays
        #expect(delays.count == 14)
        #expect(Array(delays.prefix(7)) == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .milliseconds(3200), .seconds(5)])
        #expect(delays.dropFirst(6).allSatisfy { $0 == .seconds(5) })
        #expect(RetrySchedule(attempts: 1, firstDelay: .seconds(1), maximumDelay: .seconds(1)).delays.isEmpty)
    }

    @Test func urlFetchesWithCoreosCloudinitsRules() async throws {
        let server = try await RouteServer([
            "/user-data": "#cloud-config\nhostname: web\n",
            "/forbidden": ["status": 403],
            "/busy": ["status": 503],
            "/flaky": ["fail": 2, "body": "third time"],
            "/too-flaky": ["fail": 3, "body": "never seen"],
            "/moved": ["redirect": "/user-data"],
        ])
        let source = URLDatasource(url: server.base + "/user-data", fetcher: quickFetcher)
        #expect(source.kind == "url")
        #expect(source.isAvailable())
        #expect(try source.fetchUserData() == Array("#cloud-config\nhostname: web\n".utf8))

        // Redirects are followed, as Go's client follows them.
        #expect(try URLDatasource(url: server.base + "/moved", fetcher: quickFetcher).fetchUserData() == Array("#cloud-config\nhostname: web\n".utf8))

        let missing = URLDatasource(url: server.base + "/missing", fetcher: quickFetcher)
        #expect(missing.isAvailable(), "a 404 is an answer")
        #expect(try missing.fetchUserData() == [])

        let forbidden = URLDatasource(url: server.base + "/forbidden", fetcher: quickFetcher)
        #expect(forbidden.isAvailable())
        #expect(throws: DatasourceError("GET \(server.base)/forbidden: HTTP status 403")) { try forbidden.fetchUserData() }

        #expect(!URLDatasource(url: server.base + "/busy", fetcher: quickFetcher).isAvailable())
        #expect(try quickFetcher.get(server.base + "/flaky") == Array("third time".utf8))
        #expect(throws: DatasourceError("GET \(server.base)/too-flaky: HTTP status 503 (gave up after 3 attempts)")) {
            try quickFetcher.get(server.base + "/too-flaky")
        }
    }

    @Test func anUnreachableURLIsNotAvailableAndFailsAfterItsRetries() throws {
        let source = URLDatasource(url: refusedURL, fetcher: quickFetcher)
        #expect(!source.isAvailable())
        let error = #expect(throws: DatasourceError.self) { try source.fetchUserData() }
        #expect(error?.description.hasPrefix("GET \(refusedURL): ") == true)
        #expect(error?.description.hasSuffix("(gave up after 3 attempts)") == true)
        #expect(throws: DatasourceError("the URL is empty")) { try quickFetcher.get("") }
    }

    @Test func procCmdlineFetchesTheURLItNames() async throws {
        let server = try await RouteServer(["/config": "#cloud-config\n"])
        let scratch = try TemporaryDirectory()
        try scratch.write("cmdline", "quiet cloud-config-url=\(server.base)/config\n")
        let source = ProcCmdlineDatasource(cmdlinePath: scratch.path + "/cmdline", fetcher: quickFetcher)
        #expect(try source.fetchUserData() == Array("#cloud-config\n".utf8))
        try scratch.write("cmdline", "quiet cloud-config-url=\(server.base)/gone\n")
        #expect(try source.fetchUserData() == [])
    }

    @Test func ec2ReadsUserDataAndMetadataPathByPath() async throws {
        let server = try await RouteServer([
            "/2009-04-04": "meta-data\nuser-data\n",
            "/2009-04-04/user-data": "#cloud-config\n",
            "/2009-04-04/meta-data/instance-id": "i-abc",
            "/2009-04-04/meta-data/hostname": "ip-10-1-2-3.internal extra",
            "/2009-04-04/meta-data/local-ipv4": "10.1.2.3",
            "/2009-04-04/meta-data/public-keys": "0=zed\n1=amy\n",
            "/2009-04-04/meta-data/public-keys/0/openssh-key": "ssh-rsa ZZZ zed\n",
            "/2009-04-04/meta-data/public-keys/1/openssh-key": ["fail": 1, "body": "ssh-rsa AAA amy\n"],
        ])
        let source = EC2Datasource(url: server.base, fetcher: quickFetcher)
        #expect(source.kind == "ec2-metadata-service")
        #expect(source.configRoot == server.base + "/")
        #expect(source.isAvailable())
        #expect(try source.fetchUserData() == Array("#cloud-config\n".utf8))
        #expect(try source.fetchMetadata() == Metadata(
            instanceID: "i-abc", hostname: "ip-10-1-2-3.internal", sshPublicKeys: ["ssh-rsa AAA amy", "ssh-rsa ZZZ zed"],
            privateIPv4: "10.1.2.3"
        ))
    }

    @Test func ec2WithoutItsAPIVersionIsNotAvailable() async throws {
        let server = try await RouteServer(["/2009-04-04/meta-data/public-keys": "oops\n"])
        let source = EC2Datasource(url: server.base + "/", fetcher: quickFetcher)
        #expect(!source.isAvailable())
        #expect(try source.fetchUserData() == [])
        #expect(throws: DatasourceError(#"EC2 metadata: malformed public key: "oops" (want INDEX=NAME)"#)) { try source.fetchMetadata() }
        #expect(!EC2Datasource(url: "http://127.0.0.1:1", fetcher: quickFetcher).isAvailable())
    }
}

/// A source that becomes available after a number of probes.
final class ScriptedSource: Datasource, @unchecked Sendable {
    let kind: String
    let availableAfter: Int?
    let availabilityChanges: Bool
    private(set) var probes = 0

    init(_ kind: String, availableAfter: Int?, changes: Bool = true) {
        self.kind = kind
        self.availableAfter = availableAfter
        availabilityChanges = changes
    }

    var configRoot: String { "" }

    func isAvailable() -> Bool {
        probes += 1
        return availableAfter.map { probes >= $0 } ?? false
    }

    func fetchUserData() -> [UInt8] { [] }
    func fetchMetadata() -> Metadata { Metadata() }
}

struct SelectDatasourceTests {
    static let quick = WaitSchedule(initialInterval: .milliseconds(1), maximumInterval: .milliseconds(4), timeout: .seconds(60))

    @Test func theFirstAvailableInOrderWins() {
        let never = ScriptedSource("never", availableAfter: nil)
        let first = ScriptedSource("first", availableAfter: 1)
        let second = ScriptedSource("second", availableAfter: 1)
        #expect(selectDatasource([never, first, second], schedule: Self.quick)?.kind == "first")
        #expect(second.probes == 0)
    }

    @Test func sourcesArePolledUntilTheyAppear() {
        let late = ScriptedSource("late", availableAfter: 4)
        let never = ScriptedSource("never", availableAfter: nil)
        #expect(selectDatasource([never, late], schedule: Self.quick)?.kind == "late")
        #expect(late.probes == 4)
        #expect(never.probes >= 3)
    }

    @Test func aSourceThatCannotChangeIsAskedOnce() {
        let fixed = ScriptedSource("fixed", availableAfter: nil, changes: false)
        #expect(selectDatasource([fixed], schedule: Self.quick) == nil)
        #expect(fixed.probes == 1)
    }

    @Test func waitingEndsAtTheTimeout() {
        let never = ScriptedSource("never", availableAfter: nil)
        let schedule = WaitSchedule(initialInterval: .milliseconds(1), maximumInterval: .milliseconds(2), timeout: .milliseconds(50))
        #expect(selectDatasource([never], schedule: schedule) == nil)
        #expect(never.probes >= 2)
        #expect(selectDatasource([], schedule: schedule) == nil)
    }

    @Test func realSourcesAreSelectedByWhatIsOnDisk() throws {
        let scratch = try TemporaryDirectory()
        let sources: [any Datasource] = [FileDatasource(path: scratch.path + "/absent"), ConfigDriveDatasource(root: scratch.path)]
        #expect(selectDatasource(sources, schedule: Self.quick)?.kind == "cloud-drive")
    }

    @Test func coreosCloudinitWaitSchedule() {
        let schedule = WaitSchedule.coreosCloudinit
        #expect(schedule.initialInterval == .milliseconds(100))
        #expect(schedule.maximumInterval == .seconds(30))
        #expect(schedule.timeout == .seconds(300))
    }
}
