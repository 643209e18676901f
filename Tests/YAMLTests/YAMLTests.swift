import Testing
import YAML

/// libyaml's events turned into nodes with their marks.
struct YAMLTests {
    static func parse(_ text: String) throws(YAMLError) -> YAMLNode? { try YAML.parse(Array(text.utf8)) }

    @Test func mappingsKeepOrderTextAndMarks() throws {
        let root = try #require(try Self.parse("""
            #cloud-config
            hostname: core-01
            write_files:
              - path: /etc/motd
                permissions: 0644
                content: "hello"
            coreos:
              update: {reboot-strategy: off}

            """))
        guard case .mapping(let top) = root.kind else { Issue.record("not a mapping: \(root)"); return }
        #expect(top.map { keyText($0.key) } == ["hostname", "write_files", "coreos"])
        #expect(top[0].value.kind == .scalar("core-01", plain: true))
        #expect(top[0].value.mark == YAMLMark(line: 2, column: 11))
        guard case .sequence(let files) = top[1].value.kind, case .mapping(let file) = files.first?.kind else {
            Issue.record("write_files: \(top[1].value)")
            return
        }
        #expect(files[0].mark == YAMLMark(line: 4, column: 5))
        // The literal text stays: 0644 is for the schema to read as octal.
        #expect(file[1].value.kind == .scalar("0644", plain: true))
        #expect(file[2].value.kind == .scalar("hello", plain: false))
        #expect(file[2].key.mark == YAMLMark(line: 6, column: 5))
        guard case .mapping(let coreos) = top[2].value.kind, case .mapping(let update) = coreos[0].value.kind else {
            Issue.record("coreos: \(top[2].value)")
            return
        }
        #expect(update[0].value.kind == .scalar("off", plain: true))
    }

    @Test func aliasesAreCopiesAndTagsAreKept() throws {
        let root = try #require(try Self.parse("base: &b {a: 1}\ncopy: *b\nraw: !!binary aGk=\n"))
        guard case .mapping(let pairs) = root.kind else { Issue.record("\(root)"); return }
        #expect(pairs[1].value.kind == pairs[0].value.kind)
        #expect(pairs[1].value.mark == YAMLMark(line: 2, column: 7))
        #expect(pairs[2].value.tag == "tag:yaml.org,2002:binary")
    }

    @Test func emptyTextHasNoDocument() throws {
        #expect(try Self.parse("") == nil)
        #expect(try Self.parse("# only a comment\n") == nil)
        #expect(try Self.parse("---\n...\n---\nsecond: document\n") == YAMLNode(.scalar("", plain: true), mark: YAMLMark(line: 2, column: 1)))
    }

    @Test func brokenYAMLIsReportedWhereItBreaks() {
        #expect(throws: YAMLError.self) { try Self.parse("a: [1, 2\nb: 3\n") }
        do throws(YAMLError) {
            _ = try Self.parse("users:\n  - name: core\n   bad: indent\n")
            Issue.record("parsed")
        } catch {
            #expect(error.mark.line == 3, "\(error)")
            #expect(!error.message.isEmpty)
        }
        do throws(YAMLError) {
            _ = try Self.parse("key: *missing\n")
            Issue.record("parsed")
        } catch {
            #expect(error.mark == YAMLMark(line: 1, column: 6), "\(error)")
        }
    }

    func keyText(_ node: YAMLNode) -> String {
        if case .scalar(let text, _) = node.kind { return text }
        return "?"
    }
}
