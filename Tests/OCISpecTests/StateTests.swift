@testable import OCISpec
import Testing

/// The state JSON as `runc state` prints it and as hooks read it.
struct StateTests {
    /// `runc state` of a created container on this machine, annotations added.
    static let runcOutput = """
    {
      "ociVersion": "1.0.2-dev",
      "id": "ocispec-probe-2",
      "pid": 12264,
      "status": "created",
      "bundle": "/tmp/ocispec-probe",
      "rootfs": "/tmp/ocispec-probe/rootfs",
      "created": "2026-11-26T00:02:51.206193693Z",
      "annotations": {
        "a.key": "x",
        "b.key": "v\\u003c\\u0026\\u003e"
      },
      "owner": ""
    }
    """

    static let state = ContainerState(
        id: "ocispec-probe-2", pid: 12264, status: .created, bundle: "/tmp/ocispec-probe",
        rootfs: "/tmp/ocispec-probe/rootfs", created: Timestamp(seconds: 1_795_651_371, nanoseconds: 206_193_693),
        annotations: ["b.key": "v<&>", "a.key": "x"])

    @Test func printsAsRuncDoes() {
        #expect(Self.state.runcJSON == Self.runcOutput)
    }

    @Test func roundTrip() throws {
        #expect(try ContainerState.decode(Array(Self.runcOutput.utf8)) == Self.state)
        var stopped = Self.state
        (stopped.status, stopped.pid, stopped.annotations) = (.stopped, 0, [:])
        let text = stopped.runcJSON
        #expect(text.contains("\"pid\": 0,") && !text.contains("annotations"))
        #expect(try ContainerState.decode(Array(text.utf8)) == stopped)
    }

    /// The runtime-spec's form: compact, spec order, pid and annotations omitted when empty.
    @Test func specForm() throws {
        #expect(Self.state.specJSON == #"{"ociVersion":"1.0.2-dev","id":"ocispec-probe-2","status":"created","pid":12264,"bundle":"/tmp/ocispec-probe","annotations":{"a.key":"x","b.key":"v\u003c\u0026\u003e"}}"#)
        var creating = Self.state
        (creating.status, creating.pid, creating.annotations) = (.creating, 0, [:])
        #expect(creating.specJSON == #"{"ociVersion":"1.0.2-dev","id":"ocispec-probe-2","status":"creating","bundle":"/tmp/ocispec-probe"}"#)
        let decoded = try ContainerState.decode(Array(creating.specJSON.utf8))
        #expect(decoded.status == .creating && decoded.bundle == "/tmp/ocispec-probe" && decoded.created == Timestamp())
    }

    @Test func badState() {
        #expect(throws: ConfigError(file: "state.json", problems: [
            Problem(path: "status", message: #"unknown status "frozen""#),
            Problem(path: "created", message: #"expected an RFC 3339 time such as "2006-01-02T15:04:05.999999999Z", got "yesterday""#),
        ])) {
            try ContainerState.decode(Array(#"{"ociVersion": "1.0.2", "id": "a", "status": "frozen", "bundle": "/b", "created": "yesterday"}"#.utf8))
        }
    }

    /// Go's RFC3339Nano: trailing zeros of the fraction dropped, none for whole seconds.
    @Test(arguments: [
        (Timestamp(seconds: 0), "1970-01-01T00:00:00Z"),
        (Timestamp(seconds: -1), "1969-12-31T23:59:59Z"),
        (Timestamp(seconds: 951_825_600, nanoseconds: 500_000_000), "2000-02-29T12:00:00.5Z"),
        (Timestamp(seconds: 1_795_651_371, nanoseconds: 1), "2026-11-26T00:02:51.000000001Z"),
    ])
    func timestamps(time: Timestamp, text: String) {
        #expect(time.text == text)
        #expect(Timestamp(text: text) == time)
    }

    @Test func timestampOffsetsAndRejects() {
        #expect(Timestamp(text: "2026-11-26T01:02:51.25+01:00") == Timestamp(seconds: 1_795_651_371, nanoseconds: 250_000_000))
        for text in ["2026-11-26 00:02:51Z", "2026-13-01T00:00:00Z", "2026-11-26T00:02:51", "2026-11-26T00:02:51.Z", "2026-11-26T00:02:51.1234567890Z"] {
            #expect(Timestamp(text: text) == nil, "\(text)")
        }
    }
}
