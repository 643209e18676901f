import CloudConfig
@testable import CloudInit
import CoreboxCore
import CoreboxSystem
import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport

private typealias Call = FakeSystemd.Call

private let replace = BusValue.string("replace")

/// What the fake's observer saw, shared with its server thread.
private final class Seen: Sendable {
    let file = Mutex<(content: [UInt8], mode: mode_t)?>(nil)
}

private func job(_ method: String, _ unit: String) -> Call {
    Call(method, [.string(unit), replace])
}

/// The snapshot reader and the Applier against systemd's D-Bus API, on a
/// prepared temporary root (as ApplyTests). TestSupport's FakeSystemd
/// stands in for systemd on a private bus, because no systemd is PID 1
/// where these tests run; the VM test covers the real one. The fake records
/// every call, so these tests check what cloud-init asks of systemd and in
/// which order, and what it makes of the answers.
@Suite(.serialized)
struct SystemdApplyTests {
    let root: TemporaryDirectory
    var layout: Layout { Layout(root: root.path) }

    init() throws {
        root = try TemporaryDirectory.preparedRoot()
    }

    /// A unit with content, enable and a start; a drop-in and a restart; a
    /// mask; a runtime unit with a start.
    static let units = """
        #cloud-config
        coreos:
          units:
            - name: a.service
              content: |
                [Service]
                ExecStart=/bin/true
                [Install]
                WantedBy=multi-user.target
              enable: true
              command: start
            - name: b.service
              drop_ins:
                - name: 10-env.conf
                  content: |
                    [Service]
                    Environment=LEVEL=2
              command: restart
            - name: c.service
              mask: true
            - name: d.service
              runtime: true
              content: |
                [Service]
                ExecStart=/bin/sleep 1
              command: start
        """

