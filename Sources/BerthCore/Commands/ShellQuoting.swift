/// Quoting for the one place a shell is unavoidable: ssh joins its remote argv into a single string
/// that the remote login shell parses. Every word goes through here, so no value is ever interpreted.
public enum ShellQuoting {
    /// Characters that need no quoting in any POSIX shell.
    private static let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+%")

    /// One word, quoted only if it needs to be: `it's` becomes `'it'\''s'`.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingAll("'", with: "'\\''") + "'"
    }

    /// A whole argv as one shell command line.
    public static func join(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }
}

extension String {
    /// `replacingOccurrences(of:with:)` without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
