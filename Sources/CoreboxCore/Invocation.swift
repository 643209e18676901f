/// What a command line asks of the multi-call binary, decided without side effects.
///
/// `corebox` dispatches on the basename of argv[0] (a leading `-`, as login
/// shells add, is dropped), or, when invoked as `corebox`, on its first
/// argument.
public enum Invocation: Equatable, Sendable {
    case applet(name: String, arguments: [String])
    case list
    case version
    case help
    case install(directory: String, symbolic: Bool)
    /// No applet of that name: exit 127, like a shell's command not found.
    case notFound(String)
    /// A malformed `corebox` command line: exit 2 with the message.
    case usage(String)

    public static let multicallName = "corebox"

    public init(arguments argv: [String], names: [String]) {
        let invokedAs = Self.appletName(fromArgv0: argv.first ?? Self.multicallName)
        let rest = Array(argv.dropFirst())
        guard invokedAs == Self.multicallName else {
            self = names.contains(invokedAs) ? .applet(name: invokedAs, arguments: rest) : .notFound(invokedAs)
            return
        }
        guard let first = rest.first else {
            self = .help
            return
        }
        switch first {
        case "--list", "-l":
            self = rest.count == 1 ? .list : .usage("--list takes no arguments")
        case "--version", "-V":
            self = rest.count == 1 ? .version : .usage("--version takes no arguments")
        case "--help", "-h":
            self = .help
        case "--install":
            self = Self.parseInstall(Array(rest.dropFirst()))
        case let option where option.hasPrefix("-"):
            self = .usage("unknown option \(option)")
        case let name:
            self = names.contains(name) ? .applet(name: name, arguments: Array(rest.dropFirst())) : .notFound(name)
        }
    }

    private static func parseInstall(_ arguments: [String]) -> Invocation {
        var symbolic = false
        var directories: [String] = []
        for argument in arguments {
            switch argument {
            case "--symlinks", "-s": symbolic = true
            case let option where option.hasPrefix("-"): return .usage("unknown option \(option) for --install")
            default: directories.append(argument)
            }
        }
        guard directories.count == 1 else { return .usage("--install takes exactly one directory") }
        return .install(directory: directories[0], symbolic: symbolic)
    }

    /// The basename of argv[0] with a login shell's leading `-` removed.
    public static func appletName(fromArgv0 argv0: String) -> String {
        var name = Substring(argv0.split(separator: "/").last ?? Substring(argv0))
        if name.hasPrefix("-") { name = name.dropFirst() }
        return String(name)
    }
}

extension Invocation {
    /// The name this process logs under: the applet's, else `corebox`.
    public var identifier: String {
        if case .applet(let name, _) = self { return name }
        return Self.multicallName
    }
}
