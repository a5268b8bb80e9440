/// `.berthignore`: which files of the release directory stay out of the release, in gitignore's
/// syntax and with gitignore's matching rules (gitignore(5)), so a line means in `.berthignore` what
/// it means in `.gitignore`:
///
/// - blank lines and lines starting with `#` are nothing; trailing spaces are dropped unless
///   escaped (`\ `); `\#` and `\!` start a pattern with a literal `#` or `!`; a CR before the LF goes;
/// - `!` re-includes what an earlier pattern excluded; the last matching pattern decides;
/// - a trailing `/` matches directories only; a pattern with no other `/` matches a name at any
///   depth, one with a `/` (leading or inside) matches the whole path from the release directory;
/// - `*` is anything but `/`, `?` one byte but `/`, `[a-z]`, `[!a-z]`, `[^a-z]`, `[[:alpha:]]`
///   character classes, `\` escapes; `**/` at the start, `/**` at the end and `/**/` inside span
///   directories (zero or more); any other `**` is a `*`;
/// - once a directory is excluded nothing inside it can be re-included (the walk never enters it).
///
/// Matching works on the UTF-8 bytes of paths, like git. Only the release directory's own
/// `.berthignore` is read (no per-directory files, no global excludes).
public struct IgnoreRules: Sendable, Equatable {
    public struct Pattern: Sendable, Equatable {
        /// The pattern as written, after comments and trailing spaces are dropped.
        public let text: String
        /// 1-based line in its file.
        public let line: Int
        /// One of Berth's defaults rather than a line of `.berthignore`.
        public let isDefault: Bool
        let body: [UInt8]
        let negative: Bool
        let directoryOnly: Bool
        /// No `/` but the trailing one: matched against the last path component.
        let basenameOnly: Bool
        /// Bytes before the first glob character (`*?[\`), compared literally.
        let literalPrefix: Int
    }

    public let patterns: [Pattern]

    public init(patterns: [Pattern]) {
        self.patterns = patterns
    }

    /// Reads the text of an ignore file (`defaults`: Berth's own, not the user's).
    public init(text: String, defaults: Bool = false) {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var patterns: [Pattern] = []
        var line = 0
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            line += 1
            var entry = Array(raw)
            if entry.last == UInt8(ascii: "\r") { entry.removeLast() }
            if entry.isEmpty || entry.first == UInt8(ascii: "#") { continue }
            if let pattern = Pattern(Self.trimmingTrailingSpaces(entry), line: line, isDefault: defaults) {
                patterns.append(pattern)
            }
        }
        self.patterns = patterns
    }

    /// Concatenation: `other`'s patterns come later, so they win.
    public func followed(by other: IgnoreRules) -> IgnoreRules {
        IgnoreRules(patterns: patterns + other.patterns)
    }

    /// The last pattern that matches `path` (relative, `/`-separated, no leading `./`), if any.
    /// Parent directories are not looked at: the walk that asks stops at excluded directories.
    public func lastMatch(_ path: String, isDirectory: Bool) -> Pattern? {
        let bytes = Array(path.utf8)
        let slash = bytes.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
        let basename = Array(bytes[slash...])
        for pattern in patterns.reversed() {
            if pattern.directoryOnly && !isDirectory { continue }
            if pattern.basenameOnly ? pattern.matchesBasename(basename) : pattern.matchesPath(bytes) { return pattern }
        }
        return nil
    }

    /// Whether `path` is excluded by these rules alone (not counting excluded parents).
    public func excludes(_ path: String, isDirectory: Bool) -> Bool {
        lastMatch(path, isDirectory: isDirectory).map { !$0.negative } ?? false
    }

    /// gitignore drops trailing spaces unless escaped; a trailing lone backslash keeps everything.
    static func trimmingTrailingSpaces(_ bytes: [UInt8]) -> [UInt8] {
        var firstTrailingSpace: Int?
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "):
                if firstTrailingSpace == nil { firstTrailingSpace = index }
            case UInt8(ascii: "\\"):
                index += 1
                if index == bytes.count { return bytes }
                firstTrailingSpace = nil
            default:
                firstTrailingSpace = nil
            }
            index += 1
        }
        return firstTrailingSpace.map { Array(bytes[..<$0]) } ?? bytes
    }
}

