import CoreboxCore
import Glibc
import Logging

/// Carries out an `Invocation`: runs the applet, or one of the multi-call
/// binary's own commands.
public enum Multicall {
    public static func run(_ invocation: Invocation, table: AppletTable, environment: [String: String]) -> Int32 {
        switch invocation {
        case .applet(let name, let arguments):
            let context = AppletContext(name: name, arguments: arguments, layout: Layout(environment: environment), environment: environment)
            return table[name]!.main(context)
        case .list:
            Console.out(table.names.map { $0 + "\n" }.joined())
            return 0
        case .version:
            Console.out("corebox \(Corebox.version)\n")
            return 0
        case .help:
            Console.out(help(table))
            return 0
        case .install(let directory, let symbolic):
            return install(table.names, into: directory, symbolic: symbolic)
        case .notFound(let name):
            Console.error("corebox: applet not found: \(name)\n")
            return 127
        case .usage(let message):
            Console.error("corebox: \(message)\nTry 'corebox --help'.\n")
            return 2
        }
    }

    static func help(_ table: AppletTable) -> String {
        var text = """
            corebox \(Corebox.version): the core userland of a container-first Linux OS.

            Usage: corebox APPLET [ARGUMENTS...]
                   APPLET [ARGUMENTS...]             (through a link named after the applet)
                   corebox --list                    print the applet names, one per line
                   corebox --install [--symlinks] DIR
                                                     link every applet name in DIR to this binary
                                                     (hard links; symbolic with --symlinks)
                   corebox --version | --help

            Applets:

            """
        let width = table.names.map(\.count).max() ?? 0
        for applet in table.applets {
            text += "  " + applet.name + String(repeating: " ", count: width - applet.name.count + 2) + applet.summary + "\n"
        }
        if table.applets.isEmpty { text += "  (none registered)\n" }
        return text
    }

    /// Links every applet name in `directory` to the running binary, replacing
    /// what is there atomically (a new link under a temporary name, renamed over).
    static func install(_ names: [String], into directory: String, symbolic: Bool) -> Int32 {
        let logger = Logger(label: "corebox.install")
        do {
            let binary = try Syscall.readlink("/proc/self/exe")
            for name in names {
                let path = "\(directory)/\(name)"
                let temporary = "\(directory)/.\(name).corebox-install"
                _ = Glibc.unlink(temporary)
                if symbolic {
                    try Syscall.symlink(target: binary, at: temporary)
                } else {
                    try Syscall.link(binary, at: temporary)
                }
                try Syscall.rename(temporary, path)
            }
            try Files.syncDirectory(directory)
            logger.info(
                "installed applet links",
                metadata: ["directory": "\(directory)", "count": "\(names.count)", "kind": symbolic ? "symbolic" : "hard", "binary": "\(binary)"]
            )
            return 0
        } catch {
            Console.error("corebox: --install: \(error)\n")
            return 1
        }
    }
}

/// Unbuffered writes of whole texts to stdout and stderr (no stdio, no Foundation).
public enum Console {
    public static func out(_ text: String) {
        try? Syscall.writeAll(STDOUT_FILENO, Array(text.utf8))
    }

    public static func error(_ text: String) {
        try? Syscall.writeAll(STDERR_FILENO, Array(text.utf8))
    }
}
