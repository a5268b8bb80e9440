import BerthCore

/// `hosts:` — machines reached over SSH, by the name the rest of the file uses.
struct HostsSection {
    private(set) var hosts: [HostSection] = []
    /// Every host name written, even for hosts that had errors, so references to them do not
    /// add a second, misleading error.
    private(set) var names: [String] = []
    /// False when some host's roles could not be read: "no host has role" would then be a guess.
    private(set) var rolesKnown = true

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let entries = try node.namedEntries("host", diagnostics)
        if entries.isEmpty { throw node.error("'hosts' must define at least one host") }
        for entry in entries {
            names.append(entry.name)
            diagnostics.check { () throws(ConfigError) in try Name.check(entry.name, kind: "host", at: entry.key.location) }
            if let host = diagnostics.check({ () throws(ConfigError) in try HostSection(entry, diagnostics) }) {
                hosts.append(host)
                rolesKnown = rolesKnown && host.rolesKnown
            } else {
                rolesKnown = false
            }
        }
    }

    var allRoles: [String] {
        var roles: [String] = []
        var seen: Set<String> = []
        for role in hosts.flatMap(\.config.roles) where seen.insert(role).inserted { roles.append(role) }
        return roles
    }
}

/// One host under `hosts:`.
struct HostSection {
    static let keys = ["address", "user", "port", "roles", "optional"]

    private(set) var config: HostConfig
    /// Whether `roles` was read without error.
    private(set) var rolesKnown = false
    /// The `roles:` value, where "nothing to run on this host" is reported.
    private(set) var rolesNode: ConfigNode?
    /// The `user:` value, if written.
    private(set) var userNode: ConfigNode?

    init(_ entry: NamedEntry, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(entry.value, context: "in host '\(entry.name)'", allowed: Self.keys, diagnostics)
        config = HostConfig(name: entry.name, address: "", roles: [])
        config.address = diagnostics.check { () throws(ConfigError) in
            try SSHWord.read(fields.required("address"), label: "address", expected: "an address")
        } ?? ""
        userNode = fields.optional("user")
        rolesNode = fields.optional("roles")
        config.user = diagnostics.check { () throws(ConfigError) in
            guard let node = fields.optional("user") else { return nil }
            return try SSHWord.read(node, label: "user", expected: "a user name")
        }
        config.port = diagnostics.check { () throws(ConfigError) in try fields.optional("port")?.integer(in: 1...65535) }
        let before = diagnostics.errors.count
        config.roles = diagnostics.check { () throws(ConfigError) in
            try fields.required("roles").names("role", nonEmpty: true, diagnostics).map(\.name)
        } ?? []
        rolesKnown = diagnostics.errors.count == before
        config.optional = diagnostics.check { () throws(ConfigError) in try fields.optional("optional")?.bool() } ?? false
    }
}
