import CoreboxCore
import CoreboxSystem
import Dispatch

/// The `kvctl` applet: etcdctl 3.4's command line (ETCDCTL_API=3) for kvd and
/// etcd: its commands, flags, `ETCDCTL_*` variables, output and exit codes.
public enum KVCtlApplet {
    public static func main(_ context: AppletContext) -> Int32 {
        let tree = CommandTree(KVCtlCommand.all)
        let node: CommandTree.Node
        let arguments: [String]
        switch tree.resolve(context.arguments) {
        case .unknown(let message):
            Output.standardError("Error: \(message)\nRun 'kvctl --help' for usage.\nError: \(message)\n")
            return KVCtlError.Code.error.rawValue
        case .found(let found, let rest):
            node = found
            arguments = rest
        }
        let parsed: (arguments: [String], flags: ParsedFlags, terminator: Int?)
        do {
            parsed = try ParsedFlags.parse(arguments, specs: tree.flags(of: node), passingUnknown: node.command?.ownFlags ?? false)
        } catch {
            // cobra's way: the error, the usage on standard output, the error again from etcdctl.
            Output.standardError("Error: \(error)\n")
            Output.standardOutput(tree.usage(of: node))
            Output.standardError("\nError: \(error)\n")
            return KVCtlError.Code.error.rawValue
        }
        if node.path == ["help"] {
            Output.standardOutput(tree.help(parsed.arguments))
            return 0
        }
        guard let command = node.command, !parsed.flags.bool("help") else {
            Output.standardOutput(tree.usage(of: node))
            return 0
        }
        let run = CommandRun(
            command: command, arguments: parsed.arguments, terminator: parsed.terminator, flags: parsed.flags, environment: context.environment)
        do {
            try blocking { try await command.run(run) }
            return 0
        } catch let error as KVCtlError {
            if !error.silent { Output.standardError("Error: \(error.message)\n") }
            return error.code.rawValue
        } catch {
            Output.standardError("Error: \(error)\n")
            return KVCtlError.Code.error.rawValue
        }
    }

    /// Runs `body` as a task and blocks this thread, which is not one of the
    /// concurrency pool's, until it ends.
    static func blocking(_ body: @escaping @Sendable () async throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let outcome = Locked<(any Error)?>(nil)
        Task {
            do { try await body() } catch { outcome.value = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.value { throw error }
    }
}

/// The commands as cobra arranges them: groups (`lease`) over commands
/// (`lease grant`), found by their words or an unambiguous prefix of them.
struct CommandTree: Sendable {
    struct Node: Sendable {
        let path: [String]
        let command: KVCtlCommand?
        let summary: String
    }

    let commands: [KVCtlCommand]

    init(_ commands: [KVCtlCommand]) { self.commands = commands }

    var root: Node { Node(path: [], command: nil, summary: "A simple command line client for etcd3.") }

    func node(_ path: [String]) -> Node? {
        if path.isEmpty { return root }
        if path == ["help"] { return Node(path: path, command: nil, summary: "Help about any command") }
        if let command = commands.first(where: { $0.path == path }) {
            return Node(path: path, command: command, summary: command.summary)
        }
        if path.count == 1, let group = KVCtlCommand.groups[path[0]], commands.contains(where: { $0.path.first == path[0] }) {
            return Node(path: path, command: nil, summary: group.summary)
        }
        return nil
    }

    /// The names one level below `node`, sorted (cobra sorts commands).
    func children(of node: Node) -> [String] {
        var names = Set(commands.filter { $0.path.count > node.path.count && Array($0.path.prefix(node.path.count)) == node.path }
            .map { $0.path[node.path.count] })
        if node.path.isEmpty { names.insert("help") }
        return names.sorted()
    }

    /// Every flag `node` takes: its own, its group's, the global ones and `--help`.
    func flags(of node: Node) -> [FlagSpec] {
        localFlags(of: node) + (node.path.isEmpty ? [] : KVCtlCommand.globalFlags)
    }

    func localFlags(of node: Node) -> [FlagSpec] {
        let group = node.path.first.flatMap { KVCtlCommand.groups[$0]?.flags } ?? []
        let own = node.path.isEmpty ? KVCtlCommand.globalFlags : (node.command?.flags ?? []) + group
        return own + [FlagSpec.help]
    }

    enum Resolution {
        case found(Node, [String])
        /// cobra's "unknown command" message, with its suggestions.
        case unknown(String)
    }

    /// cobra's Find: the words of the command line that are not flags name
    /// the command, one level at a time; what is left is parsed as its flags
    /// and arguments.
    func resolve(_ arguments: [String]) -> Resolution {
        var node = root
        var rest = arguments
        while true {
            let words = ParsedFlags.words(rest, specs: flags(of: node))
            guard let word = words.first, let next = child(of: node, matching: word) else {
                if node.path.isEmpty, let word = words.first {
                    return .unknown("unknown command \(GoSyntax.quote(word)) for \"kvctl\"" + suggestions(for: word))
                }
                return .found(node, rest)
            }
            rest = ParsedFlags.removingFirst(word, from: rest, specs: flags(of: node))
            node = next
            if node.command != nil || node.path == ["help"] { return .found(node, rest) }
        }
    }

    /// A child by its name, or by a prefix only it has.
    func child(of node: Node, matching word: String) -> Node? {
        let names = children(of: node)
        if names.contains(word) { return self.node(node.path + [word]) }
        let matches = names.filter { $0.hasPrefix(word) }
        return matches.count == 1 ? self.node(node.path + matches) : nil
    }

    /// cobra's "Did you mean this?": names within two edits, or that start with the word.
    func suggestions(for word: String) -> String {
        let typed = word.lowercased()
        var names: [String] = []
        for command in commands where !names.contains(command.path[0]) { names.append(command.path[0]) }
        let close = names.filter { name in
            (Self.editDistance(typed, name.lowercased()) <= 2 || name.lowercased().hasPrefix(typed))
        }
        guard !close.isEmpty else { return "" }
        return "\n\nDid you mean this?\n" + close.map { "\t\($0)\n" }.joined()
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let b = Array(b)
        var row = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var next = [i + 1]
            for (j, y) in b.enumerated() {
                next.append(min(row[j + 1] + 1, next[j] + 1, row[j] + (x == y ? 0 : 1)))
            }
            row = next
        }
        return row[b.count]
    }

    /// `kvctl help [command]`: that command's usage, or the root's.
    func help(_ words: [String]) -> [UInt8] {
        var node = root
        for word in words {
            guard let next = child(of: node, matching: word) else {
                return Array(("Unknown help topic [" + words.map { "`\($0)`" }.joined(separator: " ") + "]\n").utf8) + usage(of: root)
            }
            node = next
        }
        return usage(of: node)
    }
}
