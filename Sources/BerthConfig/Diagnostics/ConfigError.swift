/// A place in a file: 1-based line and column (columns count Unicode scalars, as libyaml does).
///
/// Prints as `berth.yml:12:5`, or just `berth.yml` for a problem with the whole file (line 0),
/// such as a file that cannot be read.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// The file as a whole, not a place inside it.
    public init(file: String) {
        self.init(file: file, line: 0, column: 0)
    }

    public var description: String {
        line > 0 ? "\(file):\(line):\(column)" : file
    }
}

/// A problem in the app file or an env file; prints as `berth.yml:12:5: <what is wrong, how to fix it>`.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String

    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// Every problem found in one pass, in file order; prints one error per line.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public let errors: [ConfigError]

    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    public init(errors: [ConfigError]) {
        self.init(errors)
    }

    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
