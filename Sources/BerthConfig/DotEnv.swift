import BerthCore

/// Env files: the settings and secrets of an environment, one `KEY=value` per line.
///
/// ```
/// # comment
/// export DATABASE_URL=postgres://db/shop   # `export ` is optional; ` #` starts a comment
/// GREETING='hello $USER'                   # single quotes: literal
/// MOTD="first line\nsecond line"           # double quotes: \n \" \\ \$ escapes
/// ```
///
/// There is no variable expansion. `PORT` and `BERTH_*` are set by Berth for each slot, so an
/// env file may not set them. A key set twice keeps its first position and takes its last value.
public enum DotEnv {
    /// Env files hold settings, not data: this is far beyond any real one, and keeps every host's
    /// plan within what its engine reads.
    public static let maxBytes = 1 << 20

    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> [EnvVar] {
        let diagnostics = Diagnostics()
        var variables: [EnvVar] = []
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        for (index, line) in scalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Array(line)
            if line.last == "\r" { line.removeLast() }
            let parsed = diagnostics.check { () throws(ConfigError) in
                var reader = Line(line, number: index + 1, file: file)
                return try reader.parse()
            }
            if let parsed { variables.append(parsed) }
        }
        try diagnostics.throwIfAny()
        return merge([variables])
    }

    /// Later values win; each name stays where it first appeared.
    public static func merge(_ lists: [[EnvVar]]) -> [EnvVar] {
        var result: [EnvVar] = []
        var positions: [String: Int] = [:]
        for variable in lists.joined() {
            if let position = positions[variable.name] {
                result[position].value = variable.value
            } else {
                positions[variable.name] = result.count
                result.append(variable)
            }
        }
        return result
    }

    /// Whether Berth sets this variable itself (so an env file must not).
    public static func isReserved(_ name: String) -> Bool {
        name == "PORT" || name.hasPrefix("BERTH_")
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || isLetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || isLetter($0) || ("0"..."9").contains($0) }
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    /// One line of an env file.
    private struct Line {
        let scalars: [Unicode.Scalar]
        let number: Int
        let file: String
        var index = 0

        init(_ scalars: [Unicode.Scalar], number: Int, file: String) {
            self.scalars = scalars
            self.number = number
            self.file = file
        }

        private var atEnd: Bool { index >= scalars.count }
        private var current: Unicode.Scalar? { atEnd ? nil : scalars[index] }

        private func error(at index: Int, _ message: String) -> ConfigError {
            ConfigError(location: SourceLocation(file: file, line: number, column: index + 1), message: message)
        }

        private mutating func skipBlanks() {
            while let scalar = current, scalar == " " || scalar == "\t" { index += 1 }
        }

        private func text(_ range: Range<Int>) -> String {
            var result = ""
            result.unicodeScalars.append(contentsOf: scalars[range])
            return result
        }

        mutating func parse() throws(ConfigError) -> EnvVar? {
            if let nul = scalars.firstIndex(of: "\0") { throw error(at: nul, "NUL characters are not allowed") }
            skipBlanks()
            guard let first = current, first != "#" else { return nil }
            if text(index..<min(index + 7, scalars.count)) == "export " || text(index..<min(index + 7, scalars.count)) == "export\t" {
                index += 7
                skipBlanks()
            }
            let keyStart = index
            while let scalar = current, scalar != "=", scalar != " ", scalar != "\t" { index += 1 }
            let name = text(keyStart..<index)
            skipBlanks()
            guard current == "=" else {
                throw error(at: keyStart, "expected KEY=value, found \(quote(text(keyStart..<scalars.count)))")
            }
            guard DotEnv.isValidName(name) else {
                throw error(at: keyStart, "\(quote(name)) is not a valid variable name; use letters, digits and '_', "
                    + "not starting with a digit")
            }
            if name == "PORT" {
                throw error(at: keyStart, "PORT is set by Berth for each slot (the service's port in blue, port + 1 "
                    + "in green); remove it from the env file")
            }
            if name.hasPrefix("BERTH_") {
                throw error(at: keyStart, "\(name) is reserved: Berth sets BERTH_* variables itself; rename it")
            }
            index += 1
            skipBlanks()
            return EnvVar(name: name, value: try value())
        }

        private mutating func value() throws(ConfigError) -> String {
            switch current {
            case "'":
                let open = index
                guard let close = scalars[(open + 1)...].firstIndex(of: "'") else {
                    throw error(at: open, "missing closing single quote")
                }
                index = close + 1
                try expectEndOfLine()
                return text((open + 1)..<close)
            case "\"":
                let open = index
                var value = ""
                index += 1
                while let scalar = current {
                    if scalar == "\"" {
                        index += 1
                        try expectEndOfLine()
                        return value
                    }
                    if scalar == "\\" {
                        let escape = index + 1 < scalars.count ? scalars[index + 1] : nil
                        switch escape {
                        case "n": value += "\n"
                        case "\"": value += "\""
                        case "\\": value += "\\"
                        case "$": value += "$"
                        default:
                            let shown = escape.map { "'\\\(String($0))'" } ?? "'\\' at the end of the line"
                            throw error(at: index, "unknown escape \(shown) in double quotes; use \\n, \\\", \\\\ or \\$")
                        }
                        index += 2
                        continue
                    }
                    value.unicodeScalars.append(scalar)
                    index += 1
                }
                throw error(at: open, "missing closing double quote")
            default:
                var end = scalars.count
                for position in index..<scalars.count where scalars[position] == "#" {
                    if scalars[position - 1] == " " || scalars[position - 1] == "\t" {
                        end = position
                        break
                    }
                }
                while end > index, scalars[end - 1] == " " || scalars[end - 1] == "\t" { end -= 1 }
                return text(index..<end)
            }
        }

        /// After a closing quote: only blanks and an optional `# comment`.
        private mutating func expectEndOfLine() throws(ConfigError) {
            skipBlanks()
            if let scalar = current, scalar != "#" {
                throw error(at: index, "unexpected text after the closing quote; put comments after ' #'")
            }
        }
    }
}
