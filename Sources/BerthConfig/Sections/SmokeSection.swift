import BerthCore

/// `smoke:` under a service: checks the new slot must pass after its health check and before the
/// switch. Each entry is an HTTP check (`path:`) or a command (`command:`).
struct SmokeSection {
    static let httpKeys = ["method", "path", "host", "status", "contains", "json", "max_latency", "timeout"]
    static let keys = httpKeys + ["command"]
    static let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    private(set) var checks: [SmokeCheck] = []

    /// `hasPort`: HTTP checks need the service to listen.
    init(_ node: ConfigNode, service: String, hasPort: Bool, _ diagnostics: Diagnostics) throws(ConfigError) {
        for item in try node.list(expected: "a list of smoke checks") {
            if let check = diagnostics.check({ () throws(ConfigError) in
                try Self.check(item, service: service, hasPort: hasPort, diagnostics)
            }) {
                checks.append(check)
            }
        }
    }

    private static func check(_ node: ConfigNode, service: String, hasPort: Bool,
                              _ diagnostics: Diagnostics) throws(ConfigError) -> SmokeCheck? {
        let fields = try Fields(node, context: "in a smoke check of service '\(service)'", allowed: keys, diagnostics)
        var check = SmokeCheck()
        check.timeoutMs = diagnostics.check { () throws(ConfigError) in try fields.optional("timeout")?.duration() }
            ?? check.timeoutMs
        if let command = fields.optional("command") {
            if let path = fields.keyNode("path") {
                throw path.error("a smoke check is either a 'command' or an HTTP check with 'path', not both")
            }
            for key in httpKeys where key != "timeout" {
                if let extra = fields.keyNode(key) {
                    diagnostics.add(extra.location, "'\(key)' applies to HTTP smoke checks; a command check has only 'command' and 'timeout'")
                }
            }
            check.command = try command.singleLine(expected: "a command")
            return check
        }
        guard let pathNode = fields.optional("path") else {
            throw node.error("a smoke check of service '\(service)' needs 'path' (an HTTP check) or 'command'")
        }
        if !hasPort {
            throw pathNode.error("service '\(service)' has no port, so its smoke checks can only be commands; add 'port', or use 'command'")
        }
        let path = try pathNode.text(expected: "a path such as /health")
        try HealthSection.checkPath(path, at: pathNode.location)
        check.path = path
        if let node = fields.optional("method") {
            let method = try node.text(expected: "an HTTP method")
            guard methods.contains(method) else {
                throw node.error("'method' must be one of \(methods.joined(separator: ", ")), found \(quote(method))")
            }
            check.method = method
        }
        if let node = fields.optional("host") {
            let host = try node.singleLine(expected: "a host name")
            guard host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
                || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_") }) else {
                throw node.error("'host' must be a host name such as example.com (letters, digits, '.', '-', ':'), found \(quote(host))")
            }
            check.host = host
        }
        check.status = diagnostics.check { () throws(ConfigError) in try fields.optional("status")?.integer(in: 100...599) }
            ?? check.status
        if let node = fields.optional("contains") {
            check.contains = diagnostics.check { () throws(ConfigError) in try node.singleLine(expected: "text the body must contain") }
        }
        check.maxLatencyMs = diagnostics.check { () throws(ConfigError) in try fields.optional("max_latency")?.duration() }
        if let node = fields.optional("json") {
            check.json = try Self.json(node, diagnostics)
        }
        return check
    }

    /// `json: {status: ok, db.ready: true}`: YAML scalars become the JSON values they read as.
    private static func json(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) -> [JSONExpectation] {
        guard case let .mapping(pairs) = node.content else {
            throw node.mismatch("a mapping of JSON fields to the values they must have, such as {status: ok}")
        }
        let entries = ConfigNode.uniqueEntries(pairs, diagnostics) { key, first in
            "JSON field '\(key)' is listed twice; the first is at line \(first.line)"
        }
        var result: [JSONExpectation] = []
        for entry in entries {
            guard case let .scalar(text, kind, _) = entry.value.content else {
                diagnostics.add(entry.value.location, "the expected value of JSON field '\(entry.name)' must be a single value (text, number, true/false or null), found \(entry.value.found)")
                continue
            }
            let value: JSONValue
            switch kind {
            case .null: value = .null
            case .bool: value = .bool(["true", "yes", "on"].contains(text.lowercased()))
            case .int: value = Int(yamlInteger: text).map { .number(Double($0)) } ?? .string(text)
            case .float: value = Double(text).map { .number($0) } ?? .string(text)
            case .string: value = .string(text)
            }
            result.append(JSONExpectation(field: entry.name, value: value))
        }
        return result
    }
}
