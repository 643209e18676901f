import CloudConfig
import CoreboxCore
import CoreboxSystem
import Glibc
import Logging

/// One run of the applet: fetch, validate, plan, apply, record.
struct Run {
    let options: Options
    let layout: Layout
    let environment: [String: String]
    let logger: Logger

    /// User-data made ready for planning: the cloud-config parts merged and
    /// the scripts, or the report that stops everything.
    struct UserData {
        var config = CloudConfig()
        var scripts: [[UInt8]] = []
        var report = Report()
        var ignition = false
    }

    func main(_ sources: [any Datasource]) -> Int32 {
        guard let source = selectDatasource(sources) else {
            Console.error("No datasources available in time\n")
            return 1
        }
        logger.info("Fetching user-data from datasource of type \"\(source.kind)\"")
        var failure = false
        var bytes: [UInt8]
        do {
            bytes = try source.fetchUserData()
            if UserDataKind.isGzip(bytes) { bytes = try Gzip.inflate(bytes) }
        } catch {
            Console.error("Failed fetching user-data from datasource: \(error)\n")
            if options.validate { return 1 }
            bytes = []
            failure = true
        }

        if options.validate {
            let userData = Self.read(bytes)
            Console.out(options.json ? userData.report.json : userData.report.text)
            return userData.report.isEmpty ? 0 : 1
        }

        let metadata: Metadata
        do {
            metadata = try source.fetchMetadata()
        } catch {
            Console.error("Failed fetching meta-data from datasource: \(error)\n")
            return 1
        }
        let substitutions = Substitutions(metadata: metadata, environment: environment)
        var userData = Self.read(Array(substitutions.apply(to: String(decoding: bytes, as: UTF8.self)).utf8))
        if userData.ignition {
            Console.out("Detected an Ignition config. Exiting...\n")
            return 0
        }
        if userData.report.blocksApply {
            Console.error(userData.report.text + "cloud-init: the user-data has errors; nothing was changed\n")
            return options.ignoreFailure ? 0 : 1
        }
        for diagnostic in userData.report.diagnostics { logger.warning("\(diagnostic.text)") }
        Self.merge(metadata, into: &userData.config, logger: logger)

        let instanceID = metadata.instanceID ?? machineID() ?? "default"
        let instanceDirectory = layout.cloudInitState + "/instances/" + Self.fileName(instanceID)
        let firstRun = (try? Files.readIfPresent(instanceDirectory + "/done")) == nil
        let input = PlanInput(
            config: userData.config, environment: substitutions.environmentVariables.map { .init(name: $0.name, value: $0.value) },
            scripts: userData.scripts, instanceID: Self.fileName(instanceID), firstRunOfInstance: firstRun)
        let systemd = layout.root.isEmpty ? try? SystemdManager(bus: Bus.system()) : nil

        let plan: Plan
        do {
            plan = Planner.plan(input, snapshot: try SnapshotReader.read(input, layout: layout, systemd: systemd))
        } catch {
            Console.error("cloud-init: cannot read the system: \(error)\n")
            return 1
        }
        if plan.report.blocksApply {
            Console.error(plan.report.text + "cloud-init: the config cannot be applied; nothing was changed\n")
            return options.ignoreFailure ? 0 : 1
        }
        if options.dryRun {
            Console.out(plan.steps.isEmpty ? "nothing to do\n" : plan.description)
            return 0
        }

        let results = Applier(layout: layout, systemd: systemd, unitTimeout: options.unitTimeout).apply(plan.steps)
        for (step, outcome) in results {
            switch outcome {
            case .done: logger.info("\(step.summary)")
            case let .skipped(reason): logger.info("\(step.summary): skipped, \(reason)")
            case let .failed(reason): logger.error("\(step.summary): failed, \(reason)")
            case .notRun: logger.warning("\(step.summary): not run after an earlier failure")
            }
        }
        let failed = results.contains { if case .failed = $0.outcome { true } else { false } }
        do {
            try record(results, source: source, instanceID: instanceID, directory: instanceDirectory, complete: !failed)
        } catch {
            Console.error("cloud-init: cannot record the result: \(error)\n")
            return 1
        }
        if failed { Console.error("cloud-init: some steps failed; see \(layout.cloudInitState)/result.json\n") }
        return (failed || failure) && !options.ignoreFailure ? 1 : 0
    }

