import CoreboxCore
import CoreboxSystem
import Foundation
import Glibc
import OCIImage
import OCISpec
import Testing
import TestSupport

@testable import ContainerRuntime

/// `container run IMAGE`, `unpack` and `pull`, in-process, on an image made
/// from the host's busybox with umoci (an OCI layout) and skopeo (a docker
/// archive, and the push to Debian's docker-registry). The image's
/// entrypoint writes what it got (args, ids, cwd, environment) to
/// /out/result in its own root and exits with $EXIT.
@Suite(.serialized)
final class ImageRunTests {
    static let canRun = getuid() == 0 && (try? Cgroups.detectLayout()) != nil
    static let haveUmoci = FileManager.default.isExecutableFile(atPath: "/usr/bin/umoci")
    static let haveSkopeo = FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo")
    static let haveRegistry = FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry")

    /// The layout's root (images, bundles), the runtime's --root, scratch space.
    let system: TemporaryDirectory
    let runtimeRoot: TemporaryDirectory
    let scratch: TemporaryDirectory
    var layout: Layout { Layout(root: system.path) }
    var image: String { scratch.path + "/layout" }

    static let report = """
        #!/bin/sh
        {
          echo "args:$*"
          echo "ids:$(id -u) $(id -g) $(id -G)"
          echo "cwd:$(pwd)"
          echo "greeting:$GREETING"
          echo "home:$HOME"
          echo "hostname:$(hostname)"
        } > /out/result
        exit ${EXIT:-0}

        """

    init() throws {
        system = try TemporaryDirectory()
        runtimeRoot = try TemporaryDirectory()
        scratch = try TemporaryDirectory()
        guard Self.canRun && Self.haveUmoci else { return }
        // umoci's empty image, unpacked, filled with the busybox root, repacked, configured.
        let bundle = scratch.path + "/umoci-bundle"
        try Self.tool("umoci", "init", "--layout", image)
        try Self.tool("umoci", "new", "--image", image + ":latest")
        try Self.tool("umoci", "unpack", "--image", image + ":latest", bundle)
        let rootfs = bundle + "/rootfs"
        try BusyboxRoot.make(at: rootfs)
        let files: [(String, String, Int)] = [
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n", 0o644),
            ("etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n", 0o644),
            ("bin/report", Self.report, 0o755),
        ]
        for directory in ["etc", "work", "home/app"] {
            try FileManager.default.createDirectory(atPath: rootfs + "/" + directory, withIntermediateDirectories: true)
        }
        for (path, text, mode) in files {
            try text.write(toFile: rootfs + "/" + path, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: rootfs + "/" + path)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: rootfs + "/out")
        try Self.tool("umoci", "repack", "--image", image + ":latest", bundle)
        try Self.tool(
            "umoci", "config", "--image", image + ":latest", "--config.entrypoint", "/bin/report", "--config.entrypoint", "fixed",
            "--config.cmd", "default", "--config.env", "GREETING=hello", "--config.env", "EXIT=3", "--config.env", "PATH=/bin",
            "--config.workingdir", "/work", "--config.user", "app")
    }

    // MARK: Helpers

    @discardableResult
    static func tool(_ arguments: String...) throws -> String { try Tools.run(arguments) }

    struct Result {
        let status: Int32
        let error: String
    }

    func container(_ arguments: String...) -> Result {
        let captured = LifecycleTests.Captured()
        let status = ContainerApplet.run(
            ["--root", runtimeRoot.path] + arguments, layout: layout,
            output: Output(out: { captured.append(out: $0) }, error: { captured.append(error: $0) }))
        return Result(status: status, error: captured.error)
    }

    func bundle(_ id: String) -> String { layout.containerBundles + "/" + id }

    func result(inBundle bundle: String) -> String? { try? String(contentsOfFile: bundle + "/rootfs/out/result", encoding: .utf8) }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// What the image's defaults make /bin/report write, with `args`, `greeting` and `hostname`.
    static func expected(args: String = "fixed default", greeting: String = "hello", hostname: String) -> String {
        "args:\(args)\nids:1000 1000 1000 2000\ncwd:/work\ngreeting:\(greeting)\nhome:/home/app\nhostname:\(hostname)\n"
    }

    // MARK: run

