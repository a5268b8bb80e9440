import Yams

/// Turns YAML text into a `ConfigNode` tree, mapping Yams' errors to `ConfigError`s with a location.
///
/// Yams rejects a mapping with a repeated key and stops there, pointing at the first of the two.
/// So that the user hears about the repeat at the second key, and about every other problem in the
/// same run, the reader disguises the first key (one character swapped for a private-use character,
/// so every column stays put), parses again, and restores the key's name in the tree. `Fields` and
/// `namedEntries` then report the repeat where it is and keep the first value.
enum YAMLReader {
    /// The first document's root; nil when the text holds no document (empty, or only comments).
    static func read(_ yaml: String, file: String) throws(ConfigError) -> ConfigNode? {
        try YAMLLimits.check(yaml, file: file)
        var text = yaml
        var disguised: [Position: String] = [:]
        var firstDuplicate: ConfigError?
        // Each repeated key costs one more parse: a big file full of them reports the first few only.
        let attempts = max(1, min(1_000, reparseBudget / max(1, yaml.utf8.count)))
        for attempt in 0..<attempts {
            do {
                guard let root = try Yams.compose(yaml: text) else { return nil }
                return convert(root, file: file, disguised: disguised)
            } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
                let position = Position(line: context.mark.line, column: context.mark.column)
                let name = duplicates.first ?? ""
                let location = SourceLocation(file: file, line: position.line, column: position.column)
                let duplicate = ConfigError(location: location,
                                            message: "key \(quote(name)) appears more than once in this mapping")
                if firstDuplicate == nil { firstDuplicate = duplicate }
                let placeholder = Unicode.Scalar(0xE000 + attempt) ?? "\u{E000}"
                guard disguised[position] == nil, duplicates.first != nil,
                      let next = disguise(text, at: position, with: placeholder) else {
                    throw firstDuplicate ?? duplicate
                }
                disguised[position] = name
                text = next
            } catch let error as YamlError {
                // A disguise that broke the text must not hide the real (first) problem.
                throw firstDuplicate ?? configError(error, file: file)
            } catch {
                throw firstDuplicate ?? ConfigError(location: SourceLocation(file: file, line: 1, column: 1),
                                                    message: "invalid YAML: \(error)")
            }
        }
        throw firstDuplicate ?? ConfigError(location: SourceLocation(file: file), message: "invalid YAML")
    }

    /// Bytes parsed again to find repeated keys, at most (about 0.1 s of parsing).
    static let reparseBudget = 4 << 20

    struct Position: Hashable {
        let line: Int
        let column: Int
    }

    // MARK: Errors

    /// What usually causes libyaml's commonest complaints.
    static let hints: [String: String] = [
        "mapping values are not allowed in this context": "check the indentation, or quote a value that contains ': '",
        "did not find expected key": "check the indentation",
        "could not find expected ':'": "is a ':' missing after a key?",
        "found character that cannot start any token": "quote the value",
    ]

    static func configError(_ error: YamlError, file: String) -> ConfigError {
        func at(_ mark: Mark) -> SourceLocation {
            SourceLocation(file: file, line: mark.line, column: mark.column)
        }
        func describe(_ problem: String, _ context: YamlError.Context?, _ mark: Mark, _ yaml: String) -> String {
            if problem == "but found another document" {
                return "the app file must hold a single YAML document; this '---' starts another"
            }
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) that starts at line \(context.mark.line), column \(context.mark.column))"
            }
            if scalar(in: yaml, at: Position(line: mark.line, column: mark.column)) == "\t" {
                message += "; indent with spaces, not tabs"
            } else if let hint = hints[problem] {
                message += "; \(hint)"
            }
            return message
        }
        switch error {
        case let .scanner(context, problem, mark, yaml),
             let .parser(context, problem, mark, yaml),
             let .composer(context, problem, mark, yaml):
            return ConfigError(location: at(mark), message: describe(problem, context, mark, yaml))
        case let .reader(problem, offset, _, yaml):
            let place = offset.map { position(ofCharacter: $0, in: yaml) } ?? Position(line: 1, column: 1)
            return ConfigError(location: SourceLocation(file: file, line: place.line, column: place.column),
                               message: "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return ConfigError(location: at(context.mark),
                               message: "key \(quote(duplicates.first ?? "")) appears more than once in this mapping")
        default:
            return ConfigError(location: SourceLocation(file: file, line: 1, column: 1), message: "invalid YAML: \(error)")
        }
    }

    /// Line and column (in Unicode scalars) of the `offset`th Character.
    private static func position(ofCharacter offset: Int, in text: String) -> Position {
        var line = 1, column = 1
        for character in text.prefix(offset) {
            if character.isNewline {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return Position(line: line, column: column)
    }

    // MARK: Repeated keys

    /// Index of the scalar at a libyaml position (1-based line and column, a BOM not counted).
    private static func index(of position: Position, in scalars: [Unicode.Scalar]) -> Int? {
        var line = 1, column = 1
        var index = scalars.first == "\u{FEFF}" ? 1 : 0
        while index < scalars.count {
            if line == position.line, column == position.column { return index }
            let scalar = scalars[index]
            if scalar == "\r", index + 1 < scalars.count, scalars[index + 1] == "\n" {
                // \r\n is one line break
            } else if scalar == "\n" || scalar == "\r" {
                line += 1
                column = 1
            } else {
                column += 1
            }
            index += 1
        }
        return nil
    }

    private static func scalar(in text: String, at position: Position) -> Unicode.Scalar? {
        let scalars = Array(text.unicodeScalars)
        return index(of: position, in: scalars).map { scalars[$0] }
    }

    /// The text with the first character of the key at `position` replaced, or nil if that key is
    /// not a plain or quoted scalar that can be disguised without changing the document's shape.
    private static func disguise(_ text: String, at position: Position, with placeholder: Unicode.Scalar) -> String? {
        var scalars = Array(text.unicodeScalars)
        guard var target = index(of: position, in: scalars) else { return nil }
        let opening = scalars[target]
        if opening == "\"" || opening == "'" { target += 1 }
        guard target < scalars.count else { return nil }
        let first = scalars[target]
        let structural: Set<Unicode.Scalar> = ["\"", "'", "&", "!", "*", "[", "]", "{", "}", "?", ",", ":", "#",
                                               "|", ">", "%", "@", "`", "-", "\n", "\r", " ", "\t"]
        if opening != "\"" && opening != "'" && structural.contains(first) { return nil }
        if (opening == "\"" || opening == "'") && first == opening { return nil }
        if first == "\n" || first == "\r" { return nil }
        scalars[target] = placeholder
        var result = ""
        result.unicodeScalars.append(contentsOf: scalars)
        return result
    }

    // MARK: Tree

    private static func convert(_ node: Node, file: String, disguised: [Position: String]) -> ConfigNode {
        func location(_ mark: Mark?) -> SourceLocation {
            SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
        }
        switch node {
        case let .scalar(scalar):
            var text = scalar.string
            if let mark = scalar.mark, let original = disguised[Position(line: mark.line, column: mark.column)] {
                text = original
            }
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
            let kind: ConfigNode.ScalarKind
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: kind = .null
            case .bool: kind = Bool.construct(from: scalar) == nil ? .string : .bool
            case .int: kind = .int
            case .float: kind = .float
            default: kind = .string
            }
            return ConfigNode(.scalar(text: text, kind: kind, quoted: quoted), at: location(scalar.mark))
        case let .sequence(sequence):
            let items = sequence.map { convert($0, file: file, disguised: disguised) }
            return ConfigNode(.sequence(items), at: location(sequence.mark))
        case let .mapping(mapping):
            let entries = mapping.map {
                ConfigEntry(key: convert($0.key, file: file, disguised: disguised),
                            value: convert($0.value, file: file, disguised: disguised))
            }
            return ConfigNode(.mapping(entries), at: location(mapping.mark))
        case .alias:
            // The parser resolves aliases to the anchored node; this case only exists for emitting.
            return ConfigNode(.scalar(text: "", kind: .null, quoted: false), at: location(node.mark))
        }
    }
}
