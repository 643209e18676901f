import CloudConfig
import CoreboxSystem

/// How often a GET is tried and how long to wait between tries:
/// coreos-cloudinit tries 15 times, waiting 100 ms after the first failure
/// and doubling up to 5 s (its 50 ms initial backoff is doubled before the
/// first wait). Tests pass a schedule that does not wait.
public struct RetrySchedule: Sendable {
    public var attempts: Int
    public var firstDelay: Duration
    public var maximumDelay: Duration

    public init(attempts: Int, firstDelay: Duration, maximumDelay: Duration) {
        precondition(attempts >= 1, "a GET is tried at least once")
        self.attempts = attempts
        self.firstDelay = firstDelay
        self.maximumDelay = maximumDelay
    }

    public static let coreosCloudinit = RetrySchedule(attempts: 15, firstDelay: .milliseconds(100), maximumDelay: .seconds(5))

    /// The wait after each failed attempt but the last (coreos-cloudinit
    /// also waits after the last one, to no purpose).
    public var delays: [Duration] {
        var delay = firstDelay
        return (1..<attempts).map { _ in
            defer { delay = min(delay * 2, maximumDelay) }
            return delay
        }
    }
}

/// GETs with coreos-cloudinit's rules: only http(s) URLs; a connection
/// failure or a 5xx is tried again on the schedule; 404 means there is
/// nothing (empty user-data, an absent metadata key); any other 4xx fails
/// at once.
public struct HTTPFetcher: Sendable {
    public var retry: RetrySchedule
    /// Seconds for one attempt, coreos-cloudinit's client timeout.
    public var timeout: Int

    public init(retry: RetrySchedule = .coreosCloudinit, timeout: Int = 10) {
        self.retry = retry
        self.timeout = timeout
    }

    /// The body, or nil when the server answered 404.
    public func get(_ url: String) throws(DatasourceError) -> [UInt8]? {
        try Self.validate(url)
        var delays = retry.delays.makeIterator()
        var lastFailure = ""
        for attempt in 1...retry.attempts {
            if attempt > 1, let delay = delays.next() { pause(delay) }
            let response: HTTPResponse
            do {
                response = try HTTPClient.perform(HTTPRequest(url: url, timeout: timeout, followRedirects: true))
            } catch {
                lastFailure = error.description
                continue
            }
            switch response.status {
            case 200..<300: return response.body
            case 404: return nil
            case 400..<500: throw DatasourceError("GET \(url): HTTP status \(response.status)")
            default: lastFailure = "GET \(url): HTTP status \(response.status)"
            }
        }
        throw DatasourceError("\(lastFailure) (gave up after \(retry.attempts) attempts)")
    }

    /// The status of one GET, or nil when none came: a probe for availability, never retried.
    public func status(_ url: String) -> Int? {
        guard (try? Self.validate(url)) != nil else { return nil }
        return try? HTTPClient.perform(HTTPRequest(url: url, timeout: timeout, followRedirects: true)).status
    }

    private static func validate(_ url: String) throws(DatasourceError) {
        if url.isEmpty { throw DatasourceError("the URL is empty") }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw DatasourceError("URL \(url) does not have a valid HTTP scheme")
        }
    }
}

/// `--from-url URL`: the user-data at a URL. Available once the server
/// answers with anything but a 5xx: a 404 then means empty user-data and
/// another 4xx an error, reported at once rather than after five minutes of
/// waiting for a status that will not change.
public struct URLDatasource: Datasource {
    public let url: String
    public let fetcher: HTTPFetcher

    public init(url: String, fetcher: HTTPFetcher = HTTPFetcher()) {
        self.url = url
        self.fetcher = fetcher
    }

    public var kind: String { "url" }
    public var availabilityChanges: Bool { true }
    public var configRoot: String { "" }

    public func isAvailable() -> Bool {
        fetcher.status(url).map { $0 < 500 } ?? false
    }

    public func fetchUserData() throws(DatasourceError) -> [UInt8] {
        try fetcher.get(url) ?? []
    }

