/// What an applet gets when it runs.
public struct AppletContext: Sendable {
    /// The name it was invoked as (an alias runs the same code under its own name).
    public var name: String
    /// The arguments after the name.
    public var arguments: [String]
    public var layout: Layout
    public var environment: [String: String]

    public init(name: String, arguments: [String], layout: Layout, environment: [String: String]) {
        self.name = name
        self.arguments = arguments
        self.layout = layout
        self.environment = environment
    }
}

/// One entry of the applet table: a name on the command line and its code.
public struct Applet: Sendable {
    public let name: String
    /// One line for `corebox --help`.
    public let summary: String
    /// Runs the applet and returns its exit status. It is synchronous so that
    /// a short command does not start the concurrency runtime (0.4 ms of
    /// every exec, measured); a server starts its own event loop.
    public let main: @Sendable (AppletContext) -> Int32

    public init(name: String, summary: String, main: @escaping @Sendable (AppletContext) -> Int32) {
        self.name = name
        self.summary = summary
        self.main = main
    }
}

/// The explicit list of applets (busybox's applet table): the single source
/// for dispatch, `--list`, `--install` and, through `symlinks/`, the image.
public struct AppletTable: Sendable {
    public let applets: [Applet]

    public init(_ applets: [Applet]) {
        var seen = Set<String>()
        for applet in applets {
            precondition(!applet.name.isEmpty && !applet.name.contains("/"), "bad applet name \"\(applet.name)\"")
            precondition(applet.name != Invocation.multicallName, "\"corebox\" is the binary, not an applet")
            precondition(seen.insert(applet.name).inserted, "applet \"\(applet.name)\" registered twice")
        }
        self.applets = applets.sorted { $0.name < $1.name }
    }

    public var names: [String] { applets.map(\.name) }

    public subscript(name: String) -> Applet? { applets.first { $0.name == name } }
}
