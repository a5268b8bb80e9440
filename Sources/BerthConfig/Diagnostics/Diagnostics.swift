/// Collects the problems of one pass so the user sees all of them at once.
///
/// Section types read one value at a time through `check`: a value that fails is recorded and
/// comes back as nil, and the section carries on with the next key.
final class Diagnostics {
    private(set) var errors: [ConfigError] = []

    var isEmpty: Bool { errors.isEmpty }

    func add(_ error: ConfigError) {
        errors.append(error)
    }

    func add(_ location: SourceLocation, _ message: String) {
        errors.append(ConfigError(location: location, message: message))
    }

    /// Runs `body`; on error records it and returns nil.
    func check<T>(_ body: () throws(ConfigError) -> T?) -> T? {
        do {
            return try body()
        } catch {
            errors.append(error)
            return nil
        }
    }

    /// Errors sorted by place (stable, so problems found at one place keep their order), each once:
    /// a YAML alias repeats its anchor's nodes, and with them their errors.
    var sorted: ConfigErrors {
        var unique: [ConfigError] = []
        var seen: Set<ConfigError> = []
        for error in errors where seen.insert(error).inserted { unique.append(error) }
        let ordered = unique.enumerated().sorted { lhs, rhs in
            let (l, r) = (lhs.element.location, rhs.element.location)
            if l.file != r.file { return lhs.offset < rhs.offset }
            if l.line != r.line { return l.line < r.line }
            if l.column != r.column { return l.column < r.column }
            return lhs.offset < rhs.offset
        }
        return ConfigErrors(ordered.map(\.element))
    }

    /// Throws everything collected so far, if anything.
    func throwIfAny() throws(ConfigErrors) {
        if !errors.isEmpty { throw sorted }
    }
}
