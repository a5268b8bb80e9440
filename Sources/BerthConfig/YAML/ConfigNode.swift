/// A YAML node with its place in the file: the tree that section types read.
///
/// Built from Yams' `Node` by `YAMLReader`. Accessors throw a `ConfigError` that points at this node
/// and names it by `label` (the key it was found under), e.g. `expected a number for 'port', found 'abc'`.
struct ConfigNode {
    /// What a plain scalar resolves to under YAML 1.1 rules; quoted scalars are always `.string`.
    enum ScalarKind: Equatable {
        case null, bool, int, float, string
    }

    enum Content {
        case scalar(text: String, kind: ScalarKind, quoted: Bool)
        case sequence([ConfigNode])
        case mapping([ConfigEntry])
    }

    let content: Content
    let location: SourceLocation
    /// The key this node was found under, used in messages.
    var label: String

    init(_ content: Content, at location: SourceLocation, label: String = "") {
        self.content = content
        self.location = location
        self.label = label
    }

    func labelled(_ label: String) -> ConfigNode {
        var copy = self
        copy.label = label
        return copy
    }

    /// How an error message describes what was found here.
    var found: String {
        switch content {
        case .scalar(_, .null, _): "nothing"
        case let .scalar(text, _, quoted): quoted ? "the string \(quote(text))" : quote(text)
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    func error(_ message: String) -> ConfigError {
        ConfigError(location: location, message: message)
    }

    /// `expected a number for 'port', found 'abc'`
    func mismatch(_ expected: String) -> ConfigError {
        error("expected \(expected) for '\(label)', found \(found)")
    }

    // MARK: Scalars

    /// The text of a non-null scalar of any kind (`user: 1000` is the text `1000`).
    func text(expected: String) throws(ConfigError) -> String {
        guard case let .scalar(text, kind, _) = content, kind != .null else { throw mismatch(expected) }
        return text
    }

    func integer(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case let .scalar(text, kind, quoted) = content else { throw mismatch("a number") }
        switch kind {
        case .int:
            guard let value = Int(yamlInteger: text) else { throw mismatch("a number") }
            guard range.contains(value) else { throw outOfRange(range, found: text) }
            return value
        case .float:
            throw mismatch("a whole number")
        case .string where quoted && Int(text) != nil:
            throw error("expected a number for '\(label)', found \(found); remove the quotes")
        default:
            throw mismatch("a number")
        }
    }

    private func outOfRange(_ range: ClosedRange<Int>, found text: String) -> ConfigError {
        error("'\(label)' must be between \(range.lowerBound) and \(range.upperBound), found \(text)")
    }

    func bool() throws(ConfigError) -> Bool {
        guard case let .scalar(text, .bool, _) = content else { throw mismatch("true or false") }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        default: return false
        }
    }

    /// One line of text: not empty, no line break, no NUL.
    func singleLine(expected: String) throws(ConfigError) -> String {
        let value = try text(expected: expected)
        if value.allSatisfy(\.isWhitespace) { throw error("'\(label)' must not be empty") }
        if value.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw error("'\(label)' must be a single line")
        }
        if value.unicodeScalars.contains("\0") { throw error("'\(label)' must not contain NUL characters") }
        return value
    }

    /// A name as `Name` defines it; `kind` says what it names ("host", "role"...).
    func name(_ kind: String) throws(ConfigError) -> String {
        let value = try text(expected: "\(article(kind)) \(kind) name")
        try Name.check(value, kind: kind, at: location)
        return value
    }

    /// A duration in milliseconds (see `DurationText`).
    func duration() throws(ConfigError) -> Int {
        let expected = "a duration such as \(DurationText.examples)"
        guard case let .scalar(text, kind, _) = content, kind != .null, kind != .bool else { throw mismatch(expected) }
        switch DurationText.milliseconds(text) {
        case let .success(milliseconds):
            return milliseconds
        case .failure(.malformed):
            throw mismatch(expected)
        case .failure(.fractionWithoutUnit):
            throw error("\(mismatch(expected).message); plain numbers are whole seconds, so write \(text)s")
        case .failure(.subMillisecond):
            throw error("'\(label)' must be a whole number of milliseconds, found \(quote(text))")
        case .failure(.zero):
            throw error("'\(label)' must be longer than 0, found \(quote(text))")
        case .failure(.tooLong):
            throw error("'\(label)' must be at most 24 hours, found \(quote(text))")
        }
    }

    // MARK: Collections

    func list(expected: String) throws(ConfigError) -> [ConfigNode] {
        guard case let .sequence(items) = content else {
            if case .scalar(let text, let kind, _) = content, kind != .null {
                throw error("expected \(expected) for '\(label)', found \(found); write [\(text)]")
            }
            throw mismatch(expected)
        }
        return items.map { $0.labelled(label) }
    }

    /// A list of names (`roles: [web, scheduler]`); bad items and repeats are recorded, not thrown.
    func names(_ kind: String, nonEmpty: Bool, _ diagnostics: Diagnostics)
        throws(ConfigError) -> [(name: String, node: ConfigNode)] {
        let items = try list(expected: "a list of \(kind) names")
        if nonEmpty, items.isEmpty { throw error("'\(label)' must list at least one \(kind)") }
        var result: [(name: String, node: ConfigNode)] = []
        var seen: Set<String> = []
        for item in items {
            guard let name = diagnostics.check({ () throws(ConfigError) in
                guard case .scalar(_, let k, _) = item.content, k != .null else {
                    throw item.error("expected \(article(kind)) \(kind) name in '\(label)', found \(item.found)")
                }
                return try item.name(kind)
            }) else { continue }
            if !seen.insert(name).inserted {
                diagnostics.add(item.location, "\(kind) '\(name)' is listed twice in '\(label)'")
                continue
            }
            result.append((name, item))
        }
        return result
    }

