import Foundation
import Testing
@testable import CoreboxSystem

/// A real HTTP server on loopback: python3's http.server answering with what
/// it received, so the assertions check what crossed the wire.
final class EchoServer {
    static let script = #"""
        import http.server, sys
        class Echo(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path.startswith("/status/"):
                    code = int(self.path.split("/")[2])
                    text = b"status page"
                else:
                    code = 200
                    text = ("%s %s\nx-test: %s\n\n" % (self.command, self.path, self.headers.get("X-Test"))).encode() + body
                self.send_response(code)
                self.send_header("Content-Length", str(len(text)))
                self.send_header("X-Echo-Length", str(length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(text)
            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = answer
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    let process = Process()
    let port: Int

    init() throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script]
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw HTTPError(description: "echo server did not start") }
            line += chunk
        }
        port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    deinit {
        // SIGKILL: the test runner's threads block SIGTERM, and the child inherits that mask.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    var base: String { "http://127.0.0.1:\(port)" }
}

@Suite struct HTTPClientTests {
    @Test func getReturnsStatusHeadersAndBody() throws {
        let server = try EchoServer()
        let response = try HTTPClient.perform(HTTPRequest(url: server.base + "/v2/keys/a", headers: [("X-Test", "yes")]))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "GET /v2/keys/a\nx-test: yes\n\n")
        #expect(response.header("x-echo-length") == "0")
        #expect(response.header("Content-Length") == "\(response.body.count)")
    }

    @Test(arguments: ["POST", "PUT", "DELETE"])
    func bodiesAreSentWithTheMethod(method: String) throws {
        let server = try EchoServer()
        let payload = Array("value=locked&prevExist=false".utf8)
        let response = try HTTPClient.perform(HTTPRequest(method: method, url: server.base + "/lock", body: payload))
        #expect(String(decoding: response.body, as: UTF8.self) == "\(method) /lock\nx-test: None\n\nvalue=locked&prevExist=false")
        #expect(response.header("X-Echo-Length") == "\(payload.count)")
    }

    @Test func binaryBodiesSurviveTheRoundTrip() throws {
        let server = try EchoServer()
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }
        let response = try HTTPClient.perform(HTTPRequest(method: "POST", url: server.base + "/blob", body: payload))
        #expect(Array(response.body.suffix(payload.count)) == payload)
    }

    @Test func headHasNoBody() throws {
        let server = try EchoServer()
        let response = try HTTPClient.perform(HTTPRequest(method: "HEAD", url: server.base + "/x"))
        #expect(response.status == 200)
        #expect(response.body.isEmpty)
    }

    @Test func errorStatusesAreResponses() throws {
        let server = try EchoServer()
        let response = try HTTPClient.perform(HTTPRequest(url: server.base + "/status/404"))
        #expect(response.status == 404)
        #expect(String(decoding: response.body, as: UTF8.self) == "status page")
    }

    @Test func aRefusedConnectionNamesTheRequest() throws {
        let port = try EchoServer().port // the server is gone once this returns
        #expect {
            try HTTPClient.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/health", timeout: 5))
        } throws: { error in
            "\(error)".hasPrefix("GET http://127.0.0.1:\(port)/health: ") && "\(error)".contains("connect")
        }
    }

    @Test func finalHeadersSkipInterimResponses() {
        let raw = Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nA: 1\r\nB:  two words\r\n\r\n".utf8)
        let headers = HTTPClient.finalHeaders(raw)
        #expect(headers.map(\.name) == ["A", "B"])
        #expect(headers.map(\.value) == ["1", "two words"])
    }
}
