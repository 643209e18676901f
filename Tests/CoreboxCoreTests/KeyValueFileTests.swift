import Testing
@testable import CoreboxCore

@Suite struct KeyValueFileTests {
    @Test func parsesCommentsQuotingAndExport() throws {
        let text = """
            # Flatcar-style update.conf
            GROUP=stable

              SERVER=https://updates.example/v1/update/#frag   # trailing comment
            export REBOOT_STRATEGY="etcd-lock"
            NAME='single $quoted \\ "text"'
            PRETTY="Corebox \\"0.1\\" \\$HOME \\\\ done"
            MIXED=a"b c"'d e'f
            ESCAPED=one\\ two
            EMPTY=
            EMPTYQUOTES=""
            CRLF=yes\r
            """
        let file = try KeyValueFile(parsing: text, name: "update.conf")
        #expect(file["GROUP"] == "stable")
        #expect(file["SERVER"] == "https://updates.example/v1/update/#frag")
        #expect(file["REBOOT_STRATEGY"] == "etcd-lock")
        #expect(file["NAME"] == #"single $quoted \ "text""#)
        #expect(file["PRETTY"] == #"Corebox "0.1" $HOME \ done"#)
        #expect(file["MIXED"] == "ab cd ef")
        #expect(file["ESCAPED"] == "one two")
        #expect(file["EMPTY"] == "")
        #expect(file["EMPTYQUOTES"] == "")
        #expect(file["CRLF"] == "yes")
        #expect(file["MISSING"] == nil)
        #expect(file.entry("REBOOT_STRATEGY")?.line == 5)
    }

    @Test func laterAssignmentWins() throws {
        let file = try KeyValueFile(parsing: "A=1\nB=2\nA=3\n", name: "f")
        #expect(file["A"] == "3")
        #expect(file.values == ["A": "3", "B": "2"])
    }

    @Test func exportAloneIsAKey() throws {
        let file = try KeyValueFile(parsing: "export=1\n", name: "f")
        #expect(file["export"] == "1")
    }

    @Test(arguments: [
        ("A=1\nnot an assignment\n", 2, "expected KEY=value"),
        ("A=1\n\n9LIVES=x\n", 3, "invalid key \"9LIVES\""),
        ("BAD-KEY=x", 1, "invalid key \"BAD-KEY\""),
        ("A=\"open\n", 1, "unterminated double quote"),
        ("A='open\n", 1, "unterminated single quote"),
        ("A=two words\n", 1, "after the value"),
        ("A=x\\", 1, "backslash at the end"),
    ])
    func errorsNameFileAndLine(text: String, line: Int, message: String) {
        #expect {
            try KeyValueFile(parsing: text, name: "/etc/corebox/update.conf")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.file == "/etc/corebox/update.conf" && error.line == line
                && error.message.contains(message)
                && error.description.hasPrefix("/etc/corebox/update.conf:\(line): ")
        }
    }

    @Test func layeredLookupTakesTheFirstFileThatSetsAKey() throws {
        let overrides = try KeyValueFile(parsing: "GROUP=beta\n", name: "etc")
        let defaults = try KeyValueFile(parsing: "GROUP=stable\nSERVER=https://a\n", name: "usr")
        let release = try KeyValueFile(parsing: "COREBOX_RELEASE_VERSION=1.2.3\nGROUP=never\n", name: "release")
        let config = LayeredConfig([overrides, defaults, release])
        #expect(config.lookup("GROUP")?.value == "beta")
        #expect(config.lookup("GROUP")?.file == "etc")
        #expect(config.lookup("SERVER")?.file == "usr")
        #expect(config["COREBOX_RELEASE_VERSION"] == "1.2.3")
        #expect(config["NOPE"] == nil)
    }
}
