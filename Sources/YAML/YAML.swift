import CYaml

/// Where a node starts in its text, 1-based, as reports name it.
public struct YAMLMark: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}

/// A YAML node as written: scalars keep their literal text (what it means
/// is up to the schema that reads it: a string, a bool, an octal mode),
/// mappings keep their keys' order, and every node keeps its mark.
public struct YAMLNode: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// The text, and whether it was plain (unquoted, no block style):
        /// only a plain scalar can mean a bool, a number or null.
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])

        public static func == (lhs: Kind, rhs: Kind) -> Bool {
            switch (lhs, rhs) {
            case let (.scalar(a, plainA), .scalar(b, plainB)): a == b && plainA == plainB
            case let (.sequence(a), .sequence(b)): a == b
            case let (.mapping(a), .mapping(b)): a.elementsEqual(b) { $0.key == $1.key && $0.value == $1.value }
            default: false
            }
        }
    }

    public var kind: Kind
    public var mark: YAMLMark
    /// An explicit tag (`!!str`, `!!binary`), if the text had one.
    public var tag: String?

    public init(_ kind: Kind, mark: YAMLMark, tag: String? = nil) {
        self.kind = kind
        self.mark = mark
        self.tag = tag
    }
}

/// Text that is not YAML: libyaml's problem, what it was doing, and where.
public struct YAMLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The problem alone ("could not find expected ':'"), as coreos-cloudinit reports it.
    public var message: String
    /// What libyaml was in the middle of ("while scanning a simple key").
    public var context: String?
    public var mark: YAMLMark

    public init(message: String, context: String? = nil, mark: YAMLMark) {
        self.message = message
        self.context = context
        self.mark = mark
    }

    public var description: String { "\(mark): " + (context.map { $0 + ": " } ?? "") + message }
}

public enum YAML {
    /// The first document of `text` (nil when there is none, as for empty
    /// user-data). Aliases are resolved to copies of their anchored nodes.
    public static func parse(_ text: [UInt8]) throws(YAMLError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else {
            throw YAMLError(message: "cannot initialize the YAML parser", mark: YAMLMark(line: 1, column: 1))
        }
        defer { yaml_parser_delete(&parser) }
        return try text.withUnsafeBufferPointer { buffer throws(YAMLError) in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = TreeBuilder()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) != 0 else { throw error(of: parser) }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return builder.root }
                if event.type == YAML_DOCUMENT_END_EVENT, builder.root != nil { return builder.root }
                try builder.take(event)
            }
        }
    }

    private static func error(of parser: yaml_parser_t) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        return YAMLError(message: problem, context: parser.context.map { String(cString: $0) }, mark: mark(parser.problem_mark))
    }

    static func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }
}

/// Turns libyaml's events into a tree: open collections on a stack, anchors by name.
private struct TreeBuilder {
    private enum Open {
        case sequence([YAMLNode], YAMLMark, String?, anchor: String?)
        case mapping([(key: YAMLNode, value: YAMLNode)], pendingKey: YAMLNode?, YAMLMark, String?, anchor: String?)
    }

    private var stack: [Open] = []
    private var anchors: [String: YAMLNode] = [:]
    private(set) var root: YAMLNode?

    mutating func take(_ event: yaml_event_t) throws(YAMLError) {
        let mark = YAML.mark(event.start_mark)
        switch event.type {
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let plain = scalar.style == YAML_PLAIN_SCALAR_STYLE
            add(YAMLNode(.scalar(text, plain: plain), mark: mark, tag: Self.string(scalar.tag)), anchor: Self.string(scalar.anchor))
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            stack.append(.sequence([], mark, Self.string(start.tag), anchor: Self.string(start.anchor)))
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            stack.append(.mapping([], pendingKey: nil, mark, Self.string(start.tag), anchor: Self.string(start.anchor)))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            switch stack.removeLast() {
            case let .sequence(items, start, tag, anchor):
                add(YAMLNode(.sequence(items), mark: start, tag: tag), anchor: anchor)
            case let .mapping(pairs, _, start, tag, anchor):
                add(YAMLNode(.mapping(pairs), mark: start, tag: tag), anchor: anchor)
            }
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard var node = anchors[name] else { throw YAMLError(message: "unknown anchor '\(name)' referenced", mark: mark) }
            node.mark = mark
            add(node, anchor: nil)
        default:
            break // stream and document starts
        }
    }

    private mutating func add(_ node: YAMLNode, anchor: String?) {
        if let anchor { anchors[anchor] = node }
        guard let open = stack.popLast() else {
            root = node
            return
        }
        // The popped collection is the only reference to its array: appending does not copy it.
        switch open {
        case .sequence(var items, let start, let tag, let anchor):
            items.append(node)
            stack.append(.sequence(items, start, tag, anchor: anchor))
        case let .mapping(pairs, pendingKey: nil, start, tag, anchor):
            stack.append(.mapping(pairs, pendingKey: node, start, tag, anchor: anchor))
        case .mapping(var pairs, pendingKey: let key?, let start, let tag, let anchor):
            pairs.append((key, node))
            stack.append(.mapping(pairs, pendingKey: nil, start, tag, anchor: anchor))
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
