import CoreboxCore
@testable import OCIImage
import Testing

/// The pure half of pulling: image references, WWW-Authenticate
/// challenges, token answers, and the choice of a manifest from a list.
struct RegistryParsingTests {
    static let digest = "sha256:" + String(repeating: "c", count: 64)

    @Test func transportsAndBarePaths() throws {
        #expect(try ImageReference(parsing: "oci:/srv/app") == .layout(path: "/srv/app", reference: nil))
        #expect(try ImageReference(parsing: "oci:/srv/app:v1.2") == .layout(path: "/srv/app", reference: "v1.2"))
        #expect(try ImageReference(parsing: "docker-archive:./app.tar") == .dockerArchive(path: "./app.tar", tag: nil))
        #expect(try ImageReference(parsing: "docker-archive:app.tar:app:v1") == .dockerArchive(path: "app.tar", tag: "app:v1"))
        #expect(try ImageReference(parsing: "./images/app") == .path("./images/app"))
        #expect(throws: ImageError("image \"oci:\": oci: needs a path")) { try ImageReference(parsing: "oci:") }
        #expect(throws: ImageError("image \"oci:/x:\": empty name after the path")) { try ImageReference(parsing: "oci:/x:") }
    }

    @Test func imagesAreToldFromContainerIDs() {
        for operand in ["oci:/x", "docker://busybox", "./app.tar", "/srv/app", "127.0.0.1:5000/app"] {
            #expect(ImageReference.looksLikeImage(operand), "\(operand)")
        }
        for id in ["web", "my-container.1", "abc_def"] { #expect(!ImageReference.looksLikeImage(id), "\(id)") }
    }

    @Test func registryReferences() throws {
        let local = try RegistryReference(parsing: "127.0.0.1:5000/team/app:v1")
        #expect(local == RegistryReference(host: "127.0.0.1:5000", repository: "team/app", tag: "v1"))
        #expect(local.description == "127.0.0.1:5000/team/app:v1")
        #expect(local.manifestReference == "v1")
        #expect(local.apiHost == "127.0.0.1:5000")

        let byDigest = try RegistryReference(parsing: "localhost:5000/app@\(Self.digest)")
        #expect(byDigest.host == "localhost:5000" && byDigest.tag == nil)
        #expect(byDigest.manifestReference == Self.digest)
        #expect(byDigest.description == "localhost:5000/app@\(Self.digest)")

        // A port, not a tag; no tag means latest.
        #expect(try RegistryReference(parsing: "registry.example:443/app").tag == "latest")
        // Docker Hub's short names.
        let hub = try RegistryReference(parsing: "busybox")
        #expect(hub == RegistryReference(host: "docker.io", repository: "library/busybox", tag: "latest"))
        #expect(hub.apiHost == "registry-1.docker.io")
        #expect(try RegistryReference(parsing: "someone/tool:1").repository == "someone/tool")
        #expect(try ImageReference(parsing: "docker://127.0.0.1:5000/app:v1") == .registry(local.with(repository: "app")))
    }

    @Test func badRegistryReferencesNameThePart() {
        #expect(throws: ImageError("image \"127.0.0.1:5000/App\": invalid repository name component \"App\" (lower-case letters, digits and . _ - between them)")) {
            try RegistryReference(parsing: "127.0.0.1:5000/App")
        }
        #expect(throws: ImageError("image \"host.example/app:-x\": invalid tag \"-x\"")) { try RegistryReference(parsing: "host.example/app:-x") }
        #expect(throws: ImageError("invalid sha256 digest \"sha256:abc\"")) { try RegistryReference(parsing: "host.example/app@sha256:abc") }
        #expect(throws: ImageError.self) { try RegistryReference(parsing: "host.example//app") }
        #expect(throws: ImageError.self) { try RegistryReference(parsing: "host.example/a..b") }
        #expect(RegistryReference.isPathComponent("a__b-c--d.e"))
    }

    @Test func bearerChallenges() throws {
        let header = #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull""#
        let challenge = try #require(AuthChallenge(header: header))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.parameters == ["realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:team/app:pull"])
        #expect(try challenge.tokenURL(scope: "unused")
            == "https://auth.example/token?service=registry.example&scope=repository%3Ateam%2Fapp%3Apull")

        // Spaces after commas, token values, escapes in quoted strings, a realm with a query.
        let loose = try #require(AuthChallenge(header: #"bearer  Realm="http://127.0.0.1:9/t?x=1", error=insufficient_scope, note="a \"q\"""#))
        #expect(loose.parameters == ["realm": "http://127.0.0.1:9/t?x=1", "error": "insufficient_scope", "note": #"a "q""#])
        #expect(try loose.tokenURL(scope: "repository:app:pull") == "http://127.0.0.1:9/t?x=1&scope=repository%3Aapp%3Apull")
    }

    @Test func basicAndBrokenChallenges() throws {
        #expect(AuthChallenge(header: #"Basic realm="Registry Realm""#) == AuthChallenge(scheme: "basic", parameters: ["realm": "Registry Realm"]))
        #expect(AuthChallenge(header: "Basic") == AuthChallenge(scheme: "basic"))
        #expect(AuthChallenge(header: "") == nil)
        // An unterminated quote ends the parameters before it.
        #expect(AuthChallenge(header: #"Bearer service="s",realm="https://x"#)?.parameters == ["service": "s"])
        #expect(throws: ImageError(#"registry authentication: the Bearer challenge has no http(s) realm (got "ftp://x")"#)) {
            try AuthChallenge(header: #"Bearer realm="ftp://x""#)!.tokenURL(scope: "s")
        }
    }

    @Test func credentialsAndTokens() throws {
        let credentials = try RegistryCredentials(parsing: "user:pa:ss")
        #expect(credentials.password == "pa:ss")
        #expect(credentials.basicAuthorization == "Basic dXNlcjpwYTpzcw==")
        #expect(throws: ImageError("credentials: want USER:PASSWORD")) { try RegistryCredentials(parsing: "user") }
        #expect(throws: ImageError("credentials: want USER:PASSWORD")) { try RegistryCredentials(parsing: ":pass") }
        #expect(try BearerToken.parse(Array(#"{"token":"abc","expires_in":60}"#.utf8)).token == "abc")
        #expect(try BearerToken.parse(Array(#"{"access_token":"xyz"}"#.utf8)).token == "xyz")
        #expect(throws: ImageError("token response: no \"token\" or \"access_token\"")) { try BearerToken.parse(Array("{}".utf8)) }
    }

    @Test func manifestListPicksLinuxAmd64() throws {
        let a = "sha256:" + String(repeating: "a", count: 64), b = "sha256:" + String(repeating: "b", count: 64)
        let list = """
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
             {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"\(a)","size":10,"platform":{"architecture":"arm","os":"linux","variant":"v7"}},
             {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"\(b)","size":20,"platform":{"architecture":"amd64","os":"linux"}}]}
            """
        let index = try ImageIndex.parse(Array(list.utf8), "list")
        #expect(try index.select(reference: nil, platform: .host).digest.description == b)
        #expect(throws: ImageError("no manifest for linux/s390x among 2")) {
            try index.select(reference: nil, platform: Platform(architecture: "s390x", os: "linux"))
        }
    }
}

extension RegistryReference {
    func with(repository: String) -> RegistryReference {
        var copy = self
        copy.repository = repository
        return copy
    }
}