extension IgnoreRules.Pattern {
    /// nil for a line that can match nothing (empty after `!` and the trailing `/`).
    init?(_ raw: [UInt8], line: Int, isDefault: Bool) {
        var body = raw
        negative = body.first == UInt8(ascii: "!")
        if negative { body.removeFirst() }
        directoryOnly = body.last == UInt8(ascii: "/")
        if directoryOnly { body.removeLast() }
        if body.isEmpty { return nil }
        basenameOnly = !body.contains(UInt8(ascii: "/"))
        literalPrefix = body.firstIndex(where: Glob.isSpecial) ?? body.count
        self.body = body
        text = String(decoding: raw, as: UTF8.self)
        self.line = line
        self.isDefault = isDefault
    }

    func matchesBasename(_ name: [UInt8]) -> Bool {
        if literalPrefix == body.count { return name == body }
        return Glob(pattern: body[...], pathname: false).matches(name[...])
    }

    /// The whole path; a leading `/` only anchors. The literal prefix is compared first and the
    /// glob starts after it, as git does (so a `**` right after the prefix counts as a leading one).
    func matchesPath(_ path: [UInt8]) -> Bool {
        var pattern = body[...]
        var prefix = literalPrefix
        if pattern.first == UInt8(ascii: "/") {
            pattern = pattern.dropFirst()
            prefix -= 1
        }
        guard prefix <= path.count, path.starts(with: pattern.prefix(prefix)) else { return false }
        let restPattern = pattern.dropFirst(prefix), restPath = path[prefix...]
        if prefix > 0, restPattern.isEmpty, restPath.isEmpty { return true }
        return Glob(pattern: ArraySlice(Array(restPattern)), pathname: true).matches(ArraySlice(Array(restPath)))
    }
}

/// A glob over bytes with gitignore's `wildmatch` rules; memoized, so no pattern takes more than
/// (pattern length × text length) steps.
struct Glob {
    let pattern: [UInt8]
    /// `*`, `?` and classes do not match `/`; `**` between slashes does.
    let pathname: Bool

    init(pattern: ArraySlice<UInt8>, pathname: Bool) {
        self.pattern = Array(pattern)
        self.pathname = pathname
    }

