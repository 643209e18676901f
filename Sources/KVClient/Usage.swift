import CoreboxCore

/// The usage text etcdctl prints for `--help`, a group command, or a flag
/// error: NAME, USAGE, the subcommands, the description, the command's
/// options and the global options, columns aligned with tabs.
extension CommandTree {
    func usage(of node: Node) -> [UInt8] {
        let name = node.path.isEmpty ? "kvctl" : node.path.joined(separator: " ")
        var text = "NAME:\n\t\(name) - \(node.summary)\n\nUSAGE:\n\t\(useLine(node))\n"
        if node.path.isEmpty {
            text += "\nVERSION:\n\t\(KVCtlCommand.etcdctlVersion)\n"
        }
        if node.command == nil && node.path != ["help"] {
            text += "\nAPI VERSION:\n\t\(KVCtlCommand.apiVersion)\n\n\nCOMMANDS:\n"
            for command in runnable(under: node) {
                text += "\t\(command.path.dropFirst(node.path.count).joined(separator: " "))\t\(command.summary)\n"
            }
        }
        if let description = node.command?.description, !description.isEmpty {
            text += "\nDESCRIPTION:\n"
            for line in description.split(separator: "\n", omittingEmptySubsequences: false) { text += "\t\(line)\n" }
        }
        text += "\nOPTIONS:\n" + Self.flagLines(localFlags(of: node), command: name)
        if !node.path.isEmpty {
            text += "\nGLOBAL OPTIONS:\n" + Self.flagLines(KVCtlCommand.globalFlags, command: name)
        }
        return Array(Self.alignTabs(text + "\n").utf8)
    }

    private func useLine(_ node: Node) -> String {
        var words = ["kvctl"] + node.path
        if let use = node.command?.use, !use.isEmpty {
            words.append(use)
        } else if node.command == nil && !node.path.isEmpty && node.path != ["help"] {
            words.append("<subcommand>")
        } else if node.path == ["help"] {
            words.append("[command]")
        }
        return words.joined(separator: " ") + " [flags]"
    }

    /// The commands below `node` (cobra lists a group's commands by their
    /// whole path, sorted).
    private func runnable(under node: Node) -> [KVCtlCommand] {
        var list = commands.filter { $0.path.count > node.path.count && Array($0.path.prefix(node.path.count)) == node.path }
        if node.path.isEmpty {
            list.append(KVCtlCommand(["help"], "Help about any command") { _ in })
        }
        return list.sorted { $0.path.joined(separator: " ") < $1.path.joined(separator: " ") }
    }

    /// etcdctl's flag lines: `  -w, --write-out="simple"`, `      --prefix[=false]`,
    /// then a tab and the flag's text; sorted by name.
    static func flagLines(_ flags: [FlagSpec], command: String) -> String {
        var text = ""
        for flag in flags.sorted(by: { $0.name < $1.name }) {
            var line = flag.shorthand.map { "  -\($0), --" } ?? "      --"
            line += flag.name
            switch flag.kind {
            case .bool: line += "[=\(flag.defaultText)]"
            case .string: line += "=" + GoSyntax.quote(flag.defaultText)
            default: line += "=" + flag.defaultText
            }
            let usage = flag.name == "help" ? "help for \(command.split(separator: " ").last.map(String.init) ?? command)" : flag.usage
            text += line + "\t" + usage + "\n"
        }
        return text
    }

    /// Go's text/tabwriter as etcdctl sets it up (cells padded with tabs to
    /// the column's width plus one, in tab stops of 8): within each run of
    /// consecutive lines that have a cell in a column, that column is as
    /// wide as its widest cell.
    static func alignTabs(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        var widths = lines.map { Array(repeating: 0, count: max($0.count - 1, 0)) }
        let columns = lines.map { $0.count - 1 }.max() ?? 0
        for column in 0..<max(columns, 0) {
            var start = 0
            while start < lines.count {
                guard column < lines[start].count - 1 else {
                    start += 1
                    continue
                }
                var end = start
                var width = 0
                while end < lines.count && column < lines[end].count - 1 {
                    width = max(width, lines[end][column].count + 1)
                    end += 1
                }
                width = (width + 7) / 8 * 8
                for line in start..<end { widths[line][column] = width }
                start = end
            }
        }
        var out = ""
        for (index, cells) in lines.enumerated() {
            for (column, cell) in cells.enumerated() {
                out += cell
                if column < cells.count - 1 {
                    out += String(repeating: "\t", count: (widths[index][column] - cell.count + 7) / 8)
                }
            }
            if index < lines.count - 1 { out += "\n" }
        }
        return out
    }
}