    /// The entries of a mapping whose keys are names the user chose (hosts, services...).
    /// Keys that are not text, and repeated keys, are recorded; the first of a repeated key is kept.
    func namedEntries(_ noun: String, _ diagnostics: Diagnostics) throws(ConfigError) -> [NamedEntry] {
        guard case let .mapping(entries) = content else { throw mismatch("a mapping of \(noun) names to \(noun)s") }
        return Self.uniqueEntries(entries, diagnostics) { key, first in
            "\(noun) '\(key)' is defined twice; the first is at line \(first.line)"
        }
    }

    static func uniqueEntries(_ entries: [ConfigEntry], _ diagnostics: Diagnostics,
                              duplicate: (String, SourceLocation) -> String) -> [NamedEntry] {
        var result: [NamedEntry] = []
        var seen: [String: SourceLocation] = [:]
        for entry in entries {
            guard case let .scalar(key, kind, _) = entry.key.content, kind != .null else {
                diagnostics.add(entry.key.location, "expected a name as key, found \(entry.key.found)")
                continue
            }
            if key == "<<" {
                diagnostics.add(entry.key.location, "YAML merge keys ('<<') are not supported; write the keys out")
                continue
            }
            if let first = seen[key] {
                diagnostics.add(entry.key.location, duplicate(key, first))
                continue
            }
            seen[key] = entry.key.location
            result.append(NamedEntry(name: key, key: entry.key, value: entry.value.labelled(key)))
        }
        return result
    }
}

struct ConfigEntry {
    let key: ConfigNode
    let value: ConfigNode
}

/// A mapping entry whose key is text.
struct NamedEntry {
    let name: String
    let key: ConfigNode
    let value: ConfigNode
}

/// The keys of one section's mapping: unknown and repeated keys are reported when it is built.
struct Fields {
    let node: ConfigNode
    /// Where these keys live, as messages say it: `in release`, `in host 'web1'`, `at the top level`.
    let context: String
    private let entries: [NamedEntry]

    init(_ node: ConfigNode, context: String, allowed: [String], _ diagnostics: Diagnostics) throws(ConfigError) {
        guard case let .mapping(pairs) = node.content else {
            throw node.mismatch("a mapping with the keys \(allowed.joined(separator: ", "))")
        }
        self.node = node
        self.context = context
        let unique = ConfigNode.uniqueEntries(pairs, diagnostics) { key, first in
            "duplicate key '\(key)' \(context); the first is at line \(first.line)"
        }
        var known: [NamedEntry] = []
        for entry in unique {
            if allowed.contains(entry.name) {
                known.append(entry)
                continue
            }
            let hint = Suggestion.closest(to: entry.name, in: allowed).map { "did you mean '\($0)'?" }
                ?? "allowed keys: \(allowed.joined(separator: ", "))"
            diagnostics.add(entry.key.location, "unknown key '\(entry.name)' \(context); \(hint)")
        }
        entries = known
    }

    func optional(_ key: String) -> ConfigNode? {
        entries.first { $0.name == key }?.value
    }

    func keyNode(_ key: String) -> ConfigNode? {
        entries.first { $0.name == key }?.key
    }

    func required(_ key: String) throws(ConfigError) -> ConfigNode {
        guard let value = optional(key) else { throw node.error("missing required key '\(key)' \(context)") }
        return value
    }
}

/// "a" or "an", for "expected an app name".
func article(_ word: String) -> String {
    guard let first = word.first else { return "a" }
    return "aeiou".contains(first) ? "an" : "a"
}

/// Quotes a value for a message, shortened and with line breaks made visible.
func quote(_ text: String) -> String {
    var shown = text.replacingLineBreaks()
    if shown.count > 60 { shown = String(shown.prefix(57)) + "..." }
    return "'\(shown)'"
}

extension String {
    func replacingLineBreaks() -> String {
        var result = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\0": result += "\\0"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

extension Int {
    /// YAML 1.1 integers as Yams resolves them: `8000`, `+1`, `1_000`, `0x1F`, `0o17`, `017`, `0b101`.
    init?(yamlInteger text: String) {
        var digits = text.filter { $0 != "_" }
        var sign = 1
        if digits.hasPrefix("-") || digits.hasPrefix("+") {
            if digits.hasPrefix("-") { sign = -1 }
            digits.removeFirst()
        }
        let parsed: Int?
        if digits.hasPrefix("0x") {
            parsed = Int(digits.dropFirst(2), radix: 16)
        } else if digits.hasPrefix("0o") {
            parsed = Int(digits.dropFirst(2), radix: 8)
        } else if digits.hasPrefix("0b") {
            parsed = Int(digits.dropFirst(2), radix: 2)
        } else if digits.count > 1, digits.hasPrefix("0") {
            parsed = Int(digits.dropFirst(), radix: 8)
        } else {
            parsed = Int(digits)
        }
        guard let parsed else { return nil }
        self = sign * parsed
    }
}