    static func isSpecial(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "\\")
    }

    func matches(_ text: ArraySlice<UInt8>) -> Bool {
        var memo: [Int: Bool] = [:]
        return match(0, Array(text), 0, &memo)
    }

    private static let slash = UInt8(ascii: "/")

    private func match(_ p: Int, _ text: [UInt8], _ t: Int, _ memo: inout [Int: Bool]) -> Bool {
        let key = p * (text.count + 1) + t
        if let known = memo[key] { return known }
        let result = step(p, text, t, &memo)
        memo[key] = result
        return result
    }

    private func step(_ p: Int, _ text: [UInt8], _ t: Int, _ memo: inout [Int: Bool]) -> Bool {
        guard p < pattern.count else { return t == text.count }
        let c = pattern[p]
        if c == UInt8(ascii: "*") {
            var end = p
            while end < pattern.count, pattern[end] == UInt8(ascii: "*") { end += 1 }
            var crossesSlash = !pathname
            if pathname, end - p >= 2 {
                let afterSlash = p == 0 || pattern[p - 1] == Self.slash
                let beforeSlash = end == pattern.count || pattern[end] == Self.slash
                    || (pattern[end] == UInt8(ascii: "\\") && end + 1 < pattern.count && pattern[end + 1] == Self.slash)
                if afterSlash && beforeSlash {
                    // `**/` may also stand for no directory at all.
                    if end < pattern.count, pattern[end] == Self.slash, match(end + 1, text, t, &memo) { return true }
                    crossesSlash = true
                }
            }
            if end == pattern.count { return crossesSlash || !text[t...].contains(Self.slash) }
            if !crossesSlash, pattern[end] == Self.slash {
                guard let next = text[t...].firstIndex(of: Self.slash) else { return false }
                return match(end + 1, text, next + 1, &memo)
            }
            var position = t
            while position <= text.count {
                if match(end, text, position, &memo) { return true }
                if position == text.count || (!crossesSlash && text[position] == Self.slash) { return false }
                position += 1
            }
            return false
        }
        guard t < text.count else { return false }
        let byte = text[t]
        switch c {
        case UInt8(ascii: "\\"):
            guard p + 1 < pattern.count, pattern[p + 1] == byte else { return false }
            return match(p + 2, text, t + 1, &memo)
        case UInt8(ascii: "?"):
            if pathname && byte == Self.slash { return false }
            return match(p + 1, text, t + 1, &memo)
        case UInt8(ascii: "["):
            guard let (matched, end) = matchClass(from: p + 1, byte) else { return false }
            if !matched || (pathname && byte == Self.slash) { return false }
            return match(end + 1, text, t + 1, &memo)
        default:
            return c == byte && match(p + 1, text, t + 1, &memo)
        }
    }

    /// Whether `byte` is in the class that starts after `[` at `start`, and the index of its `]`;
    /// nil when the class never closes or names an unknown `[:class:]` (the pattern matches nothing).
    private func matchClass(from start: Int, _ byte: UInt8) -> (Bool, Int)? {
        var p = start
        guard p < pattern.count else { return nil }
        var negated = false
        if pattern[p] == UInt8(ascii: "!") || pattern[p] == UInt8(ascii: "^") {
            negated = true
            p += 1
        }
        var matched = false
        var previous: UInt8? = nil
        var first = true
        while true {
            guard p < pattern.count else { return nil }
            var c = pattern[p]
            if c == UInt8(ascii: "]") && !first { break }
            first = false
            if c == UInt8(ascii: "\\") {
                p += 1
                guard p < pattern.count else { return nil }
                c = pattern[p]
                if byte == c { matched = true }
                previous = c
            } else if c == UInt8(ascii: "-"), let low = previous, p + 1 < pattern.count, pattern[p + 1] != UInt8(ascii: "]") {
                p += 1
                var high = pattern[p]
                if high == UInt8(ascii: "\\") {
                    p += 1
                    guard p < pattern.count else { return nil }
                    high = pattern[p]
                }
                if low <= byte && byte <= high { matched = true }
                previous = nil
            } else if c == UInt8(ascii: "["), p + 1 < pattern.count, pattern[p + 1] == UInt8(ascii: ":") {
                let nameStart = p + 2
                guard let close = pattern[nameStart...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
                if close - nameStart < 1 || pattern[close - 1] != UInt8(ascii: ":") {
                    // Not "[:name:]": the '[' is an ordinary member.
                    if byte == c { matched = true }
                    previous = c
                } else {
                    let name = String(decoding: pattern[nameStart..<(close - 1)], as: UTF8.self)
                    guard let inClass = Self.posixClass(name, byte) else { return nil }
                    if inClass { matched = true }
                    previous = nil
                    p = close
                }
            } else {
                if byte == c { matched = true }
                previous = c
            }
            p += 1
        }
        return (matched != negated, p)
    }

    /// POSIX classes in the C locale; nil for an unknown name.
    private static func posixClass(_ name: String, _ byte: UInt8) -> Bool? {
        let c = byte
        let upper = (0x41...0x5A).contains(c), lower = (0x61...0x7A).contains(c), digit = (0x30...0x39).contains(c)
        let printable = (0x20...0x7E).contains(c)
        switch name {
        case "alnum": return upper || lower || digit
        case "alpha": return upper || lower
        case "blank": return c == 0x20 || c == 0x09
        case "cntrl": return c < 0x20 || c == 0x7F
        case "digit": return digit
        case "graph": return printable && c != 0x20
        case "lower": return lower
        case "print": return printable
        case "punct": return printable && c != 0x20 && !(upper || lower || digit)
        case "space": return c == 0x20 || (0x09...0x0D).contains(c)
        case "upper": return upper
        case "xdigit": return digit || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
        default: return nil
        }
    }
}