    @Test(.enabled(if: canRun && haveUmoci, "needs root, cgroups and umoci (Debian package umoci)"))
    func runsAnOCILayoutWithTheImageConfig() throws {
        let run = container("run", "--name", "layout1", "oci:\(image):latest")
        #expect(run.status == 3, "\(run.error)")
        #expect(result(inBundle: bundle("layout1")) == Self.expected(hostname: "layout1"))
        // The bundle stays (no --rm); the container itself is gone, as after runc's run.
        #expect(exists(bundle("layout1") + "/config.json"))
        #expect(!exists(runtimeRoot.path + "/layout1"))
        let config = try ContainerConfig.decode(Array(try Data(contentsOf: URL(fileURLWithPath: bundle("layout1") + "/config.json"))))
        #expect(config.process?.capabilities?.bounding == DefaultProfile.capabilities)
        #expect(config.linux?.seccomp?.defaultErrnoRet == 38)
    }

    @Test(.enabled(if: canRun && haveUmoci && haveSkopeo, "needs root, cgroups, umoci and skopeo (Debian packages umoci, skopeo)"))
    func runsADockerArchiveWithCommandAndEnvironmentOverrides() throws {
        let archive = scratch.path + "/image.tar"
        try Self.tool("skopeo", "--insecure-policy", "copy", "oci:\(image):latest", "docker-archive:\(archive):test/app:v1")
        let run = container("run", "--name", "archive1", "-e", "EXIT=0", "--env", "GREETING=hi", archive, "one", "two")
        #expect(run.status == 0, "\(run.error)")
        // CMD replaced, ENTRYPOINT kept.
        #expect(result(inBundle: bundle("archive1")) == Self.expected(args: "fixed one two", greeting: "hi", hostname: "archive1"))
    }

    @Test(.enabled(if: canRun && haveUmoci, "needs root, cgroups and umoci (Debian package umoci)"))
    func removeTakesTheBundleAndKeepsTheStatus() {
        let run = container("run", "--rm", "--name", "gone1", "-e", "EXIT=7", "oci:\(image)")
        #expect(run.status == 7, "\(run.error)")
        #expect(!exists(bundle("gone1")))
        #expect(!exists(runtimeRoot.path + "/gone1"))
        let generated = container("run", "--rm", "oci:\(image)")
        #expect(generated.status == 3, "\(generated.error)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: layout.containerBundles)) ?? [] == [])
        let detached = container("run", "--rm", "-d", "oci:\(image)")
        #expect(detached.status == 1)
        #expect(detached.error.contains("--rm and --detach together are not supported"), "\(detached.error)")
    }

    /// The blobs of the layout's image: its manifest's config and first layer.
    func blobs() throws -> (config: String, layer: String) {
        func json(_ path: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        }
        let manifestDigest = (try json(image + "/index.json")["manifests"] as! [[String: Any]])[0]["digest"] as! String
        let manifest = try json(image + "/blobs/sha256/" + manifestDigest.dropFirst(7))
        return ((manifest["config"] as! [String: Any])["digest"] as! String, (manifest["layers"] as! [[String: Any]])[0]["digest"] as! String)
    }

