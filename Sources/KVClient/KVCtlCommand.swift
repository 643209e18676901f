import CoreboxCore

/// One kvctl command: the words that name it (`lease grant`), its flags, and
/// what it does. `KVCtlCommand.all` is the table dispatch reads.
public struct KVCtlCommand: Sendable {
    let path: [String]
    /// What follows the path in the usage line: "[options] <key> [range_end]".
    let use: String
    let summary: String
    /// A longer text for `--help` (etcdctl's "DESCRIPTION"), or empty.
    let description: String
    /// The command's own flags; the global ones are added to them.
    let flags: [FlagSpec]
    /// The command reads its own flags: only the global flags are taken
    /// from its command line, everything else reaches `run` as arguments.
    let ownFlags: Bool
    let run: @Sendable (CommandRun) async throws -> Void

    init(
        _ path: [String], use: String = "", _ summary: String, description: String = "", flags: [FlagSpec] = [],
        ownFlags: Bool = false, run: @escaping @Sendable (CommandRun) async throws -> Void
    ) {
        self.path = path
        self.use = use
        self.summary = summary
        self.description = description
        self.flags = flags
        self.ownFlags = ownFlags
        self.run = run
    }
}

extension KVCtlCommand {
    /// Every command, one line each, in etcdctl's order (its suggestions
    /// for a mistyped command come in this order; usage lists sort).
    static let all: [KVCtlCommand] = [
        .get, .put, .del, .txn,
        .endpointHealth, .endpointStatus,
        .watch, .version,
        .leaseGrant, .leaseRevoke, .leaseTimeToLive, .leaseList, .leaseKeepAlive,
        .memberList, .snapshotSave, .bench,
    ]

    /// The words that only group commands, with their summaries and the
    /// flags every command under them has.
    static let groups: [String: (summary: String, flags: [FlagSpec])] = [
        "lease": ("Lease related commands", []),
        "member": ("Membership related commands", []),
        "endpoint": ("Endpoint related commands", [
            FlagSpec("cluster", .bool, "use all endpoints from the cluster member list"),
        ]),
        "snapshot": ("Manages etcd node snapshots", []),
    ]

    /// etcdctl's global flags: every command takes them, and each can also
    /// come from an `ETCDCTL_` variable (`--dial-timeout`: ETCDCTL_DIAL_TIMEOUT).
    static let globalFlags: [FlagSpec] = [
        FlagSpec("endpoints", .stringSlice, default: "[127.0.0.1:2379]", "gRPC endpoints"),
        FlagSpec("debug", .bool, "enable client-side debug logging"),
        FlagSpec("write-out", .string, shorthand: "w", default: "simple", "set the output format (simple, json)"),
        FlagSpec("hex", .bool, "print byte strings as hex encoded strings"),
        FlagSpec("dial-timeout", .duration, default: "2s", "dial timeout for client connections"),
        FlagSpec("command-timeout", .duration, default: "5s", "timeout for short running command (excluding dial timeout)"),
        FlagSpec("keepalive-time", .duration, default: "2s", "keepalive time for client connections"),
        FlagSpec("keepalive-timeout", .duration, default: "6s", "keepalive timeout for client connections"),
        FlagSpec("insecure-transport", .bool, default: "true", "disable transport security for client connections"),
        FlagSpec("insecure-discovery", .bool, default: "true", "accept insecure SRV records describing cluster endpoints"),
        FlagSpec("insecure-skip-tls-verify", .bool, "skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)"),
        FlagSpec("cert", .string, "identify secure client using this TLS certificate file"),
        FlagSpec("key", .string, "identify secure client using this TLS key file"),
        FlagSpec("cacert", .string, "verify certificates of TLS-enabled secure servers using this CA bundle"),
        FlagSpec("user", .string, "username[:password] for authentication (prompt if password is not supplied)"),
        FlagSpec("password", .string, "password for authentication (if this option is used, --user option shouldn't include password)"),
        FlagSpec("discovery-srv", .string, shorthand: "d", "domain name to query for SRV records describing cluster endpoints"),
        FlagSpec("discovery-srv-name", .string, "service name to query when using DNS discovery"),
    ]

    /// The version etcdctl 3.4 reports; kvctl speaks its API and prints its output.
    static let etcdctlVersion = "3.4.23"
    static let apiVersion = "3.4"
}

/// etcdctl's exit codes (etcdctl/ctlv3/command/error.go); cobra's usage
/// errors exit with `error`.
struct KVCtlError: Error, CustomStringConvertible {
    enum Code: Int32 {
        case error = 1, badConnection = 2, invalidInput = 3, badFeature = 4, interrupted = 5, io = 6, badArgs = 128
    }

    let code: Code
    let message: String
    /// Exit without an `Error:` line (what was wrong is already printed).
    let silent: Bool

    init(_ code: Code, _ message: String, silent: Bool = false) {
        self.code = code
        self.message = message
        self.silent = silent
    }

    var description: String { message }
}

/// What a command's `run` gets: its arguments, its flags (the global ones
/// among them) and the environment.
struct CommandRun: Sendable {
    let command: KVCtlCommand
    let arguments: [String]
    /// How many of `arguments` came before a `--` on the command line.
    let terminator: Int?
    let flags: ParsedFlags
    let environment: [String: String]

    /// The connection and output settings, as etcdctl builds them before
    /// it makes a client: `ETCDCTL_*` variables fill the global flags the
    /// command line left unset, then `-w` must name a format kvctl writes.
    func clientOptions(extraVariables: Set<String> = []) throws(KVCtlError) -> ClientOptions {
        var flags = self.flags
        try EnvironmentFlags.apply(environment, to: &flags, globals: KVCtlCommand.globalFlags, accepting: extraVariables)
        return try ClientOptions(flags)
    }
}
