@testable import CloudConfig
import Testing

/// Metadata as each datasource serves it, parsed without I/O.
struct MetadataTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: Config drive

    @Test func configDriveReadsUUIDHostnameAndKeysSortedByName() throws {
        let json = #"""
            {"uuid": "83679162-1378-4288-a2d4-70e13ec132aa", "hostname": "node1.novalocal",
             "public_keys": {"zeta": "ssh-rsa ZZZ zeta", "alpha": "ssh-ed25519 AAA alpha"},
             "availability_zone": "nova", "meta": {"role": "web"}, "launch_index": 0}
            """#
        let metadata = try Metadata.configDrive(Self.bytes(json))
        #expect(metadata == Metadata(
            instanceID: "83679162-1378-4288-a2d4-70e13ec132aa", hostname: "node1.novalocal",
            sshPublicKeys: ["ssh-ed25519 AAA alpha", "ssh-rsa ZZZ zeta"]
        ))
    }

    @Test func emptyConfigDriveMetadataIsNone() throws {
        #expect(try Metadata.configDrive([]) == Metadata())
        #expect(try Metadata.configDrive(Self.bytes("{}")) == Metadata())
    }

    @Test func malformedConfigDriveMetadataNamesTheSourceAndTheProblem() {
        let cases: [(String, String)] = [
            ("{\"hostname\": ", "not valid JSON"),
            ("[1, 2]", "not a JSON object"),
            (#"{"hostname": 7}"#, #""hostname" is not a string"#),
            (#"{"public_keys": ["ssh-rsa AAA"]}"#, #""public_keys" is not an object of names to keys"#),
            (#"{"public_keys": {"a": 1}}"#, #""public_keys.a" is not a string"#),
            (#"{"public_keys": {"a": null}}"#, #""public_keys.a" is not a string"#),
        ]
        for (json, problem) in cases {
            #expect(throws: MetadataError(source: "config drive openstack/latest/meta_data.json", problem: problem), "\(json)") {
                try Metadata.configDrive(Self.bytes(json))
            }
        }
        let error = MetadataError(source: "config drive openstack/latest/meta_data.json", problem: "not valid JSON")
        #expect(error.description == "config drive openstack/latest/meta_data.json: not valid JSON")
    }

    // MARK: NoCloud

    @Test func noCloudReadsInstanceIDHostnameAndKeys() throws {
        let yaml = """
            instance-id: iid-local01
            local-hostname: cloudimg
            network-interfaces: |
              auto eth0
            public-keys:
              - ssh-rsa AAA one
              - ssh-ed25519 BBB two
            """
        #expect(try Metadata.noCloud(Self.bytes(yaml)) == Metadata(
            instanceID: "iid-local01", hostname: "cloudimg", sshPublicKeys: ["ssh-rsa AAA one", "ssh-ed25519 BBB two"]
        ))
    }

    @Test func noCloudKeysMayBeOneStringOrANamedMapping() throws {
        let text = "public-keys: |\n  ssh-rsa AAA one\n\n  ssh-rsa BBB two\n"
        #expect(try Metadata.noCloud(Self.bytes(text)).sshPublicKeys == ["ssh-rsa AAA one", "ssh-rsa BBB two"])
        let mapping = "public-keys:\n  zed: ssh-rsa ZZZ\n  amy: ssh-rsa AAA\n"
        #expect(try Metadata.noCloud(Self.bytes(mapping)).sshPublicKeys == ["ssh-rsa AAA", "ssh-rsa ZZZ"])
    }

    @Test func noCloudKeepsLiteralTextAndReadsNullAsAbsent() throws {
        let metadata = try Metadata.noCloud(Self.bytes("instance-id: 0042\nlocal-hostname: ~\n"))
        #expect(metadata.instanceID == "0042")
        #expect(metadata.hostname == nil)
        #expect(try Metadata.noCloud([]) == Metadata())
    }

    @Test func malformedNoCloudMetadataNamesTheSourceAndWhere() {
        let cases: [(String, String)] = [
            ("- a\n- b\n", "line 1, column 1: not a mapping of keys"),
            ("instance-id: [a]\n", #"line 1, column 14: "instance-id" is not a string"#),
            ("public-keys:\n  - [x]\n", "line 2, column 5: a public key is not a string"),
        ]
        for (yaml, problem) in cases {
            #expect(throws: MetadataError(source: "NoCloud meta-data", problem: problem), "\(yaml)") {
                try Metadata.noCloud(Self.bytes(yaml))
            }
        }
        #expect(throws: MetadataError.self) { try Metadata.noCloud(Self.bytes("a: [b\n")) }
    }

    // MARK: EC2

    @Test func ec2KeyPathsComeFromTheListingSortedByName() throws {
        let paths = try EC2Metadata.keyPaths(listing: "0=zeta\n1=alpha\n")
        #expect(paths.map(\.name) == ["alpha", "zeta"])
        #expect(paths.map(\.path) == ["public-keys/1/openssh-key", "public-keys/0/openssh-key"])
        #expect(throws: MetadataError(source: "EC2 metadata", problem: #"malformed public key: "bad" (want INDEX=NAME)"#)) {
            try EC2Metadata.keyPaths(listing: "bad\n")
        }
    }

    @Test func ec2MetadataFromTheAnswers() throws {
        let answers = [
            "instance-id": "i-0123456789abcdef0",
            "hostname": "ip-10-0-0-5.ec2.internal domain another_domain",
            "local-ipv4": "10.0.0.5",
            "public-ipv4": "203.0.113.7\n",
            "public-keys": "0=test1\n1=other",
            "public-keys/0/openssh-key": "ssh-rsa AAA test1\n",
            "public-keys/1/openssh-key": "ssh-rsa BBB other",
        ]
        #expect(try EC2Metadata.metadata(answers: answers) == Metadata(
            instanceID: "i-0123456789abcdef0", hostname: "ip-10-0-0-5.ec2.internal",
            sshPublicKeys: ["ssh-rsa BBB other", "ssh-rsa AAA test1"],
            publicIPv4: "203.0.113.7", privateIPv4: "10.0.0.5"
        ))
        #expect(try EC2Metadata.metadata(answers: [:]) == Metadata())
    }

    @Test func malformedEC2MetadataIsAnError() {
        #expect(throws: MetadataError(source: "EC2 metadata", problem: #"local-ipv4 is not an IP address: "10.0.0.256""#)) {
            try EC2Metadata.metadata(answers: ["local-ipv4": "10.0.0.256"])
        }
        #expect(throws: MetadataError(source: "EC2 metadata", problem: #"public-keys/0/openssh-key (key "k") is missing or empty"#)) {
            try EC2Metadata.metadata(answers: ["public-keys": "0=k\n"])
        }
    }

    @Test func addressesAreWrittenAsGoPrintsThem() {
        #expect(IPAddress.canonical("192.0.2.3") == "192.0.2.3")
        #expect(IPAddress.canonical("FE00:1234:0:0:0:0:0:0") == "fe00:1234::")
        #expect(IPAddress.canonical("2001:0db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1")
        #expect(IPAddress.canonical("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1")
        #expect(IPAddress.canonical("::") == "::")
        #expect(IPAddress.canonical("::1") == "::1")
        #expect(IPAddress.canonical("::ffff:192.0.2.1") == "192.0.2.1")
        #expect(IPAddress.canonical("64:ff9b::192.0.2.1") == "64:ff9b::c000:201")
        for bad in ["", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1:2:3", "1::2::3", "12345::", "1.2.3.4::", "g::1", "+1::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8"] {
            #expect(IPAddress.canonical(bad) == nil, "\(bad)")
        }
    }
}
