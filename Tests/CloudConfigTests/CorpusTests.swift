import CloudConfig
import Foundation
import Testing

/// The corpus: user-data written from coreos-cloudinit's documented
/// behaviour (Tests/CloudConfigTests/Corpus). For each `NAME.yaml`,
/// `NAME.report` is the expected report (`Report.text` of the validator's
/// and the planner's findings by place, empty when clean) and, when nothing
/// in it blocks the apply, `NAME.plan` the expected dry run
/// (`Plan.description`) against `CorpusTests.base`.
///
/// Setting `CORPUS_ACTUAL_DIR` writes what we produce there (never over
/// the golden files), for reviewing a change line by line.
struct CorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static let names: [String] = {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return entries.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(".yaml".count)) }.sorted()
    }()

    /// The system every plan starts from.
    static let base: SystemSnapshot = {
        var snapshot = SystemSnapshot()
        snapshot.accounts = Accounts(
            passwd: """
                root:x:0:0:root:/root:/bin/bash
                core:x:500:500:CoreOS Admin:/home/core:/bin/bash

                """,
            group: """
                root:x:0:
                wheel:x:10:root,core
                sudo:x:150:core
                docker:x:233:core
                systemd-journal:x:190:core
                core:x:500:

                """,
            shadow: """
                root:*:19000:0:99999:7:::
                core:*:19000:0:99999:7:::

                """)
        snapshot.files["/usr/share/corebox/update.conf"] = .regular(
            content: Array("GROUP=stable\nSERVER=https://update.example/v1/update/\n".utf8), mode: 0o644, uid: 0, gid: 0)
        return snapshot
    }()

    static let notUserData = "line 1: error: must be \"#cloud-config\" or begin with \"#!\" (column 1)\n"

    /// What we make of one user-data file: the report, and the plan when
    /// the report does not block it.
    struct Outcome {
        var report: String
        var plan: Plan?
    }

    /// coreos-cloudinit's `Validate`: empty user-data, scripts and Ignition
    /// configs have nothing to report; a cloud-config is validated; anything
    /// else is the one error at line 1.
    static func outcome(of bytes: [UInt8], firstRun: Bool = true, snapshot: SystemSnapshot = base) -> Outcome {
        func planned(_ config: CloudConfig, script: [UInt8]? = nil) -> Plan {
            let input = PlanInput(config: config, scripts: script.map { [$0] } ?? [], instanceID: "iid-corpus", firstRunOfInstance: firstRun)
            return Planner.plan(input, snapshot: snapshot)
        }
        let kind: UserDataKind
        do { kind = try UserDataKind.of(bytes) } catch { return Outcome(report: notUserData) }
        switch kind {
        case .empty, .ignition:
            return Outcome(report: "", plan: planned(CloudConfig()))
        case .script:
            return Outcome(report: "", plan: planned(CloudConfig(), script: bytes))
        case .cloudConfig:
            let (report, document) = Validator.validate(bytes)
            guard !report.blocksApply else { return Outcome(report: report.text) }
            let plan = planned(document.map { CloudConfig(document: $0) } ?? CloudConfig())
            // The planner's findings (unknown groups, owners) join the validator's.
            let all = Report(report.diagnostics + plan.report.diagnostics)
            return Outcome(report: all.text, plan: plan.report.blocksApply ? nil : plan)
        }
    }

    static func read(_ name: String, _ suffix: String) -> String? {
        (try? Data(contentsOf: directory.appendingPathComponent(name + suffix))).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Expected and actual side by side, line by line, where they part.
    static func difference(_ expected: String, _ actual: String) -> String {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [String] = []
        for index in 0..<max(e.count, a.count) {
            let left = index < e.count ? String(e[index]) : nil
            let right = index < a.count ? String(a[index]) : nil
            if left == right { continue }
            out.append("line \(index + 1):")
            out.append("  expected: " + (left.map { "\"\($0)\"" } ?? "(nothing)"))
            out.append("  actual:   " + (right.map { "\"\($0)\"" } ?? "(nothing)"))
        }
        return out.joined(separator: "\n")
    }

    static func writeActual(_ name: String, _ outcome: Outcome) {
        guard let dir = ProcessInfo.processInfo.environment["CORPUS_ACTUAL_DIR"] else { return }
        let url = URL(fileURLWithPath: dir)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try? Data(outcome.report.utf8).write(to: url.appendingPathComponent(name + ".report"))
        if let plan = outcome.plan {
            try? Data(plan.description.utf8).write(to: url.appendingPathComponent(name + ".plan"))
        }
    }

    @Test(arguments: names)
    func golden(_ name: String) throws {
        let bytes = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(name + ".yaml")))
        let outcome = Self.outcome(of: bytes)
        Self.writeActual(name, outcome)
        let compare = {
            let expectedReport = try #require(Self.read(name, ".report"), "\(name).report is missing")
            #expect(outcome.report == expectedReport, "\(name).report differs:\n\(Self.difference(expectedReport, outcome.report))")
            let expectedPlan = Self.read(name, ".plan")
            switch (expectedPlan, outcome.plan) {
            case let (expected?, plan?):
                #expect(plan.description == expected, "\(name).plan differs:\n\(Self.difference(expected, plan.description))")
            case (nil, let plan?):
                Issue.record("\(name).plan is missing; the plan is:\n\(plan.description)")
            case (_?, nil):
                Issue.record("\(name).plan exists, but the report blocks the plan:\n\(outcome.report)")
            case (nil, nil):
                break
            }
        }
        try compare()
    }

    @Test func theCorpusIsLargeAndHasBothKinds() throws {
        #expect(Self.names.count >= 60, "only \(Self.names.count) configs")
        #expect(Self.names.filter { $0.hasPrefix("valid-") }.count >= 20)
        #expect(Self.names.filter { $0.hasPrefix("invalid-") }.count >= 20)
        #expect(Self.names.allSatisfy { $0.hasPrefix("valid-") || $0.hasPrefix("invalid-") })
        for name in Self.names {
            let report = try #require(Self.read(name, ".report"), "\(name).report is missing")
            let hasPlan = Self.read(name, ".plan") != nil
            // An invalid config has something to report and, when it blocks, no plan.
            if name.hasPrefix("valid-") { #expect(hasPlan, "\(name) is valid but has no plan") }
            if name.hasPrefix("invalid-") { #expect(!report.isEmpty, "\(name) is invalid but its report is empty") }
        }
        // Golden files belong to a config.
        let entries = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
        for entry in entries where entry.hasSuffix(".report") || entry.hasSuffix(".plan") {
            let stem = entry.hasSuffix(".plan") ? String(entry.dropLast(5)) : String(entry.dropLast(7))
            #expect(Self.names.contains(stem), "\(entry) has no \(stem).yaml")
        }
    }

    /// Applying a plan, then planning again for the same instance, plans nothing.
    @Test(arguments: names)
    func idempotent(_ name: String) throws {
        let bytes = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(name + ".yaml")))
        let first = Self.outcome(of: bytes)
        guard let plan = first.plan else { return }
        let applied = Self.base.after(plan)
        let second = Self.outcome(of: bytes, firstRun: false, snapshot: applied)
        let steps = try #require(second.plan, "\(name): the second plan is blocked:\n\(second.report)").steps
        #expect(steps.isEmpty, "\(name): the second run plans:\n\(steps.map(\.summary).joined(separator: "\n"))")
    }
}
