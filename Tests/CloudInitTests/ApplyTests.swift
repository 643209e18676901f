import CloudConfig
@testable import CloudInit
import CoreboxCore
import Foundation
import Testing
import TestSupport

/// Plans applied for real to a prepared root (the Layout prefix), with the
/// real useradd; no systemd runs here, so its steps are skipped (the D-Bus
/// side is SystemdApplyTests', the booted side the VM test's).
@Suite(.serialized)
struct ApplyTests {
    let root: TemporaryDirectory
    var layout: Layout { Layout(root: root.path) }

    init() throws {
        root = try TemporaryDirectory.preparedRoot()
    }

    static let config = """
        #cloud-config
        hostname: node1
        users:
          - name: ada
            passwd: $6$salt$hashhashhash
            groups: [wheel]
            ssh_authorized_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAda ada@example]
        ssh_authorized_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICore core@example]
        write_files:
          - path: /etc/motd
            content: "hello\\n"
            owner: ada:wheel
          - path: /etc/secret/token
            encoding: gzip+base64
            content: H4sIAAAAAAAAAytOzS5KLVHkAgAuXRhMCAAAAA==
            permissions: '0600'
        coreos:
          update:
            group: beta
          locksmith:
            window_start: "Sun 03:00"
          units:
            - name: hello.service
              content: |
                [Service]
                ExecStart=/bin/true
              command: start
        """

    func plan(_ text: String, firstRun: Bool) throws -> Plan {
        let (report, document) = Validator.validate(Array(text.utf8))
        #expect(!report.blocksApply, "\(report.text)")
        let input = PlanInput(config: CloudConfig(document: try #require(document)), instanceID: "i-1", firstRunOfInstance: firstRun)
        return Planner.plan(input, snapshot: try SnapshotReader.read(input, layout: layout, systemd: nil))
    }

    func apply(_ plan: Plan) -> [(step: Step, outcome: StepOutcome)] {
        Applier(layout: layout, systemd: nil).apply(plan.steps)
    }

    func file(_ path: String) throws -> (content: String, mode: Int, uid: Int, gid: Int, inode: Int, modified: Date) {
        let full = root.path + path
        let attributes = try FileManager.default.attributesOfItem(atPath: full)
        return (
            try String(contentsOfFile: full, encoding: .utf8),
            (attributes[.posixPermissions] as? Int) ?? -1,
            (attributes[.ownerAccountID] as? Int) ?? -1,
            (attributes[.groupOwnerAccountID] as? Int) ?? -1,
            (attributes[.systemFileNumber] as? Int) ?? -1,
            (attributes[.modificationDate] as? Date) ?? .distantPast
        )
    }

    func mode(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: root.path + path)[.posixPermissions] as? Int ?? -1
    }

    @Test func everyFileByteForByteWithItsOwnerAndMode() throws {
        let results = apply(try plan(Self.config, firstRun: true))
        #expect(!results.contains { if case .failed = $0.outcome { true } else { false } }, "\(results)")

        let passwd = try String(contentsOfFile: root.path + "/etc/passwd", encoding: .utf8)
        let ada = try #require(passwd.split(separator: "\n").first { $0.hasPrefix("ada:") }).split(separator: ":")
        let (uid, gid) = (Int(ada[2])!, Int(ada[3])!)
        #expect(try String(contentsOfFile: root.path + "/etc/group", encoding: .utf8).contains("wheel:x:10:ada"))
        #expect(try String(contentsOfFile: root.path + "/etc/shadow", encoding: .utf8).contains("ada:$6$salt$hashhashhash:"))

        let hostname = try file("/etc/hostname")
        #expect(hostname.content == "node1\n" && hostname.mode == 0o644 && hostname.uid == 0)
        let motd = try file("/etc/motd")
        #expect(motd.content == "hello\n" && motd.mode == 0o644 && motd.uid == uid && motd.gid == 10)
        let token = try file("/etc/secret/token")
        #expect(token.content == "sekret!\n" && token.mode == 0o600 && token.uid == 0)
        #expect(try mode("/etc/secret") == 0o755)
        let adaKeys = try file("/home/ada/.ssh/authorized_keys")
        #expect(adaKeys.content == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAda ada@example\n")
        #expect(adaKeys.mode == 0o600 && adaKeys.uid == uid && adaKeys.gid == gid)
        #expect(try mode("/home/ada/.ssh") == 0o700)
        let coreKeys = try file("/home/core/.ssh/authorized_keys")
        #expect(coreKeys.content == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICore core@example\n" && coreKeys.uid == 500 && coreKeys.gid == 500)
        #expect(try file("/etc/corebox/update.conf").content == "GROUP=beta\nSERVER=https://update.example/\n")
        #expect(try file("/run/systemd/system/locksmithd.service.d/20-cloudinit.conf").content
            == "[Service]\nEnvironment=\"REBOOT_WINDOW_START=Sun 03:00\"\n")
        #expect(try file("/etc/systemd/system/hello.service").content == "[Service]\nExecStart=/bin/true\n")
        // Without systemd its steps are skipped, not failed.
        #expect(results.filter { if case .skipped = $0.outcome { true } else { false } }.map(\.step.summary)
            == ["reload systemd", "start hello.service", "restart update-agent.service"])
    }

    @Test func theSecondApplyChangesNothing() throws {
        _ = apply(try plan(Self.config, firstRun: true))
        let paths = ["/etc/hostname", "/etc/motd", "/etc/secret/token", "/etc/passwd", "/etc/shadow", "/etc/group",
                     "/home/ada/.ssh/authorized_keys", "/home/core/.ssh/authorized_keys", "/etc/corebox/update.conf",
                     "/etc/systemd/system/hello.service", "/run/systemd/system/locksmithd.service.d/20-cloudinit.conf"]
        let before = try paths.map { try file($0) }
        let second = try plan(Self.config, firstRun: false)
        // Only the start remains: with no systemd to ask, the unit's state is unknown.
        #expect(second.steps == [.unitCommand(unit: "hello.service", command: "start")])
        _ = apply(second)
        let after = try paths.map { try file($0) }
        for (path, (old, new)) in zip(paths, zip(before, after)) {
            #expect(old.content == new.content && old.inode == new.inode && old.modified == new.modified, "\(path) changed")
        }
    }

    @Test func aFailedFileStopsTheStepsAfterIt() throws {
        try root.write("etc/blocker", "a file where a directory is needed\n")
        let results = apply(try plan("#cloud-config\nwrite_files:\n  - path: /etc/blocker/x\n    content: a\n  - path: /etc/later\n    content: b\n", firstRun: true))
        #expect(results.count == 2)
        guard case .failed = results[0].outcome else { Issue.record("\(results[0])"); return }
        #expect(results[1].outcome == .notRun)
        #expect(!FileManager.default.fileExists(atPath: root.path + "/etc/later"))
    }
}
