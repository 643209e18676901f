import CloudConfig
import Testing

/// `$public_ipv4` and friends, with coreos-cloudinit's rules (initialize/env.go).
struct SubstitutionTests {
    static let environment = [
        "COREOS_PUBLIC_IPV4": "1.2.3.4", "COREOS_PRIVATE_IPV4": "5.6.7.8",
        "COREOS_PUBLIC_IPV6": "1234::", "COREOS_PRIVATE_IPV6": "5678::",
    ]

    @Test func metadataWinsOverTheEnvironment() {
        let metadata = Metadata(publicIPv4: "192.0.2.3", privateIPv4: "192.0.2.203", publicIPv6: "fe00:1234::", privateIPv6: "fe00:5678::")
        let substitutions = Substitutions(metadata: metadata, environment: Self.environment)
        let input = """
            [Service]
            ExecStart=/usr/bin/echo "$public_ipv4 $public_ipv6"
            ExecStop=/usr/bin/echo $private_ipv4 $private_ipv6
            ExecStop=/usr/bin/echo $unknown
            """
        #expect(substitutions.apply(to: input) == """
            [Service]
            ExecStart=/usr/bin/echo "192.0.2.3 fe00:1234::"
            ExecStop=/usr/bin/echo 192.0.2.203 fe00:5678::
            ExecStop=/usr/bin/echo $unknown
            """)
    }

    @Test func theEnvironmentFillsInWhatMetadataLacks() {
        let substitutions = Substitutions(metadata: Metadata(privateIPv4: "127.0.0.1"), environment: Self.environment)
        #expect(substitutions.apply(to: "$private_ipv4\n$public_ipv4") == "127.0.0.1\n1.2.3.4")
        let fromEnvironment = Substitutions(metadata: Metadata(), environment: Self.environment)
        #expect(fromEnvironment.apply(to: "$private_ipv4\n$public_ipv4\nfoobar") == "5.6.7.8\n1.2.3.4\nfoobar")
    }

    @Test func withNeitherThePlaceholderBecomesEmpty() {
        let substitutions = Substitutions(metadata: Metadata(), environment: [:])
        #expect(substitutions.apply(to: "addr=$public_ipv4;") == "addr=;")
    }

    @Test func aBackslashKeepsThePlaceholderLiteral() {
        let substitutions = Substitutions(metadata: Metadata(privateIPv4: "127.0.0.1"), environment: [:])
        let input = #"""
            \$private_ipv4
            $private_ipv4
            addr: \$private_ipv4
            \\$private_ipv4
            """#
        #expect(substitutions.apply(to: input) == #"""
            $private_ipv4
            127.0.0.1
            addr: $private_ipv4
            \$private_ipv4
            """#)
        #expect(substitutions.apply(to: "\\$test\n$test") == "\\$test\n$test")
        // An escaped placeholder does not hide the next one, nor is it hidden by it.
        #expect(substitutions.apply(to: #"\$private_ipv4$private_ipv4"#) == "$private_ipv4127.0.0.1")
        #expect(substitutions.apply(to: #"a\$private_ipv4\$private_ipv4"#) == "a$private_ipv4$private_ipv4")
    }

    /// Go's regexp consumes the character before a placeholder, so one that
    /// directly follows a replaced one is left as it is.
    @Test func aPlaceholderRightAfterAReplacedOneStays() {
        let substitutions = Substitutions(metadata: Metadata(publicIPv4: "9.9.9.9", privateIPv4: "10.0.0.1"), environment: [:])
        #expect(substitutions.apply(to: "$public_ipv4$public_ipv4 x$public_ipv4$public_ipv4") == "9.9.9.9$public_ipv4 x9.9.9.9$public_ipv4")
        #expect(substitutions.apply(to: "$public_ipv4$private_ipv4") == "9.9.9.910.0.0.1")
        #expect(substitutions.apply(to: "é$public_ipv4") == "é9.9.9.9")
    }

    @Test func environmentVariablesOnlyForNonEmptyValuesSortedByName() {
        let metadata = Metadata(publicIPv4: "1.2.3.4", privateIPv4: "5.6.7.8", publicIPv6: "1234::", privateIPv6: "5678::")
        let all = Substitutions(metadata: metadata, environment: [:]).environmentVariables
        #expect(all.map(\.name) == ["COREOS_PRIVATE_IPV4", "COREOS_PRIVATE_IPV6", "COREOS_PUBLIC_IPV4", "COREOS_PUBLIC_IPV6"])
        #expect(all.map(\.value) == ["5.6.7.8", "5678::", "1.2.3.4", "1234::"])

        let some = Substitutions(metadata: Metadata(privateIPv4: "10.0.0.1"), environment: ["COREOS_PUBLIC_IPV6": "2001:db8::1", "COREOS_PUBLIC_IPV4": ""])
        #expect(some.environmentVariables.map { "\($0.name)=\($0.value)" } == ["COREOS_PRIVATE_IPV4=10.0.0.1", "COREOS_PUBLIC_IPV6=2001:db8::1"])
        #expect(Substitutions(metadata: Metadata(), environment: [:]).environmentVariables.isEmpty)
    }
}
