import CloudConfig
import Testing

/// The validator's findings, with coreos-cloudinit's texts and our places.
struct ValidatorTests {
    static func report(_ text: String) -> [String] {
        Validator.validate(Array(("#cloud-config\n" + text).utf8)).report.diagnostics.map(\.text)
    }

    @Test func modesAndWordsStayLiteralWhereTheKeyIsAString() {
        #expect(Self.report("write_files:\n  - path: /a\n    permissions: 0744\n").isEmpty)
        #expect(Self.report("write_files:\n  - path: /a\n    permissions: '744'\n").isEmpty)
        #expect(Self.report("coreos:\n  update:\n    reboot-strategy: off\n").isEmpty)
        #expect(Self.report("coreos:\n  update:\n    reboot-strategy: false\n") == ["line 4: error: invalid value false (column 5)"])
        #expect(Self.report("write_files:\n  - path: /a\n    permissions: 0999\n") == ["line 4: error: invalid value 0999 (column 5)"])
    }

    @Test func typesAreCheckedAsCoreosCloudinitChecksThem() {
        #expect(Self.report("users:\n  - name: a\n    no_create_home: \"yes\"\n") == [
            "line 4: warning: incorrect type for \"no_create_home\" (want bool) (column 5)",
        ])
        #expect(Self.report("users: a\n") == ["line 2: warning: incorrect type for \"users\" (want []struct) (column 1)"])
        #expect(Self.report("ssh_authorized_keys:\n  - [a]\n") == ["line 3: warning: incorrect type for \"ssh_authorized_keys[0]\" (want string) (column 5)"])
        #expect(Self.report("hostname:\n") == ["line 2: warning: incorrect type for \"hostname\" (want string) (column 1)"])
        #expect(Self.report("hostname: 42\n").isEmpty)
    }

    @Test func unknownAndDeprecatedKeys() {
        #expect(Self.report("hostnme: a\n") == ["line 2: warning: unrecognized key \"hostnme\" (column 1; did you mean \"hostname\"?)"])
        #expect(Self.report("users:\n  - name: a\n    gceos: A\n") == ["line 4: warning: unrecognized key \"gceos\" (column 5; did you mean \"gecos\"?)"])
        #expect(Self.report("users:\n  - name: a\n    zzz: A\n") == ["line 4: warning: unrecognized key \"zzz\" (column 5)"])
        #expect(Self.report("units:\n  - name: a.service\n") == ["line 2: warning: unrecognized key \"units\" (column 1; \"units\" belongs under \"coreos\")"])
        #expect(Self.report("coreos:\n  etcd2:\n    name: a\n") == ["line 3: warning: deprecated key \"etcd2\" (etcd2 is no longer shipped in Container Linux) (column 3)"])
        #expect(Self.report("coreos:\n  write_files: []\n") == [
            "line 3: warning: unrecognized key \"write_files\" (column 3)",
            "line 3: info: write_files doesn't belong under coreos (column 3)",
        ])
    }

    @Test func contentPathsAndNames() {
        #expect(Self.report("write_files:\n  - path: /usr/bin/x\n    content: Zm9v\n    encoding: base64\n") == [
            "line 3: error: file cannot be written to a read-only filesystem (column 5)",
        ])
        #expect(Self.report("write_files:\n  - path: /a\n    content: \"!!\"\n    encoding: base64\n") == [
            "line 4: error: content cannot be decoded as \"base64\" (column 5)",
        ])
        #expect(Self.report("users:\n  - gecos: x\n") == ["line 3: error: user has no \"name\" (column 5)"])
        #expect(Self.report("coreos:\n  units:\n    - name: foo\n      command: begin\n") == [
            "line 4: error: invalid unit name \"foo\" (column 7)",
            "line 5: error: invalid value begin (column 7)",
        ])
    }

    @Test func brokenYAMLIsOneErrorWithItsPlace() {
        let report = Validator.validate(Array("#cloud-config\na:\na".utf8)).report
        #expect(report.diagnostics.count == 1)
        #expect(report.diagnostics.first?.mark.line == 3)
        #expect(report.blocksApply)
    }
}