    /// Flips one byte in the middle of a blob.
    func tamper(_ digest: String) throws {
        let path = image + "/blobs/sha256/" + digest.dropFirst(7)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    @Test(.enabled(if: canRun && haveUmoci, "needs root, cgroups and umoci (Debian package umoci)"))
    func aTamperedConfigIsRefusedByDigest() throws {
        let config = try blobs().config
        try tamper(config)
        let run = container("run", "--name", "tampered", "oci:\(image)")
        #expect(run.status == 1)
        #expect(run.error.hasPrefix("container: image oci:\(image): blob \(config): content has digest sha256:"), "\(run.error)")
        #expect(!exists(bundle("tampered")))
        #expect(!exists(runtimeRoot.path + "/tampered"))
    }

    /// A layer is checked as it streams into the root: a corrupt one stops
    /// the unpack midway, and the half-written bundle goes.
    @Test(.enabled(if: canRun && haveUmoci, "needs root, cgroups and umoci (Debian package umoci)"))
    func aTamperedLayerIsRefusedAndLeavesNothing() throws {
        let layer = try blobs().layer
        try tamper(layer)
        let run = container("run", "--name", "tampered", "oci:\(image)")
        #expect(run.status == 1)
        #expect(run.error.hasPrefix("container: unpack the image: layer \(layer): "), "\(run.error)")
        #expect(!exists(bundle("tampered")))
        #expect(!exists(runtimeRoot.path + "/tampered"))

        let unpack = container("unpack", "oci:\(image)", scratch.path + "/tampered-bundle")
        #expect(unpack.status == 1)
        #expect(!exists(scratch.path + "/tampered-bundle"))
    }

    // MARK: unpack

    @Test(.enabled(if: canRun && haveUmoci && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"),
                   "needs root, cgroups, umoci and runc (Debian packages umoci, runc)"))
    func unpackedBundlesRunUnderRuncAndContainer() async throws {
        let unpacked = scratch.path + "/bundle"
        let unpack = container("unpack", "oci:\(image):latest", unpacked)
        #expect(unpack.status == 0, "\(unpack.error)")

        let runcRoot = try TemporaryDirectory()
        let runc = try ChildProcess("/usr/sbin/runc", ["--root", runcRoot.path, "run", "-b", unpacked, "unpacked-runc"])
        let status = try await runc.exitStatus(within: .seconds(60))
        #expect(status == 3, "runc: \(runc.stderr)")
        #expect(result(inBundle: unpacked) == Self.expected(hostname: "container"))

        try FileManager.default.removeItem(atPath: unpacked + "/rootfs/out/result")
        let ours = container("run", "-b", unpacked, "unpacked-ours")
        #expect(ours.status == 3, "\(ours.error)")
        #expect(result(inBundle: unpacked) == Self.expected(hostname: "container"))

        #expect(container("unpack", "oci:\(image)", unpacked).error.contains("exists"))
    }

    // MARK: pull

    @Test(.enabled(if: canRun && haveUmoci && haveSkopeo && haveRegistry,
                   "needs root, cgroups, umoci, skopeo and docker-registry (Debian packages umoci, skopeo, docker-registry)"))
    func pullsFromARegistryOnceAndRunsIt() async throws {
        let registry = try LocalRegistry(scratch: scratch.path)
        defer { registry.stop() }
        try await registry.waitReady()
        let name = "127.0.0.1:\(registry.port)/test/app:v1"
        try Self.tool("skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "oci:\(image):latest", "docker://\(name)")

        let run = container("run", "--name", "pulled1", "--tls-verify=false", "docker://\(name)")
        #expect(run.status == 3, "\(run.error)")
        #expect(result(inBundle: bundle("pulled1")) == Self.expected(hostname: "pulled1"))
        #expect(try ImageLayout(path: layout.containerImages).index.manifests.compactMap(\.refName) == [name])

        // Without TLS verification switched off, https to a plain-http registry fails.
        let strict = container("pull", "docker://127.0.0.1:\(registry.port)/test/app:other")
        #expect(strict.status == 1)

        // By digest: the manifest is checked against it, and the store names it so.
        let digest = try Self.tool("skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://\(name)")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let pinned = "127.0.0.1:\(registry.port)/test/app@\(digest)"
        let pull = container("pull", "--tls-verify=false", "docker://\(pinned)")
        #expect(pull.status == 0, "\(pull.error)")
        #expect(try ImageLayout(path: layout.containerImages).index.manifests.compactMap(\.refName).sorted() == [name, pinned].sorted())

        // The second run finds the image in the store: the registry is gone.
        registry.stop()
        let again = container("run", "--rm", "--name", "pulled2", "docker://\(name)")
        #expect(again.status == 3, "\(again.error)")
    }

    @Test(.enabled(if: canRun && haveUmoci && haveSkopeo && haveRegistry,
                   "needs root, cgroups, umoci, skopeo and docker-registry (Debian packages umoci, skopeo, docker-registry)"))
    func aTamperedRegistryBlobIsRefusedAndNothingIsStored() async throws {
        let registry = try LocalRegistry(scratch: scratch.path)
        defer { registry.stop() }
        try await registry.waitReady()
        let name = "127.0.0.1:\(registry.port)/test/app:v1"
        try Self.tool("skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "oci:\(image):latest", "docker://\(name)")
        // The registry serves its stored bytes as they are: change the layer there.
        let layer = try blobs().layer
        let hex = String(layer.dropFirst(7))
        let stored = "\(registry.storage)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: stored))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: stored))

        let run = container("run", "--name", "tampered", "--tls-verify=false", "docker://\(name)")
        #expect(run.status == 1)
        #expect(run.error.contains("blob \(layer): content has digest sha256:"), "\(run.error)")
        #expect(!exists(bundle("tampered")))
        #expect(!exists(runtimeRoot.path + "/tampered"))
        // Neither the blob (nor a temporary of it) nor a name entered the store.
        let stores = try FileManager.default.contentsOfDirectory(atPath: layout.containerImages + "/blobs/sha256")
        #expect(!stores.contains { $0.contains(hex) })
        #expect(try ImageLayout(path: layout.containerImages).index.manifests.isEmpty)
    }

    /// A registry on HTTPS with a certificate no one signed: refused, unless
    /// `--tls-verify=false`, which then keeps HTTPS (no fallback needed).
    @Test(.enabled(if: canRun && haveUmoci && haveSkopeo && haveRegistry,
                   "needs root, cgroups, umoci, skopeo and docker-registry (Debian packages umoci, skopeo, docker-registry)"))
    func pullsOverHTTPSWithoutVerificationOnlyWhenAsked() async throws {
        let key = scratch.path + "/registry.key", certificate = scratch.path + "/registry.pem"
        try Self.tool("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                      "-days", "1", "-subj", "/CN=127.0.0.1")
        let registry = try LocalRegistry(scratch: scratch.path, extraConfig: """
              tls:
                certificate: \(certificate)
                key: \(key)
            """)
        defer { registry.stop() }
        for _ in 0..<500 {
            if (try? HTTPClient.perform(HTTPRequest(url: "https://127.0.0.1:\(registry.port)/v2/", timeout: 2, verifyTLS: false)).status) == 200 { break }
            try #require(registry.process.isRunning, "docker-registry exited: \(registry.process.stderr)")
            try await Task.sleep(for: .milliseconds(20))
        }
        let name = "127.0.0.1:\(registry.port)/test/app:v1"
        try Self.tool("skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "oci:\(image):latest", "docker://\(name)")

        let strict = container("pull", "docker://\(name)")
        #expect(strict.status == 1)
        #expect(strict.error.contains("https://127.0.0.1:\(registry.port)/v2/test/app/manifests/v1"), "\(strict.error)")
        let run = container("run", "--name", "https1", "--tls-verify=false", "docker://\(name)")
        #expect(run.status == 3, "\(run.error)")
        #expect(result(inBundle: bundle("https1")) == Self.expected(hostname: "https1"))
    }

    /// docker-registry with `auth: token`: it trusts tokens signed by the
    /// key of a certificate made here, and sends clients to a token issuer.
    /// The issuer is a stand-in for an auth server (docker_auth, a cloud's
    /// token service): a few lines of Python on loopback that check Basic
    /// credentials and sign a JWT with the access asked for.
    @Test(.enabled(if: canRun && haveUmoci && haveSkopeo && haveRegistry,
                   "needs root, cgroups, umoci, skopeo and docker-registry (Debian packages umoci, skopeo, docker-registry)"))
    func pullsWithBearerTokensFromTheRealm() async throws {
        let key = scratch.path + "/issuer.key", certificate = scratch.path + "/issuer.pem"
        try Self.tool("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                      "-days", "1", "-subj", "/CN=corebox-test-issuer")
        let issuerPort = try Loopback.freePort()
        let script = scratch.path + "/issuer.py"
        try Self.tokenIssuer.write(toFile: script, atomically: false, encoding: .utf8)
        let issuer = try ChildProcess("/usr/bin/python3", [script, String(issuerPort), key, certificate, "corebox-test-issuer", "tester:secret"])
        defer { issuer.stop() }
        let realm = "http://127.0.0.1:\(issuerPort)/token"
        for _ in 0..<500 {
            if (try? HTTPClient.perform(HTTPRequest(url: realm, timeout: 2)).status) == 401 { break }
            try #require(issuer.isRunning, "token issuer exited: \(issuer.stderr)")
            try await Task.sleep(for: .milliseconds(20))
        }
        let registry = try LocalRegistry(scratch: scratch.path, extraConfig: """
            auth:
              token:
                realm: \(realm)
                service: corebox-test-registry
                issuer: corebox-test-issuer
                rootcertbundle: \(certificate)
            """)
        defer { registry.stop() }
        try await registry.waitReady()
        let name = "127.0.0.1:\(registry.port)/test/app:v1"
        try Self.tool("skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "--dest-creds", "tester:secret",
                      "oci:\(image):latest", "docker://\(name)")

        let anonymous = container("pull", "--tls-verify=false", "docker://\(name)")
        #expect(anonymous.status == 1)
        #expect(anonymous.error.contains("token service \(realm): HTTP 401 (no credentials were given"), "\(anonymous.error)")
        let wrong = container("pull", "--tls-verify=false", "--creds", "tester:wrong", "docker://\(name)")
        #expect(wrong.error.contains("token service \(realm): HTTP 401"), "\(wrong.error)")

        let run = container("run", "--name", "token1", "--tls-verify=false", "--creds", "tester:secret", "docker://\(name)")
        #expect(run.status == 3, "\(run.error)")
        #expect(result(inBundle: bundle("token1")) == Self.expected(hostname: "token1"))
    }

    /// Basic authentication, as a registry behind a reverse proxy asks for
    /// it (distribution's own docs put nginx's auth_basic in front of it):
    /// the proxy here is a stand-in of a few lines of Python on loopback.
    @Test(.enabled(if: canRun && haveUmoci && haveSkopeo && haveRegistry,
                   "needs root, cgroups, umoci, skopeo and docker-registry (Debian packages umoci, skopeo, docker-registry)"))
    func pullsWithBasicCredentialsThroughAProxy() async throws {
        let registry = try LocalRegistry(scratch: scratch.path)
        defer { registry.stop() }
        try await registry.waitReady()
        try Self.tool("skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "oci:\(image):latest",
                      "docker://127.0.0.1:\(registry.port)/test/app:v1")
        let proxyPort = try Loopback.freePort()
        let script = scratch.path + "/proxy.py"
        try Self.basicProxy.write(toFile: script, atomically: false, encoding: .utf8)
        let proxy = try ChildProcess("/usr/bin/python3", [script, String(proxyPort), String(registry.port), "tester:secret"])
        defer { proxy.stop() }
        for _ in 0..<500 {
            if (try? HTTPClient.perform(HTTPRequest(url: "http://127.0.0.1:\(proxyPort)/v2/", timeout: 2)).status) == 401 { break }
            try #require(proxy.isRunning, "proxy exited: \(proxy.stderr)")
            try await Task.sleep(for: .milliseconds(20))
        }
        let name = "127.0.0.1:\(proxyPort)/test/app:v1"

        let anonymous = container("pull", "--tls-verify=false", "docker://\(name)")
        #expect(anonymous.status == 1)
        #expect(anonymous.error.contains("the registry wants a user name and password"), "\(anonymous.error)")
        let wrong = container("pull", "--tls-verify=false", "--creds", "tester:wrong", "docker://\(name)")
        #expect(wrong.error.contains("HTTP 401"), "\(wrong.error)")

        let run = container("run", "--name", "basic1", "--tls-verify=false", "--creds", "tester:secret", "docker://\(name)")
        #expect(run.status == 3, "\(run.error)")
        #expect(result(inBundle: bundle("basic1")) == Self.expected(hostname: "basic1"))
    }

    /// GET and HEAD passed on to the registry on loopback when the request
    /// carries the right Basic credentials; 401 with a Basic challenge otherwise.
    static let basicProxy = #"""
        import base64, http.client, http.server, sys
        port, upstream, credentials = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
        class Proxy(http.server.BaseHTTPRequestHandler):
            def forward(self, body):
                if self.headers.get("Authorization") != "Basic " + base64.b64encode(credentials.encode()).decode():
                    self.send_response(401); self.send_header("WWW-Authenticate", 'Basic realm="corebox-test"')
                    self.send_header("Content-Length", "0"); self.end_headers(); return
                connection = http.client.HTTPConnection("127.0.0.1", upstream)
                connection.request(self.command, self.path, headers={"Accept": self.headers.get("Accept", "*/*")})
                answer = connection.getresponse(); data = answer.read()
                self.send_response(answer.status)
                for name in ("Content-Type", "Docker-Content-Digest", "Location"):
                    if answer.getheader(name): self.send_header(name, answer.getheader(name))
                self.send_header("Content-Length", answer.getheader("Content-Length", str(len(data)))); self.end_headers()
                if body: self.wfile.write(data)
            def do_GET(self): self.forward(True)
            def do_HEAD(self): self.forward(False)
            def log_message(self, *arguments): pass
        http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
        """#

    /// The token issuer: GET /token?service=S&scope=repository:NAME:ACTIONS
    /// with the right Basic credentials answers {"token": JWT} (RS256, the
    /// certificate in x5c); anything else 401.
    static let tokenIssuer = #"""
        import base64, http.server, json, subprocess, sys, time, urllib.parse, uuid
        port, key, certificate, issuer, credentials = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
        der = subprocess.run(["openssl", "x509", "-in", certificate, "-outform", "DER"], capture_output=True, check=True).stdout
        def b64url(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        class Issuer(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                if self.headers.get("Authorization") != "Basic " + base64.b64encode(credentials.encode()).decode():
                    self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
                access = []
                for scope in query.get("scope", []):
                    kind, name, actions = scope.split(":")
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
                now = int(time.time())
                header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
                claims = {"iss": issuer, "sub": credentials.split(":")[0], "aud": query.get("service", [""])[0],
                          "exp": now + 600, "nbf": now - 60, "iat": now, "jti": uuid.uuid4().hex, "access": access}
                signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
                signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing.encode(),
                                           capture_output=True, check=True).stdout
                body = json.dumps({"token": signing + "." + b64url(signature)}).encode()
                self.send_response(200); self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            def log_message(self, *arguments): pass
        http.server.HTTPServer(("127.0.0.1", port), Issuer).serve_forever()
        """#
}

/// Debian's docker-registry on a free loopback port, storing in `scratch`.
final class LocalRegistry {
    let port: Int
    let storage: String
    let process: ChildProcess

    init(scratch: String, extraConfig: String = "") throws {
        port = try Loopback.freePort()
        storage = scratch + "/registry-\(port)"
        let config = scratch + "/registry-\(port).yml"
        try """
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: \(storage)
            http:
              addr: 127.0.0.1:\(port)
            \(extraConfig)
            """.write(toFile: config, atomically: false, encoding: .utf8)
        process = try ChildProcess("/usr/bin/docker-registry", ["serve", config])
    }

    func stop() { process.stop() }

    /// Waits until /v2/ answers (200, or 401 with auth on).
    func waitReady() async throws {
        for _ in 0..<500 {
            if let status = try? HTTPClient.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/v2/", timeout: 2)).status, status == 200 || status == 401 { return }
            try #require(process.isRunning, "docker-registry exited: \(process.stderr)")
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("docker-registry did not answer on port \(port): \(process.stderr)")
    }
}

/// The image form of `run` told from runc's, and `-e` merged into the image's environment.
struct ImageRunParsingTests {
    @Test func runTellsImagesFromContainerIDs() {
        #expect(ContainerCommands.isImageRun(["oci:/x"]))
        #expect(ContainerCommands.isImageRun(["--rm", "app"]))
        #expect(ContainerCommands.isImageRun(["-d", "./app.tar", "sh"]))
        #expect(ContainerCommands.isImageRun(["--name", "web", "docker://127.0.0.1:5000/app"]))
        #expect(!ContainerCommands.isImageRun(["-b", "/srv/bundle", "web"]))
        #expect(!ContainerCommands.isImageRun(["--bundle=/srv/bundle", "--pid-file", "/run/x.pid", "-d", "web"]))
        // `-e NAME` takes the value here, and is left out when it has none;
        // the image's variables of the same name are replaced in place.
        let overrides = ContainerCommands.resolved(["A=2", "PATH", "UNSET", "B=3"], from: ["PATH": "/usr/bin"])
        #expect(overrides == ["A=2", "PATH=/usr/bin", "B=3"])
        #expect(ChildConfiguration.environment(["PATH=/bin", "A=1"] + overrides) == ["PATH=/usr/bin", "A=2", "B=3"])
    }

    /// podman's profile: unknown calls ENOSYS, dangerous ones EPERM, the
    /// calls a capability governs allowed with it; libseccomp knows every name.
    @Test func theDefaultProfileFollowsTheCapabilities() throws {
        func names(_ seccomp: Seccomp, _ action: SeccompAction) -> Set<String> {
            Set(seccomp.syscalls.filter { $0.action == action && $0.args.isEmpty }.flatMap(\.names))
        }
        let standard = DefaultProfile.seccomp()
        #expect(standard.defaultAction == .errno && standard.defaultErrnoRet == 38)
        #expect(names(standard, .allow).isSuperset(of: ["read", "clone3", "chroot", "arch_prctl"]))
        #expect(names(standard, .errno).isSuperset(of: ["kexec_load", "bpf", "init_module", "settimeofday", "acct"]))
        #expect(names(standard, .allow).isDisjoint(with: names(standard, .errno)))
        let admin = DefaultProfile.seccomp(capabilities: DefaultProfile.capabilities.filter { $0 != "CAP_SYS_CHROOT" } + ["CAP_SYS_ADMIN"])
        #expect(names(admin, .allow).isSuperset(of: ["bpf", "sethostname"]))
        #expect(names(admin, .errno).contains("chroot"))
        _ = try SeccompProgram(standard, file: "default profile")
    }
}
