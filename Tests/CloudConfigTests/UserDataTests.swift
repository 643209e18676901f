import CloudConfig
import Testing

/// User-data kinds, as coreos-cloudinit tells them apart.
struct UserDataTests {
    static func kind(_ text: String) throws(UserDataKind.Unrecognized) -> UserDataKind { try UserDataKind.of(Array(text.utf8)) }

    @Test func eachKindByItsFirstLine() throws {
        #expect(try Self.kind("") == .empty)
        #expect(try Self.kind("#cloud-config\nhostname: a\n") == .cloudConfig)
        #expect(try Self.kind("#cloud-config \t\r\nhostname: a\n") == .cloudConfig)
        #expect(try Self.kind("#cloud-config") == .cloudConfig)
        #expect(try Self.kind("#!/bin/bash\necho hi\n") == .script)
        // A script wins over anything after its first line.
        #expect(try Self.kind("#!#cloud-config\n") == .script)
        #expect(try Self.kind(#"{"ignition": {"version": "2.0.0"}}"#) == .ignition)
        #expect(try Self.kind(#"{"ignitionVersion": 1}"#) == .ignition)
    }

    @Test func anythingElseIsUnrecognized() {
        for text in ["hostname: a\n", " #cloud-config\n", "#cloud-config-archive\n", "#cloud-configx\n", #"{"ignition": {}}"#, "{}", "\n#cloud-config\n"] {
            #expect(throws: UserDataKind.Unrecognized(), "\(text)") { try Self.kind(text) }
        }
        #expect(UserDataKind.Unrecognized().description == "Unrecognized user-data format")
    }

    @Test func gzipIsKnownByItsMagicBytes() {
        #expect(UserDataKind.isGzip([0x1F, 0x8B, 0x08, 0x00]))
        #expect(!UserDataKind.isGzip(Array("#cloud-config".utf8)))
        #expect(!UserDataKind.isGzip([0x1F]))
    }
}
