/// systemd `EnvironmentFile=` text for a list of settings. Pure: the engine writes what this returns.
///
/// Every value is written in double quotes with `"`, `\`, `` ` `` and `$` escaped by a backslash:
/// the only characters systemd's env-file parser treats specially inside double quotes. So any value
/// (spaces, quotes, `#`, `$`, backslashes, newlines) reaches the process environment verbatim.
/// systemd does not expand variables in an `EnvironmentFile=`, so `$HOME` stays `$HOME`.
public enum EnvironmentFile {
    /// `NAME="value"` lines in the given order (systemd lets a later line override an earlier one),
    /// after an optional comment header.
    public static func render(_ variables: [EnvVar], header: [String] = []) -> String {
        var text = ""
        for line in header {
            text += line.isEmpty ? "#\n" : "# \(line)\n"
        }
        for variable in variables {
            text += "\(variable.name)=\(quote(variable.value))\n"
        }
        return text
    }

    /// `value` in double quotes, escaped for systemd's env-file parser.
    public static func quote(_ value: String) -> String {
        var quoted = "\""
        for character in value.unicodeScalars {
            switch character {
            case "\"", "\\", "`", "$": quoted += "\\"
            default: break
            }
            quoted.unicodeScalars.append(character)
        }
        return quoted + "\""
    }

    /// Whether systemd accepts `name` as an environment variable name: a letter or `_`, then
    /// letters, digits or `_` (the portable shell rule, which is stricter than systemd's own).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.isASCIILetter else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0.isASCIILetter || ("0"..."9").contains($0) }
    }
}

fileprivate extension Unicode.Scalar {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
