import CoreboxCore
import CoreboxSystem

/// How to reach a registry: credentials and whether TLS is checked.
public struct RegistryOptions: Sendable {
    /// For the token service (Bearer) or the registry itself (Basic).
    public var credentials: RegistryCredentials?
    /// false: the certificate is not checked, and plain HTTP is tried when
    /// HTTPS fails (containers/image's rule for insecure registries).
    public var verifyTLS: Bool

    public init(credentials: RegistryCredentials? = nil, verifyTLS: Bool = true) {
        self.credentials = credentials
        self.verifyTLS = verifyTLS
    }
}

/// The distribution API v2, read side, for one repository: manifests
/// (an index resolved to this machine's platform) and blobs streamed
/// through a digest check. A 401 is answered once per request: a Bearer
/// challenge by a token from its realm (with the credentials, when given),
/// a Basic one by the credentials; the answer is kept for later requests.
public final class RegistryClient {
    public let reference: RegistryReference
    let options: RegistryOptions
    private var scheme = "https"
    /// Set once the registry answered: its scheme is known from then on.
    private var answered = false
    private var authorization: String?

    public init(_ reference: RegistryReference, options: RegistryOptions = RegistryOptions()) {
        self.reference = reference
        self.options = options
    }

    static let manifestTypes = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest]

    /// The image manifest the reference names, for `platform`: its bytes
    /// (to store as they are) and its descriptor.
    public func manifest(platform: Platform = .host) throws(ImageError) -> (bytes: [UInt8], descriptor: Descriptor) {
        var (bytes, type, digest) = try fetchManifest(reference.manifestReference, expected: reference.digest)
        var chosenPlatform: Platform?
        if MediaType.indexes.contains(type) {
            let index = try ImageIndex.parse(bytes, "index \(digest)")
            let chosen: Descriptor
            do { chosen = try index.select(reference: nil, platform: platform) } catch { throw error.within("\(reference): index \(digest)") }
            (bytes, type, digest) = try fetchManifest(chosen.digest.description, expected: chosen.digest)
            chosenPlatform = chosen.platform
        }
        guard MediaType.manifests.contains(type) else {
            throw ImageError("\(reference): manifest has media type \"\(type)\", not an image manifest or index")
        }
        return (bytes, Descriptor(mediaType: type, digest: digest, size: Int64(bytes.count), platform: chosenPlatform))
    }

    /// A manifest's bytes, media type (the body's `mediaType`, else the
    /// Content-Type) and digest, which must be `expected` when given.
    private func fetchManifest(_ name: String, expected: Digest?) throws(ImageError) -> ([UInt8], String, Digest) {
        let response = try send("manifests/\(name)", accept: Self.manifestTypes)
        guard response.status == 200 else { throw failure(response.status, response.body, "manifest \(name)") }
        guard response.body.count <= 16 << 20 else { throw ImageError("\(reference): manifest \(name) is larger than 16 MiB") }
        let digest = Digest(of: response.body)
        if let expected, digest != expected {
            throw ImageError("\(reference): manifest \(expected): content has digest \(digest)")
        }
        struct Typed: Decodable { var mediaType: String? }
        let declared: Typed = try decodeJSON(response.body, "manifest \(name)")
        let header = response.header("Content-Type")?.split(separator: ";").first.map { String($0.filter { $0 != " " }) }
        guard let type = declared.mediaType ?? header else { throw ImageError("\(reference): manifest \(name) has no media type") }
        return (response.body, type, digest)
    }

    /// Streams a blob to `sink`, checking its size and digest as it goes; a
    /// mismatch throws after the last byte, so the caller must not keep
    /// what `sink` got until this returns.
    public func blob(_ descriptor: Descriptor, to sink: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        var verifier = BlobVerifier(expected: descriptor.digest, size: descriptor.size)
        var streamFailure: ImageError?
        // An error body (JSON) is kept to explain a refusal; kept small.
        var errorBody: [UInt8] = []
        let response: HTTPResponse
        do {
            response = try withoutActuallyEscaping(sink) { (sink) throws(ImageError) in
                try send("blobs/\(descriptor.digest)", restart: {
                    verifier = BlobVerifier(expected: descriptor.digest, size: descriptor.size)
                    errorBody = []
                }, body: { (status, chunk) in
                    guard status == 200 else {
                        if errorBody.count < 4096 { errorBody += chunk.prefix(4096 - errorBody.count) }
                        return true
                    }
                    do throws(ImageError) {
                        try verifier.update(chunk)
                        try sink(chunk)
                        return true
                    } catch {
                        streamFailure = error
                        return false
                    }
                })
            }
        } catch {
            // A transfer aborted because the content was wrong: say that.
            throw streamFailure ?? error
        }
        guard response.status == 200 else { throw failure(response.status, errorBody, "blob \(descriptor.digest)") }
        try verifier.finish()
    }

    // MARK: Requests

    /// GET `/v2/REPO/<path>`, answering one challenge; with `body` the
    /// response body streams to it (with the status known by then) and
    /// `restart` runs before a retry.
    private func send(
        _ path: String, accept: [String] = [], restart: () -> Void = {},
        body: ((Int, UnsafeRawBufferPointer) -> Bool)? = nil
    ) throws(ImageError) -> HTTPResponse {
        var response = try attempt(path, accept: accept, body: body)
        if response.status == 401 {
            try authorize(response.header("WWW-Authenticate"))
            restart()
            response = try attempt(path, accept: accept, body: body)
        }
        return response
    }

    private func attempt(_ path: String, accept: [String], body: ((Int, UnsafeRawBufferPointer) -> Bool)?) throws(ImageError) -> HTTPResponse {
        while true {
            do {
                let response = try perform(path, accept: accept, body: body)
                answered = true
                return response
            } catch {
                // An insecure registry may speak plain HTTP: switched to
                // once, before it has ever answered, and kept.
                guard !options.verifyTLS && !answered && scheme == "https" else { throw ImageError("\(reference): \(error)") }
                scheme = "http"
            }
        }
    }

    private func perform(_ path: String, accept: [String], body: ((Int, UnsafeRawBufferPointer) -> Bool)?) throws(HTTPError) -> HTTPResponse {
        var headers: [(name: String, value: String)] = accept.isEmpty ? [] : [("Accept", accept.joined(separator: ", "))]
        if let authorization { headers.append(("Authorization", authorization)) }
        // Blobs are often redirected to storage; libcurl does not carry the
        // Authorization header to another host.
        let request = HTTPRequest(
            url: "\(scheme)://\(reference.apiHost)/v2/\(reference.repository)/\(path)", headers: headers, timeout: 0,
            followRedirects: true, verifyTLS: options.verifyTLS)
        guard let body else { return try HTTPClient.perform(request) }
        return try HTTPClient.perform(request, body: body)
    }

    /// Sets `authorization` to answer `header`'s challenge.
    private func authorize(_ header: String?) throws(ImageError) {
        guard let header, let challenge = AuthChallenge(header: header) else {
            throw ImageError("\(reference): unauthorized, and the registry sent no WWW-Authenticate challenge")
        }
        switch challenge.scheme {
        case "basic":
            guard let credentials = options.credentials else {
                throw ImageError("\(reference): the registry wants a user name and password (--creds USER:PASSWORD)")
            }
            authorization = credentials.basicAuthorization
        case "bearer":
            let url = try challenge.tokenURL(scope: "repository:\(reference.repository):pull")
            let headers = options.credentials.map { [(name: "Authorization", value: $0.basicAuthorization)] } ?? []
            let response: HTTPResponse
            do {
                response = try HTTPClient.perform(HTTPRequest(url: url, headers: headers, followRedirects: true, verifyTLS: options.verifyTLS))
            } catch {
                throw ImageError("\(reference): token service: \(error)")
            }
            guard response.status == 200 else {
                throw ImageError("\(reference): token service \(challenge.realm ?? ""): HTTP \(response.status)\(options.credentials == nil ? " (no credentials were given; --creds USER:PASSWORD)" : "")")
            }
            authorization = "Bearer " + (try BearerToken.parse(response.body)).token
        default:
            throw ImageError("\(reference): unsupported authentication scheme \"\(challenge.scheme)\"")
        }
    }

    /// An error response as an error: the registry's first error message when it sent one.
    private func failure(_ status: Int, _ body: [UInt8], _ what: String) -> ImageError {
        struct Errors: Decodable {
            struct Entry: Decodable { var code: String?; var message: String? }
            var errors: [Entry]?
        }
        let first = (try? decodeJSON(body, "error") as Errors)?.errors?.first
        let detail = first.map { ": " + [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") } ?? ""
        let hint = status == 401 ? " (unauthorized; --creds USER:PASSWORD)" : ""
        return ImageError("\(reference): \(what): HTTP \(status)\(detail)\(hint)")
    }
}
