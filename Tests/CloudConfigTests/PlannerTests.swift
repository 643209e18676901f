import CloudConfig
import Testing

/// The planner on hand-made snapshots: what it plans, and that a system
/// already in the configured state gets no steps.
struct PlannerTests {
    static func config(_ text: String) throws -> CloudConfig {
        let (report, document) = Validator.validate(Array(("#cloud-config\n" + text).utf8))
        #expect(!report.blocksApply, "\(report.text)")
        return CloudConfig(document: try #require(document))
    }

    static func plan(_ text: String, _ snapshot: SystemSnapshot = SystemSnapshot(), firstRun: Bool = true,
                     environment: [CloudConfig.Variable] = []) throws -> Plan {
        let input = PlanInput(config: try config(text), environment: environment, instanceID: "i-1", firstRunOfInstance: firstRun)
        return Planner.plan(input, snapshot: snapshot)
    }

    @Test func hostnameAndFilesThenNothingTheSecondTime() throws {
        let text = """
            hostname: node1
            write_files:
              - path: /etc/motd
                content: hello
                permissions: '0600'
            """
        let first = try Self.plan(text)
        #expect(first.steps.map(\.summary) == ["create /etc/hostname mode 0644", "create /etc/motd mode 0600"])
        guard case let .writeFile(motd) = first.steps[1] else { Issue.record("not a write"); return }
        #expect(motd.content == Array("hello".utf8))
        #expect(motd.secret)
        let second = try Self.plan(text, SystemSnapshot().after(first))
        #expect(second.steps.isEmpty)
    }

    @Test func aChangedModeIsRewritten() throws {
        var snapshot = SystemSnapshot()
        snapshot.files["/etc/motd"] = .regular(content: Array("hello".utf8), mode: 0o644, uid: 0, gid: 0)
        let plan = try Self.plan("write_files:\n  - path: /etc/motd\n    content: hello\n    permissions: '0600'\n", snapshot)
        #expect(plan.steps.map(\.summary) == ["rewrite /etc/motd mode 0600"])
    }

    @Test func usersOncePerInstance() throws {
        let text = "users:\n  - name: alice\n    passwd: $6$x$y\n    groups: [wheel]\n    ssh_authorized_keys: [ssh-ed25519 AAAA alice]\n"
        var snapshot = SystemSnapshot()
        snapshot.accounts.groups["wheel"] = 10
        let first = try Self.plan(text, snapshot)
        #expect(first.steps.map(\.summary) == [
            "create user alice (groups wheel; password hash not shown)",
            "create directory /home/alice/.ssh mode 0700",
            "create /home/alice/.ssh/authorized_keys mode 0600",
        ])
        #expect(!first.description.contains("$6$"))
        let later = try Self.plan(text, snapshot.after(first), firstRun: false)
        #expect(later.steps.isEmpty)
    }

    @Test func unknownGroupsAndOwnersStopThePlan() throws {
        let plan = try Self.plan("""
            users:
              - name: bob
                groups: [nosuch]
            write_files:
              - path: /etc/a
                owner: carol:bob
            """)
        #expect(plan.report.diagnostics.map(\.text) == [
            "line 3: error: group \"nosuch\" of user \"bob\" does not exist (column 5)",
            "line 6: error: owner \"carol:bob\" names an unknown user \"carol\" (column 5)",
        ])
        #expect(plan.report.blocksApply)
    }

    @Test func unitsWriteEnableReloadOnceThenCommandInOrder() throws {
        let text = """
            coreos:
              units:
                - name: a.service
                  content: "[Service]\\nExecStart=/bin/true\\n"
                  enable: true
                  command: start
                - name: b.service
                  command: restart
                  drop_ins:
                    - name: 10-x.conf
                      content: "[Service]\\nNice=5\\n"
                - name: c.service
                  mask: true
            """
        let first = try Self.plan(text)
        #expect(first.steps.map(\.summary) == [
            "create /etc/systemd/system/a.service mode 0644",
            "enable a.service",
            "create /etc/systemd/system/b.service.d/10-x.conf mode 0644",
            "mask /etc/systemd/system/c.service (link to /dev/null)",
            "reload systemd",
            "start a.service",
            "restart b.service",
        ])
        // Nothing changed and a.service runs: no reload, no restart.
        let second = try Self.plan(text, SystemSnapshot().after(first), firstRun: false)
        #expect(second.steps.isEmpty)
    }

    @Test func enableOnlyWhatIsNotEnabledAsAsked() throws {
        let text = "coreos:\n  units:\n    - name: a.service\n      enable: true\n    - name: b.service\n      enable: true\n      runtime: true\n"
        func steps(_ a: String?, _ b: String?) throws -> [String] {
            var snapshot = SystemSnapshot()
            snapshot.units = ["a.service": UnitState(activeState: "inactive", fileState: a), "b.service": UnitState(activeState: "inactive", fileState: b)]
            return try Self.plan(text, snapshot, firstRun: false).steps.map(\.summary)
        }
        #expect(try steps("enabled", "enabled-runtime") == [])
        #expect(try steps("static", "enabled") == [])
        #expect(try steps("enabled-runtime", "disabled") == ["enable a.service", "enable b.service (runtime)"])
        #expect(try steps(nil, "masked") == ["enable a.service", "enable b.service (runtime)"])
    }

    @Test func updateRewritesItsKeysInPlaceAndRestartsTheAgents() throws {
        var snapshot = SystemSnapshot()
        snapshot.files["/usr/share/corebox/update.conf"] = .regular(content: Array("GROUP=stable\n# keep\nSERVER=https://a/\n".utf8), mode: 0o644, uid: 0, gid: 0)
        let plan = try Self.plan("coreos:\n  update:\n    group: beta\n    reboot-strategy: off\n", snapshot)
        guard case let .writeFile(file) = plan.steps.first else { Issue.record("no write"); return }
        #expect(file.path == "/etc/corebox/update.conf")
        #expect(String(decoding: file.content, as: UTF8.self) == "GROUP=beta\n# keep\nSERVER=https://a/\nREBOOT_STRATEGY=off\n")
        #expect(plan.steps.dropFirst().map(\.summary) == [
            "mask /run/systemd/system/locksmithd.service (link to /dev/null)",
            "reload systemd",
            "stop locksmithd.service",
            "restart update-agent.service",
        ])
    }

    @Test func serviceSectionsBecomeRuntimeDropIns() throws {
        let plan = try Self.plan("coreos:\n  locksmith:\n    window_start: Thu 04:00\n    window_length: 1h\n    etcd_password: s3cret\n")
        guard case let .writeFile(file) = plan.steps.first else { Issue.record("no write"); return }
        #expect(file.path == "/run/systemd/system/locksmithd.service.d/20-cloudinit.conf")
        #expect(String(decoding: file.content, as: UTF8.self) == """
            [Service]
            Environment="LOCKSMITHD_ETCD_PASSWORD=s3cret"
            Environment="REBOOT_WINDOW_START=Thu 04:00"
            Environment="REBOOT_WINDOW_LENGTH=1h"

            """)
        #expect(file.secret)
        #expect(!plan.description.contains("s3cret"))
    }

    @Test func environmentKeepsOtherLinesAndReplacesItsOwn() throws {
        var snapshot = SystemSnapshot()
        snapshot.files["/etc/environment"] = .regular(content: Array("PATH=/bin\nCOREOS_PUBLIC_IPV4=1.1.1.1".utf8), mode: 0o644, uid: 0, gid: 0)
        let plan = try Self.plan("hostname: a\n", snapshot, environment: [.init(name: "COREOS_PUBLIC_IPV4", value: "2.2.2.2"), .init(name: "COREOS_PRIVATE_IPV4", value: "10.0.0.2")])
        guard case let .writeFile(file) = plan.steps.last else { Issue.record("no write"); return }
        #expect(file.path == "/etc/environment")
        #expect(String(decoding: file.content, as: UTF8.self) == "PATH=/bin\nCOREOS_PUBLIC_IPV4=2.2.2.2\nCOREOS_PRIVATE_IPV4=10.0.0.2\n")
    }
}