    /// Classifies user-data and reads every cloud-config part of it.
    static func read(_ bytes: [UInt8]) -> UserData {
        var userData = UserData()
        let parts: [MultipartUserData.Part]
        if MultipartUserData.isMultipart(bytes) {
            do {
                parts = try MultipartUserData.parts(bytes)
            } catch {
                userData.report = Report([Diagnostic(.error, error.message, at: .init(line: error.line ?? 1, column: 1))])
                return userData
            }
        } else {
            parts = [MultipartUserData.Part(contentType: "text/plain", body: bytes, line: 1)]
        }
        var diagnostics: [Diagnostic] = []
        for part in parts {
            let (body, line) = (part.body, part.line)
            // A part's declared type counts; a plain one is told by its first line.
            let declared: UserDataKind? = switch part.contentType {
            case "text/cloud-config": .cloudConfig
            case "text/x-shellscript": .script
            default: nil
            }
            switch declared ?? (try? UserDataKind.of(body)) {
            case .empty?: continue
            case .script?: userData.scripts.append(body)
            case .ignition?: userData.ignition = true
            case .cloudConfig?:
                let (report, document) = Validator.validate(body)
                // A part's lines count from where the part starts.
                diagnostics += report.diagnostics.map { var moved = $0; moved.mark.line += line - 1; return moved }
                if let document, !report.blocksApply { userData.config.merge(CloudConfig(document: document)) }
            case nil:
                diagnostics.append(Diagnostic(.error, "must be \"#cloud-config\" or begin with \"#!\"", at: .init(line: line, column: 1)))
            }
        }
        userData.report = Report(diagnostics)
        return userData
    }

    /// coreos-cloudinit's merge: the metadata's host name unless user-data
    /// has one, its keys added to the core user's.
    static func merge(_ metadata: Metadata, into config: inout CloudConfig, logger: Logger) {
        if let hostname = metadata.hostname, !hostname.isEmpty {
            if let own = config.hostname {
                logger.warning("user-data hostname (\(own)) overrides metadata hostname (\(hostname))")
            } else {
                config.hostname = hostname
            }
        }
        config.sshAuthorizedKeys += metadata.sshPublicKeys
    }

    func machineID() -> String? {
        guard let bytes = try? Files.readIfPresent(layout.path("/etc/machine-id")) else { return nil }
        let id = String(decoding: bytes, as: UTF8.self).trimmingWhiteSpace
        return id.isEmpty ? nil : id
    }

    /// An instance id as one path component.
    static func fileName(_ id: String) -> String {
        let safe = String(id.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        return safe.isEmpty || safe.hasPrefix(".") ? "_" + safe : safe
    }

    /// The result file of this instance (and the latest one), and on
    /// success the mark that its once-per-instance steps are done.
    func record(_ results: [(step: Step, outcome: StepOutcome)], source: any Datasource, instanceID: String,
                directory: String, complete: Bool) throws(SystemError) {
        let entries = results.map { step, outcome in
            let (word, detail): (String, String?) = switch outcome {
            case .done: ("done", nil)
            case let .failed(reason): ("failed", reason)
            case let .skipped(reason): ("skipped", reason)
            case .notRun: ("not-run", nil)
            }
            return "{\"step\":" + JSONString.quoted(step.summary) + ",\"outcome\":\"\(word)\""
                + (detail.map { ",\"detail\":" + JSONString.quoted($0) } ?? "") + "}"
        }
        let json = "{\"instance_id\":" + JSONString.quoted(instanceID) + ",\"datasource\":" + JSONString.quoted(source.kind)
            + ",\"steps\":[" + entries.joined(separator: ",") + "]}\n"
        try Files.makeDirectories(directory, mode: 0o700)
        // The instance keeps the record of the run that changed something;
        // result.json beside the instances is always the latest run.
        if !results.isEmpty { try Files.writeAtomically(directory + "/result.json", Array(json.utf8), mode: 0o600) }
        try Files.writeAtomically(layout.cloudInitState + "/result.json", Array(json.utf8), mode: 0o600)
        if complete { try Files.writeAtomically(directory + "/done", [], mode: 0o600) }
    }
}