    public func fetchMetadata() -> Metadata { Metadata() }
}

/// `--from-proc-cmdline`: the user-data at the URL that the kernel command
/// line names as `cloud-config-url=URL` (or `cloud_config_url=`), fetched as
/// `--from-url` fetches. `cmdlinePath` is /proc/cmdline but for tests.
public struct ProcCmdlineDatasource: Datasource {
    public let cmdlinePath: String
    public let fetcher: HTTPFetcher

    public init(cmdlinePath: String = "/proc/cmdline", fetcher: HTTPFetcher = HTTPFetcher()) {
        self.cmdlinePath = cmdlinePath
        self.fetcher = fetcher
    }

    public var kind: String { "proc-cmdline" }
    /// The command line does not change during a boot.
    public var availabilityChanges: Bool { false }
    public var configRoot: String { "" }

    public func isAvailable() -> Bool {
        guard let bytes = try? Files.read(cmdlinePath) else { return false }
        return Self.cloudConfigURL(in: String(decoding: bytes, as: UTF8.self)) != nil
    }

    public func fetchUserData() throws(DatasourceError) -> [UInt8] {
        let cmdline: [UInt8]
        do {
            cmdline = try Files.read(cmdlinePath)
        } catch {
            throw DatasourceError(error)
        }
        guard let url = Self.cloudConfigURL(in: String(decoding: cmdline, as: UTF8.self)) else {
            throw DatasourceError("cloud-config-url not found in \(cmdlinePath)")
        }
        return try fetcher.get(url) ?? []
    }

    public func fetchMetadata() -> Metadata { Metadata() }

    /// The value of the last `cloud-config-url=` word (underscores and
    /// hyphens alike in the name); a bare `cloud-config-url` without a
    /// value does not count.
    public static func cloudConfigURL(in cmdline: String) -> String? {
        var url: String?
        for word in cmdline.split(whereSeparator: \.isWhitespace) {
            guard let equals = word.firstIndex(of: "=") else { continue }
            if word[..<equals].replacing("_", with: "-") == "cloud-config-url" {
                url = String(word[word.index(after: equals)...])
            }
        }
        return url
    }
}

/// `--from-ec2-metadata URL`: an EC2-style metadata service, API version
/// 2009-04-04: `user-data`, and `meta-data/` one path at a time. Available
/// once `<URL>/2009-04-04` answers with success.
public struct EC2Datasource: Datasource {
    /// The service's root, ending in `/`.
    public let root: String
    public let fetcher: HTTPFetcher

    public init(url: String, fetcher: HTTPFetcher = HTTPFetcher()) {
        root = url.hasSuffix("/") ? url : url + "/"
        self.fetcher = fetcher
    }

    static let apiVersion = "2009-04-04"

    public var kind: String { "ec2-metadata-service" }
    public var availabilityChanges: Bool { true }
    public var configRoot: String { root }

    public func isAvailable() -> Bool {
        fetcher.status(root + Self.apiVersion).map { (200..<300).contains($0) } ?? false
    }

    public func fetchUserData() throws(DatasourceError) -> [UInt8] {
        try fetcher.get(root + Self.apiVersion + "/user-data") ?? []
    }

    public func fetchMetadata() throws(DatasourceError) -> Metadata {
        var answers: [String: String] = [:]
        func fetch(_ path: String) throws(DatasourceError) {
            if let body = try fetcher.get(root + Self.apiVersion + "/meta-data/" + path) {
                answers[path] = String(decoding: body, as: UTF8.self)
            }
        }
        for path in EC2Metadata.fixedPaths { try fetch(path) }
        if let listing = answers["public-keys"] {
            let keys: [(name: String, path: String)]
            do {
                keys = try EC2Metadata.keyPaths(listing: listing)
            } catch {
                throw DatasourceError(error)
            }
            for key in keys { try fetch(key.path) }
        }
        do {
            return try EC2Metadata.metadata(answers: answers)
        } catch {
            throw DatasourceError(error)
        }
    }
}