    func plan(_ text: String, firstRun: Bool, systemd: SystemdManager) throws -> Plan {
        let (report, document) = Validator.validate(Array(text.utf8))
        #expect(!report.blocksApply, "\(report.text)")
        return try plan(PlanInput(config: CloudConfig(document: try #require(document)), instanceID: "i-1", firstRunOfInstance: firstRun), systemd: systemd)
    }

    func plan(_ input: PlanInput, systemd: SystemdManager) throws -> Plan {
        let plan = Planner.plan(input, snapshot: try SnapshotReader.read(input, layout: layout, systemd: systemd))
        #expect(!plan.report.blocksApply, "\(plan.report.text)")
        return plan
    }

    func apply(_ plan: Plan, systemd: SystemdManager, unitTimeout: Duration = .seconds(30)) -> [(step: Step, outcome: StepOutcome)] {
        Applier(layout: layout, systemd: systemd, unitTimeout: unitTimeout).apply(plan.steps)
    }

    func outcome(of step: Step, in results: [(step: Step, outcome: StepOutcome)]) -> StepOutcome? {
        results.first { $0.step == step }?.outcome
    }

    @Test func enableThenOneReloadThenTheCommandsInConfigOrder() throws {
        let fake = FakeSystemd(endings: ["a.service": .beforeReply(result: "done"), "b.service": .beforeReply(result: "done"),
                                         "d.service": .later(.milliseconds(50), result: "done")])
        let (planned, results, snapshotCalls, applyCalls) = try withFakeSystemd(fake) { _, systemd throws in
            let plan = try plan(Self.units, firstRun: true, systemd: systemd)
            let asked = fake.calls
            let results = apply(plan, systemd: systemd)
            return (plan.steps.map(\.summary), results, asked, Array(fake.calls.dropFirst(asked.count)))
        }
        // Nothing loaded, no unit files yet: every unit is asked about, and
        // the answers (NoSuchUnit, FileNotFound) mean "inactive, not enabled".
        #expect(snapshotCalls == ["a.service", "b.service", "c.service", "d.service"].flatMap {
            [Call("GetUnit", [.string($0)]), Call("GetUnitFileState", [.string($0)])]
        })
        #expect(planned == [
            "create /etc/systemd/system/a.service mode 0644", "enable a.service",
            "create /etc/systemd/system/b.service.d/10-env.conf mode 0644",
            "mask /etc/systemd/system/c.service (link to /dev/null)",
            "create /run/systemd/system/d.service mode 0644",
            "reload systemd", "start a.service", "restart b.service", "start d.service",
        ])
        #expect(applyCalls == [
            Call("EnableUnitFiles", [.array(elementSignature: "s", [.string("a.service")]), .bool(false), .bool(true)]),
            Call("Reload"),
            Call("Subscribe"),
            job("StartUnit", "a.service"), job("RestartUnit", "b.service"), job("StartUnit", "d.service"),
        ])
        #expect(results.map(\.outcome) == Array(repeating: .done, count: 9), "\(results)")

        // The files systemd reloads were in place before it did.
        let system = root.path + "/etc/systemd/system/"
        #expect(try String(contentsOfFile: system + "a.service", encoding: .utf8) == "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n")
        #expect(try String(contentsOfFile: system + "b.service.d/10-env.conf", encoding: .utf8) == "[Service]\nEnvironment=LEVEL=2\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: system + "c.service") == "/dev/null")
        #expect(try String(contentsOfFile: root.path + "/run/systemd/system/d.service", encoding: .utf8) == "[Service]\nExecStart=/bin/sleep 1\n")
    }

    @Test func aJobThatNeverEndsFailsAtTheUnitTimeoutAndTheNextCommandStillRuns() throws {
        let config = """
            #cloud-config
            coreos:
              units:
                - name: stuck.service
                  command: start
                - name: next.service
                  command: restart
            """
        let fake = FakeSystemd(endings: ["stuck.service": .never, "next.service": .beforeReply(result: "done")])
        let (results, calls) = try withFakeSystemd(fake) { _, systemd throws in
            let plan = try plan(config, firstRun: true, systemd: systemd)
            let asked = fake.calls.count
            return (apply(plan, systemd: systemd, unitTimeout: .milliseconds(300)), Array(fake.calls.dropFirst(asked)))
        }
        #expect(results.map(\.step) == [.unitCommand(unit: "stuck.service", command: "start"), .unitCommand(unit: "next.service", command: "restart")])
        #expect(results.map(\.outcome) == [.failed("no result within the unit timeout"), .done])
        #expect(calls == [Call("Subscribe"), job("StartUnit", "stuck.service"), job("RestartUnit", "next.service")])
    }

    @Test func aFailedJobIsRecordedAndTheLaterCommandsStillRun() throws {
        let config = """
            #cloud-config
            coreos:
              units:
                - name: first.service
                  command: start
                - name: broken.service
                  command: start
                - name: late.service
                  command: stop
                - name: last.service
                  command: reload
            """
        let fake = FakeSystemd(
            endings: ["first.service": .beforeReply(result: "done"), "broken.service": .beforeReply(result: "failed"),
                      "late.service": .later(.milliseconds(50), result: "done"), "last.service": .beforeReply(result: "done")],
            // Running, so its stop is due.
            activeStates: ["late.service": "active"])
        let (results, calls) = try withFakeSystemd(fake) { _, systemd throws in
            let plan = try plan(config, firstRun: true, systemd: systemd)
            let asked = fake.calls.count
            return (apply(plan, systemd: systemd), Array(fake.calls.dropFirst(asked)))
        }
        #expect(results.map(\.step.summary) == ["start first.service", "start broken.service", "stop late.service", "reload last.service"])
        #expect(results.map(\.outcome) == [.done, .failed("job failed"), .done, .done])
        #expect(calls == [
            Call("Subscribe"), job("StartUnit", "first.service"), job("StartUnit", "broken.service"),
            job("StopUnit", "late.service"), job("ReloadUnit", "last.service"),
        ])
    }

    @Test func aSecondRunWithTheUnitsActiveAndEnabledAsksNothingOfSystemd() throws {
        let fake = FakeSystemd(endings: ["a.service": .beforeReply(result: "done"), "b.service": .beforeReply(result: "done"),
                                         "d.service": .beforeReply(result: "done")])
        try withFakeSystemd(fake) { _, systemd throws in
            let first = apply(try plan(Self.units, firstRun: true, systemd: systemd), systemd: systemd)
            #expect(first.allSatisfy { $0.outcome == .done }, "\(first)")
            // What systemd reports after the first run.
            for unit in ["a.service", "b.service", "d.service"] { fake.setActiveState("active", of: unit) }
            fake.setFileState("enabled", of: "a.service")
            fake.setFileState("static", of: "b.service")
            fake.setFileState("masked", of: "c.service")
            fake.setFileState("static", of: "d.service")

            let asked = fake.calls.count
            let second = try plan(Self.units, firstRun: false, systemd: systemd)
            #expect(second.steps == [], "\(second.steps.map(\.summary))")
            let property = [BusValue.string("org.freedesktop.systemd1.Unit"), .string("ActiveState")]
            var expected: [Call] = []
            for unit in ["a.service", "b.service", "c.service", "d.service"] {
                expected.append(Call("GetUnit", [.string(unit)]))
                // c.service is masked, not loaded: GetUnit's NoSuchUnit already says inactive.
                if unit != "c.service" { expected.append(Call("Get", property)) }
                expected.append(Call("GetUnitFileState", [.string(unit)]))
            }
            #expect(Array(fake.calls.dropFirst(asked)) == expected)
            let afterPlan = fake.calls.count
            #expect(apply(second, systemd: systemd).isEmpty)
            #expect(fake.calls.count == afterPlan)

            // The file state is what decides: the same unit, active but disabled, is enabled again, and only that.
            fake.setFileState("disabled", of: "a.service")
            let third = try plan(Self.units, firstRun: false, systemd: systemd)
            #expect(third.steps == [.enable(unit: "a.service", runtime: false)])
            let beforeThird = fake.calls.count
            #expect(apply(third, systemd: systemd).map(\.outcome) == [.done])
            #expect(Array(fake.calls.dropFirst(beforeThird)) == [
                Call("EnableUnitFiles", [.array(elementSignature: "s", [.string("a.service")]), .bool(false), .bool(true)]),
            ])
        }
    }

    @Test func aUserDataScriptIsWrittenPrivateThenStartedAsATransientService() throws {
        let script = Array("#!/bin/bash\necho provisioned > /tmp/marker\n".utf8)
        let path = "/var/lib/cloud-init/instances/i-1/user-data"
        let unit = "coreos-cloudinit-user-data.service"
        // What the script file was when systemd was asked to run it.
        let seen = Seen()
        let full = root.path + path
        let fake = FakeSystemd(endings: [unit: .beforeReply(result: "done")]) { call in
            guard call.member == "StartTransientUnit" else { return }
            var status = stat()
            guard lstat(full, &status) == 0, let content = FileManager.default.contents(atPath: full) else { return }
            seen.file.withLock { $0 = (Array(content), status.st_mode & 0o7777) }
        }
        let (steps, results, calls) = try withFakeSystemd(fake) { _, systemd throws in
            // User-data that is only a script: no cloud-config beside it.
            let plan = try plan(PlanInput(config: CloudConfig(), scripts: [script], instanceID: "i-1", firstRunOfInstance: true), systemd: systemd)
            let asked = fake.calls.count
            return (plan.steps, apply(plan, systemd: systemd), Array(fake.calls.dropFirst(asked)))
        }
        #expect(steps.map(\.summary) == ["create \(path) mode 0700", "run \(path) as \(unit)"])
        #expect(results.map(\.outcome) == [.done, .done])
        let written = try #require(seen.file.withLock { $0 }, "the script was not in place when StartTransientUnit came")
        #expect(written.content == script && written.mode == 0o700)

        let execStart = BusValue.array(elementSignature: "(sasb)", [.structure([
            .string("/bin/bash"), .array(elementSignature: "s", [.string("/bin/bash"), .string(path)]), .bool(false),
        ])])
        #expect(calls == [
            Call("Subscribe"),
            Call("StartTransientUnit", [
                .string(unit), replace,
                .array(elementSignature: "(sv)", [
                    .structure([.string("Description"), .variant(.string("Unit generated and executed by cloud-init on behalf of user"))]),
                    .structure([.string("ExecStart"), .variant(execStart)]),
                ]),
                .array(elementSignature: "(sa(sv))", []),
            ]),
        ])
    }
}
