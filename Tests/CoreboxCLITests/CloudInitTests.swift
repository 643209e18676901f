import Foundation
import Testing
import TestSupport

/// The shipped binary as `cloud-init` and `coreos-cloudinit`: flags, exit
/// statuses, reports, and that bad user-data leaves the root as it was.
struct CloudInitCLITests {
    let scratch: Scratch
    let root: String
    let links: [String: String]

    init() throws {
        scratch = try Scratch()
        root = scratch.path + "/root"
        let scratch = scratch
        links = try Dictionary(uniqueKeysWithValues: ["cloud-init", "coreos-cloudinit"].map { ($0, try scratch.link($0)) })
        for (path, text) in [
            "etc/passwd": "root:x:0:0:root:/root:/bin/bash\n",
            "etc/group": "root:x:0:\n",
            "etc/shadow": "root:*:19000:0:99999:7:::\n",
            "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
        ] {
            try FileManager.default.createDirectory(atPath: root + "/" + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: root + "/" + path, atomically: false, encoding: .utf8)
        }
    }

    func userData(_ text: String) throws -> String {
        let path = scratch.path + "/user-data"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func run(_ arguments: [String], as name: String = "cloud-init") async throws -> Clients.Run {
        try await CoreboxBinary.run(arguments, executable: links[name]!, environment: ["COREBOX_ROOT": root])
    }

    /// Every path under the root with its bytes: what "left as it was" compares.
    func tree() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory)
            files[path] = isDirectory.boolValue ? Data() : try Data(contentsOf: URL(fileURLWithPath: root + "/" + path))
        }
        return files
    }

    @Test func validateReportsEverythingAndExitsOne() async throws {
        let file = try userData("#cloud-config\nhostnme: a\nwrite_files:\n  - path: /usr/x\n    permissions: 999\n")
        let result = try await run(["-validate", "-from-file", file])
        #expect(result.status == 1)
        #expect(result.stdout == """
            line 2: warning: unrecognized key "hostnme" (column 1; did you mean "hostname"?)
            line 4: error: file cannot be written to a read-only filesystem (column 5)
            line 5: error: invalid value 999 (column 5)

            """)
        let json = try await run(["--validate", "--output", "json", "--from-file", file], as: "coreos-cloudinit")
        #expect(json.status == 1)
        let entries = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(entries?.count == 3)
        #expect(entries?.first?["hint"] as? String == "did you mean \"hostname\"?")
        #expect(entries?.last?["line"] as? Int == 5)

        let clean = try await run(["-validate", "-from-file", try userData("#cloud-config\nhostname: a\n")])
        #expect(clean.status == 0 && clean.stdout.isEmpty)
        let other = try await run(["-validate", "-from-file", try userData("{}")])
        #expect(other.status == 1 && other.stdout == "line 1: error: must be \"#cloud-config\" or begin with \"#!\" (column 1)\n")
    }

    @Test func badUserDataChangesNothing() async throws {
        let before = try tree()
        let file = try userData("#cloud-config\nhostname: fine\nwrite_files:\n  - path: /etc/a\n    content: a\n  - path: /etc/b\n    encoding: base64\n    content: '%%%'\n")
        let result = try await run(["-from-file", file])
        #expect(result.status == 1)
        #expect(result.stderr.contains("line 8: error: content cannot be decoded as \"base64\" (column 5)"))
        #expect(result.stderr.contains("nothing was changed"))
        #expect(try tree() == before)
        // -ignore-failure: the same refusal, exit 0.
        #expect(try await run(["-from-file", file, "-ignore-failure"]).status == 0)
        #expect(try tree() == before)
    }

    @Test func applyThenDryRunSaysNothingToDo() async throws {
        let file = try userData("#cloud-config\nhostname: node7\nwrite_files:\n  - path: /etc/motd\n    content: hi\n")
        let dryRun = try await run(["-from-file", file, "-dry-run"])
        #expect(dryRun.status == 0)
        #expect(dryRun.stdout.contains("* create /etc/motd mode 0644\n--- /dev/null\n+++ /etc/motd\n@@ -0,0 +1 @@\n+hi\n"))
        #expect(!FileManager.default.fileExists(atPath: root + "/etc/motd"))

        let applied = try await run(["-from-file", file])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try String(contentsOfFile: root + "/etc/hostname", encoding: .utf8) == "node7\n")
        let result = try String(contentsOfFile: root + "/var/lib/cloud-init/result.json", encoding: .utf8)
        #expect(result.contains("\"instance_id\":\"0123456789abcdef0123456789abcdef\""))
        #expect(FileManager.default.fileExists(atPath: root + "/var/lib/cloud-init/instances/0123456789abcdef0123456789abcdef/done"))

        let again = try await run(["-from-file", file, "-dry-run"])
        #expect(again.stdout == "nothing to do\n")
    }

    @Test func ignitionAndEmptyAndScripts() async throws {
        let ignition = try await run(["-from-file", try userData(#"{"ignition": {"version": "3.0.0"}}"#)])
        #expect(ignition.status == 0 && ignition.stdout == "Detected an Ignition config. Exiting...\n")
        let empty = try await run(["-from-file", try userData(""), "-dry-run"])
        #expect(empty.status == 0 && empty.stdout == "nothing to do\n")
        let script = try await run(["-from-file", try userData("#!/bin/sh\necho hi\n"), "-dry-run"])
        #expect(script.status == 0)
        #expect(script.stdout.contains("* run /var/lib/cloud-init/instances/0123456789abcdef0123456789abcdef/user-data as coreos-cloudinit-user-data.service"))
        #expect(script.stdout.contains("(content not shown: secret)"))
    }

    @Test func multipartPartsByTheirTypes() async throws {
        let file = try userData("""
            Content-Type: multipart/mixed; boundary="XYZ"
            MIME-Version: 1.0

            --XYZ
            Content-Type: text/cloud-config

            hostname: from-mime
            --XYZ
            Content-Type: text/x-shellscript

            echo one
            --XYZ
            Content-Type: text/plain

            #!/bin/sh
            echo two
            --XYZ--

            """)
        let result = try await run(["-from-file", file, "-dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("+from-mime\n"))
        let instance = "/var/lib/cloud-init/instances/0123456789abcdef0123456789abcdef"
        #expect(result.stdout.contains("* run \(instance)/user-data-1 as coreos-cloudinit-user-data-1.service"))
        #expect(result.stdout.contains("* run \(instance)/user-data-2 as coreos-cloudinit-user-data-2.service"))

        // A finding in a part is placed on the line of the whole text.
        let bad = try userData("Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/cloud-config\n\nhostnme: x\n--B--\n")
        let report = try await run(["-from-file", bad, "-validate"])
        #expect(report.status == 1)
        #expect(report.stdout.hasPrefix("line 6: warning: unrecognized key \"hostnme\""))
    }

    @Test func usageErrors() async throws {
        let help = try await run(["--help"])
        #expect(help.status == 0 && help.stdout.hasPrefix("usage: cloud-init [flags]\n") && help.stdout.contains("-from-configdrive DIR"))
        let none = try await run([])
        #expect(none.status == 2 && none.stdout.hasPrefix("Provide at least one of"))
        let unknown = try await run(["-from-nowhere", "x"])
        #expect(unknown.status == 2 && unknown.stderr.hasPrefix("cloud-init: flag provided but not defined: -from-nowhere"))
        let missing = try await run(["-from-file"])
        #expect(missing.status == 2 && missing.stderr.contains("flag needs an argument: -from-file"))
        let oem = try await run(["-oem", "nimbus"])
        #expect(oem.status == 2 && oem.stderr.contains("Invalid option to -oem: \"nimbus\""))
    }
}
