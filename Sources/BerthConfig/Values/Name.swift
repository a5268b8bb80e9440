import BerthCore

/// Names the user picks for the app, hosts, roles, services, environments and shared directories.
///
/// They end up in unit names (`shop.production.web@blue.service`), paths on the host and nginx file
/// names, so they are kept to a safe alphabet without `.`, which joins them in those names:
/// `^[a-z0-9][a-z0-9_-]{0,39}$`, the rule the host engine checks too (`HostLayout.isValidName`).
enum Name {
    static let rule = "use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit"

    static func isValid(_ name: String) -> Bool { HostLayout.isValidName(name) }

    static func check(_ name: String, kind: String, at location: SourceLocation) throws(ConfigError) {
        guard isValid(name) else {
            throw ConfigError(location: location, message: "\(quote(name)) is not a valid \(kind) name; \(rule)")
        }
    }
}

/// `server_name` values: lowercase DNS names, optionally starting with `*.`.
enum Domain {
    static let rule = "use a lowercase DNS name such as 'example.com' or '*.example.com'"

    static func isValid(_ domain: String) -> Bool {
        var rest = Substring(domain)
        if rest.hasPrefix("*.") { rest = rest.dropFirst(2) }
        guard !rest.isEmpty, rest.utf8.count <= 253 else { return false }
        return rest.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isLabel)
    }

    static func check(_ domain: String, at location: SourceLocation) throws(ConfigError) {
        guard isValid(domain) else {
            throw ConfigError(location: location, message: "\(quote(domain)) is not a valid domain; \(rule)")
        }
    }

    private static func isLabel(_ label: Substring) -> Bool {
        let scalars = Array(label.unicodeScalars)
        guard (1...63).contains(scalars.count), scalars.first != "-", scalars.last != "-" else { return false }
        return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}

/// Values that reach ssh's command line (`address`, `user`): argv, never a shell, but ssh itself
/// reads a leading `-` as an option and its config expands `%` tokens and `$` in some places.
enum SSHWord {
    /// The text of `node`, checked as an ssh word (address, user) called `label`.
    static func read(_ node: ConfigNode, label: String, expected: String) throws(ConfigError) -> String {
        let value = try node.text(expected: expected)
        try check(value, label: label, at: node.location)
        return value
    }

    static func check(_ value: String, label: String, at location: SourceLocation) throws(ConfigError) {
        if value.isEmpty { throw ConfigError(location: location, message: "'\(label)' must not be empty") }
        let forbidden: Set<Unicode.Scalar> = ["'", "\"", "`", "\\", "$", ";"]
        if value.unicodeScalars.contains(where: { forbidden.contains($0) || $0.properties.isWhitespace
            || $0.value < 0x20 || $0.value == 0x7F }) {
            throw ConfigError(location: location, message:
                "'\(label)' must not contain whitespace, quotes, backslashes, '$' or ';', found \(quote(value))")
        }
        if value.hasPrefix("-") {
            throw ConfigError(location: location, message:
                "'\(label)' must not start with '-' (ssh would read it as an option), found \(quote(value))")
        }
    }
}

/// Suggests the allowed word closest to a misspelt one.
enum Suggestion {
    /// Past this many candidates no guess is made: a long list is better searched than guessed, and
    /// a file with thousands of unknown names must not cost millions of comparisons.
    static let maxCandidates = 200
    /// `<noun> are: ...` lists at most this many.
    static let maxListed = 20

    static func closest(to word: String, in candidates: [String]) -> String? {
        guard candidates.count <= maxCandidates else { return nil }
        let scored = candidates.map { ($0, distance(word, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let limit = best.0.count >= 5 ? 2 : 1
        return best.1 <= limit && best.1 < best.0.count ? best.0 : nil
    }

    /// Edit distance counting a swap of neighbours as one edit (optimal string alignment).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    /// `did you mean 'web'?` or `<noun> are: a, b` when nothing is close.
    static func hint(for word: String, in candidates: [String], listing noun: String) -> String {
        if let match = closest(to: word, in: candidates) { return "did you mean '\(match)'?" }
        if candidates.isEmpty { return "there are no \(noun)" }
        if candidates.count > maxListed {
            return "\(noun) are: \(candidates.prefix(maxListed).joined(separator: ", ")), … (\(candidates.count) in all)"
        }
        return "\(noun) are: \(candidates.joined(separator: ", "))"
    }
}
