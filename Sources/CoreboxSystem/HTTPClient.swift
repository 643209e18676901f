import CCoreboxShims
import CCurl

/// An HTTP request made through libcurl.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// Seconds for the whole transfer; 0 waits forever.
    public var timeout: Int
    /// Follow up to 10 redirects, as Go's client does (the metadata services' peers).
    public var followRedirects: Bool
    /// Check the server's TLS certificate and name (off only for registries the user marked insecure).
    public var verifyTLS: Bool

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        timeout: Int = 30, followRedirects: Bool = false, verifyTLS: Bool = true
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.followRedirects = followRedirects
        self.verifyTLS = verifyTLS
    }
}

public struct HTTPResponse: Sendable {
    public let status: Int
    /// Header fields of the final response, names as sent.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    /// The first header called `name`, compared without case.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// A transfer that did not complete: libcurl could not be loaded, or the
/// connection or protocol failed. HTTP error statuses are responses, not errors.
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// HTTP(S) through libcurl, loaded with dlopen the first time a request is
/// made: an applet that never talks to the network never maps libcurl.
public enum HTTPClient {
    public static func perform(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        var body = corebox_buffer()
        defer { corebox_buffer_free(&body) }
        let (status, headers) = try transfer(request) { handle, received in corebox_curl_perform(handle, &body, &received) }
        return HTTPResponse(status: status, headers: headers, body: bytes(of: body))
    }

    /// The same, with the body passed to `sink` as it arrives, with the
    /// response's status, instead of kept (the response's `body` is empty);
    /// `sink` returns false to abort the transfer, which then throws. For
    /// downloads too large for memory.
    public static func perform(
        _ request: HTTPRequest, body sink: (_ status: Int, _ chunk: UnsafeRawBufferPointer) -> Bool
    ) throws(HTTPError) -> HTTPResponse {
        typealias Sink = (Int, UnsafeRawBufferPointer) -> Bool
        struct Context {
            let handle: UnsafeMutableRawPointer
            let sink: Sink
        }
        let (status, headers) = try withoutActuallyEscaping(sink) { (sink) throws(HTTPError) in
            try transfer(request) { handle, received in
                var context = Context(handle: handle, sink: sink)
                return withUnsafeMutablePointer(to: &context) { pointer in
                    corebox_curl_perform_sink(handle, { pointer, data, length in
                        let context = pointer!.assumingMemoryBound(to: Context.self).pointee
                        // The headers are in before the first byte of the body.
                        return context.sink(corebox_curl_response_code(context.handle), UnsafeRawBufferPointer(start: data, count: length)) ? 1 : 0
                    }, pointer, &received)
                }
            }
        }
        return HTTPResponse(status: status, headers: headers, body: [])
    }

    /// Sets the request up on a fresh handle and runs `perform` on it,
    /// which collects the header lines into its buffer.
    private static func transfer(
        _ request: HTTPRequest, _ perform: (UnsafeMutableRawPointer, inout corebox_buffer) -> Int32
    ) throws(HTTPError) -> (status: Int, headers: [(name: String, value: String)]) {
        var message = [CChar](repeating: 0, count: 256)
        guard corebox_curl_load(&message, message.count) == 0 else {
            throw HTTPError(description: "libcurl: \(String(nulTerminated: message))")
        }
        guard let handle = corebox_curl_easy_init() else {
            throw HTTPError(description: "libcurl: curl_easy_init failed")
        }
        defer { corebox_curl_easy_cleanup(handle) }

        var headerList: UnsafeMutableRawPointer?
        for header in request.headers {
            headerList = corebox_curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        defer { corebox_curl_slist_free_all(headerList) }

        var received = corebox_buffer()
        defer { corebox_buffer_free(&received) }
        let code: Int32 = request.url.withCString { url in
            request.method.withCString { method in
                (request.body ?? []).withUnsafeBytes { upload in
                    set(handle, CURLOPT_URL, url)
                    set(handle, CURLOPT_CUSTOMREQUEST, method)
                    set(handle, CURLOPT_NOSIGNAL, 1)
                    set(handle, CURLOPT_TIMEOUT, request.timeout)
                    set(handle, CURLOPT_HTTPHEADER, headerList)
                    if request.method == "HEAD" { set(handle, CURLOPT_NOBODY, 1) }
                    if request.followRedirects {
                        set(handle, CURLOPT_FOLLOWLOCATION, 1)
                        set(handle, CURLOPT_MAXREDIRS, 10)
                    }
                    if !request.verifyTLS {
                        set(handle, CURLOPT_SSL_VERIFYPEER, 0)
                        set(handle, CURLOPT_SSL_VERIFYHOST, 0)
                    }
                    if request.body != nil {
                        set(handle, CURLOPT_POSTFIELDS, upload.baseAddress ?? UnsafeRawPointer(url))
                        set(handle, CURLOPT_POSTFIELDSIZE, upload.count)
                    }
                    return perform(handle, &received)
                }
            }
        }
        guard code == 0 else {
            throw HTTPError(description: "\(request.method) \(request.url): \(String(cString: corebox_curl_strerror(code)))")
        }
        return (corebox_curl_response_code(handle), finalHeaders(bytes(of: received)))
    }

    private static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: Int) {
        _ = corebox_curl_setopt_long(handle, Int32(option.rawValue), value)
    }

    private static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: UnsafeRawPointer?) {
        _ = corebox_curl_setopt_pointer(handle, Int32(option.rawValue), value)
    }

    private static func bytes(of buffer: corebox_buffer) -> [UInt8] {
        guard let data = buffer.data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: buffer.length))
    }

    /// The header lines of the last response in `raw` (redirects and 100
    /// Continue each add a block of their own).
    static func finalHeaders(_ raw: [UInt8]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        for line in String(decoding: raw, as: UTF8.self).split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") {
                headers = []
            } else if let colon = line.firstIndex(of: ":") {
                let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
                headers.append((String(line[..<colon]), String(value)))
            }
        }
        return headers
    }
}
