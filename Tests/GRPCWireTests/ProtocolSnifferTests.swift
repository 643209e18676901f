import Testing
@testable import GRPCWire

/// The one-port listener's decision, from the first bytes of a connection.
struct ProtocolSnifferTests {
    @Test func theHTTP2PrefaceDecidesGRPCAndAnythingElseHTTP1() {
        let preface = ProtocolSniffer.preface
        #expect(ProtocolSniffer.verdict(preface + Array("more".utf8)) == .http2)
        #expect(ProtocolSniffer.verdict(preface) == .http2)
        #expect(ProtocolSniffer.verdict(preface.prefix(10)) == .undecided)
        #expect(ProtocolSniffer.verdict([UInt8]()) == .undecided)
        #expect(ProtocolSniffer.verdict(Array("GET /health HTTP/1.1\r\n".utf8)) == .http1)
        #expect(ProtocolSniffer.verdict(Array("PUT /v2/keys/a HTTP/1.1\r\n".utf8)) == .http1)
        #expect(ProtocolSniffer.verdict(Array("PRI * HTTP/1.1\r\n".utf8)) == .http1)
    }
}
