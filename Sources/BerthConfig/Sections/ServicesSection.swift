import BerthCore

/// `services:` — long-running processes, each placed on the hosts that have its role.
struct ServicesSection {
    private(set) var services: [ServiceSection] = []
    /// Every service name written, even for services that had errors.
    private(set) var names: [String] = []

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let entries = try node.namedEntries("service", diagnostics)
        if entries.isEmpty { throw node.error("'services' must define at least one service") }
        for entry in entries {
            names.append(entry.name)
            diagnostics.check { () throws(ConfigError) in
                try Name.check(entry.name, kind: "service", at: entry.key.location)
            }
            if let service = diagnostics.check({ () throws(ConfigError) in try ServiceSection(entry, diagnostics) }) {
                services.append(service)
            }
        }
    }

    func service(named name: String) -> ServiceSection? {
        services.first { $0.config.name == name }
    }
}

/// One service under `services:`.
struct ServiceSection {
    static let keys = ["command", "role", "port", "stop_timeout", "health", "user", "sandbox", "hardening", "smoke"]
    static let portRange = 1024...65534

    private(set) var config: ServiceConfig
    /// The `role:` value, for "no host has role"; nil when missing or invalid.
    private(set) var roleNode: ConfigNode?
    /// The `port:` value, for port clashes; nil when there is no valid port.
    private(set) var portNode: ConfigNode?
    /// Whether `port:` was written at all (valid or not): `health:` is only checked against a missing port.
    let hasPortKey: Bool

    init(_ entry: NamedEntry, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(entry.value, context: "in service '\(entry.name)'", allowed: Self.keys, diagnostics)
        config = ServiceConfig(name: entry.name, command: "", role: "")
        config.command = diagnostics.check { () throws(ConfigError) in
            try fields.required("command").singleLine(expected: "a command")
        } ?? ""
        if let role = diagnostics.check({ () throws(ConfigError) in try fields.required("role") }),
           let name = diagnostics.check({ () throws(ConfigError) in try role.name("role") }) {
            config.role = name
            roleNode = role
        }
        hasPortKey = fields.optional("port") != nil
        if let node = fields.optional("port"),
           let port = diagnostics.check({ () throws(ConfigError) in try node.integer(in: Self.portRange) }) {
            config.port = port
            portNode = node
        }
        config.stopTimeoutMs = diagnostics.check { () throws(ConfigError) in
            try fields.optional("stop_timeout")?.duration()
        } ?? 10_000
        config.user = diagnostics.check { () throws(ConfigError) in
            guard let node = fields.optional("user") else { return nil }
            let user = try node.text(expected: "a user name")
            guard ServiceSandbox.isUserName(user) else {
                throw node.error("'user' must be a user name of lowercase letters, digits, '_' or '-' (at most 32), found \(quote(user))")
            }
            return user
        }
        config.sandbox = diagnostics.check { () throws(ConfigError) in try fields.optional("sandbox")?.bool() } ?? true
        if let node = fields.optional("hardening") {
            config.hardening = diagnostics.check { () throws(ConfigError) in try Self.hardening(node, diagnostics) } ?? []
        }
        if let node = fields.optional("smoke") {
            config.smoke = diagnostics.check { () throws(ConfigError) in
                try SmokeSection(node, service: entry.name, hasPort: hasPortKey, diagnostics).checks
            } ?? []
        }
        if let health = fields.optional("health") {
            if !hasPortKey, let key = fields.keyNode("health") {
                diagnostics.add(key.location,
                                "service '\(entry.name)' has a health check but no port; add 'port', or remove 'health'")
            }
            config.health = diagnostics.check { () throws(ConfigError) in try HealthSection(health, diagnostics).check }
        } else if hasPortKey {
            config.health = HealthCheck()
        }
    }

    /// `hardening:` — systemd directives by name (`ProtectHome: read-only`), each replacing Berth's
    /// default of that name or added to the unit.
    static func hardening(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) -> [UnitDirective] {
        guard case let .mapping(pairs) = node.content else {
            throw node.mismatch("a mapping of systemd directives to values, such as 'ProtectHome: read-only'")
        }
        var result: [UnitDirective] = []
        for entry in ConfigNode.uniqueEntries(pairs, diagnostics, duplicate: { key, first in
            "duplicate directive '\(key)' in hardening; the first is at line \(first.line)"
        }) {
            let directive = diagnostics.check { () throws(ConfigError) -> UnitDirective? in
                guard ServiceSandbox.isDirectiveName(entry.name) else {
                    throw entry.key.error("'\(entry.name)' is not a systemd directive name; write it as in a unit file, e.g. 'ProtectHome'")
                }
                guard !ServiceSandbox.reserved.contains(entry.name) else {
                    throw entry.key.error("'\(entry.name)' is set by Berth and cannot be changed in hardening; use 'user', 'command' or 'stop_timeout' instead")
                }
                let value: String
                if case .scalar(_, .null, _) = entry.value.content {
                    value = ""
                } else {
                    value = try entry.value.text(expected: "a value such as 'yes' or 'read-only'")
                }
                guard ServiceSandbox.isDirectiveValue(value) else {
                    throw entry.value.error("the value of '\(entry.name)' must be one line, not ending in a backslash")
                }
                return UnitDirective(entry.name, value)
            }
            if let directive { result.append(directive) }
        }
        return result
    }
}
