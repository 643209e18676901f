import CloudConfig
import CoreboxCore
import CoreboxSystem
import Glibc
import Logging

/// The `cloud-init` applet (alias `coreos-cloudinit`): fetch user-data,
/// validate it whole, plan, then apply (docs/cloud-init.md). Nothing is
/// touched unless the whole config validated and planned.
public enum CloudInitApplet {
    public static func main(_ context: AppletContext) -> Int32 {
        let options: Options
        do {
            options = try Options(context.arguments)
        } catch {
            Console.error("\(context.name): \(error)\n\(Options.usage)")
            return 2
        }
        if options.help {
            Console.out(Options.usage + "\n")
            return 0
        }
        if options.version {
            Console.out("\(context.name) \(Corebox.version)\n")
            return 0
        }
        let sources = options.datasources(context.environment)
        guard !sources.isEmpty else {
            Console.out("Provide at least one of --from-file, --from-configdrive, --from-nocloud, --from-ec2-metadata, --from-url or --from-proc-cmdline\n")
            return 2
        }
        let logger = Logger(label: "cloud-init")
        return Run(options: options, layout: context.layout, environment: context.environment, logger: logger).main(sources)
    }
}

/// coreos-cloudinit's flags, with Go's flag syntax (`-flag`, `--flag`,
/// `-flag=value`, `-flag value`), and ours.
struct Options {
    var version = false
    var help = false
    var ignoreFailure = false
    var validate = false
    var dryRun = false
    var json = false
    var fromFile: String?
    var fromURL: String?
    var fromConfigDrive: String?
    var fromNoCloud: String?
    var fromEC2: String?
    var fromProcCmdline = false
    var unitTimeout: Duration = .seconds(90)

    static let usage = """
        usage: cloud-init [flags]
          -from-file PATH          read user-data from a file
          -from-url URL            fetch user-data (retried; 404 is no user-data)
          -from-configdrive DIR    an OpenStack config drive (openstack/latest)
          -from-nocloud DIR        a NoCloud seed (user-data, meta-data)
          -from-ec2-metadata URL   an EC2 metadata service
          -from-proc-cmdline       cloud-config-url= on the kernel command line
          -validate                report on the user-data, change nothing
          -dry-run                 print the plan (files as diffs), change nothing
          -output text|json        the report's format
          -ignore-failure          exit 0 even if user-data was malformed
          -unit-timeout DURATION   the longest wait for one unit command (90s)
          -workspace DIR           accepted for compatibility; state is in /var/lib/cloud-init
          -ssh-key-name NAME       accepted for compatibility
          -oem ec2-compat          the EC2 metadata service and /media/configdrive
          -version                 print the version
          -help                    print this text
        """

    typealias Invalid = GoFlags.Invalid

    init(_ arguments: [String]) throws(Invalid) {
        let parsed = try GoFlags(
            arguments,
            values: ["from-file", "from-url", "from-configdrive", "from-nocloud", "from-ec2-metadata", "workspace",
                     "ssh-key-name", "output", "unit-timeout", "oem"],
            flags: ["version", "help", "ignore-failure", "validate", "dry-run", "from-proc-cmdline"],
            aliases: ["h": "help"])
        if let argument = parsed.positionals.first { throw Invalid(description: "unexpected argument \"\(argument)\"") }
        version = parsed.flag("version")
        help = parsed.flag("help")
        ignoreFailure = parsed.flag("ignore-failure")
        validate = parsed.flag("validate")
        dryRun = parsed.flag("dry-run")
        fromProcCmdline = parsed.flag("from-proc-cmdline")
        fromFile = parsed.value("from-file")
        fromURL = parsed.value("from-url")
        fromConfigDrive = parsed.value("from-configdrive")
        fromNoCloud = parsed.value("from-nocloud")
        fromEC2 = parsed.value("from-ec2-metadata")
        switch parsed.value("output") {
        case nil, "text"?: json = false
        case "json"?: json = true
        case let other?: throw Invalid(description: "invalid value \"\(other)\" for -output (text or json)")
        }
        if let text = parsed.value("unit-timeout") {
            do {
                unitTimeout = try GoSyntax.parseDuration(text)
            } catch {
                throw Invalid(description: "invalid value \(GoSyntax.quote(text)) for flag -unit-timeout: \(error)")
            }
        }
        if let oem = parsed.value("oem") {
            guard oem == "ec2-compat" else { throw Invalid(description: "Invalid option to -oem: \"\(oem)\". Supported options: [\"ec2-compat\"]") }
            fromEC2 = fromEC2 ?? "http://169.254.169.254/"
            fromConfigDrive = fromConfigDrive ?? "/media/configdrive"
        }
    }

    /// In coreos-cloudinit's order; the first available one is used.
    func datasources(_ environment: [String: String]) -> [any Datasource] {
        var sources: [any Datasource] = []
        if let fromFile { sources.append(FileDatasource(path: fromFile)) }
        if let fromURL { sources.append(URLDatasource(url: fromURL)) }
        if let fromConfigDrive { sources.append(ConfigDriveDatasource(root: fromConfigDrive)) }
        if let fromNoCloud { sources.append(NoCloudDatasource(root: fromNoCloud)) }
        if let fromEC2 { sources.append(EC2Datasource(url: fromEC2)) }
        if fromProcCmdline { sources.append(ProcCmdlineDatasource()) }
        return sources
    }
}
