import BerthCore

/// `health:` under a service: the HTTP check a new release must pass before it gets traffic.
struct HealthSection {
    static let keys = ["path", "interval", "timeout", "attempts"]

    private(set) var check = HealthCheck()

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(node, context: "in health", allowed: Self.keys, diagnostics)
        check.path = diagnostics.check { () throws(ConfigError) in
            guard let node = fields.optional("path") else { return nil }
            let path = try node.text(expected: "a path such as /health")
            try Self.checkPath(path, at: node.location)
            return path
        } ?? check.path
        check.intervalMs = diagnostics.check { () throws(ConfigError) in try fields.optional("interval")?.duration() }
            ?? check.intervalMs
        check.timeoutMs = diagnostics.check { () throws(ConfigError) in try fields.optional("timeout")?.duration() }
            ?? check.timeoutMs
        check.attempts = diagnostics.check { () throws(ConfigError) in
            try fields.optional("attempts")?.integer(in: 1...10_000)
        } ?? check.attempts
    }

    static func checkPath(_ path: String, at location: SourceLocation) throws(ConfigError) {
        guard path.hasPrefix("/") else {
            throw ConfigError(location: location, message: "health path must start with '/', as in '/health', found \(quote(path))")
        }
        let forbidden: Set<Unicode.Scalar> = ["'", "\"", "`", "\\"]
        if path.unicodeScalars.contains(where: { forbidden.contains($0) || $0.properties.isWhitespace
            || $0.value < 0x20 || $0.value == 0x7F }) {
            throw ConfigError(location: location,
                              message: "health path must not contain whitespace, quotes or backslashes, found \(quote(path))")
        }
    }
}
