import BerthCore

/// `environments:` — the places the app runs, each on some of the hosts.
struct EnvironmentsSection {
    private(set) var environments: [EnvironmentSection] = []

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let entries = try node.namedEntries("environment", diagnostics)
        if entries.isEmpty { throw node.error("'environments' must define at least one environment") }
        for entry in entries {
            diagnostics.check { () throws(ConfigError) in
                try Name.check(entry.name, kind: "environment", at: entry.key.location)
            }
            if let environment = diagnostics.check({ () throws(ConfigError) in
                try EnvironmentSection(entry, diagnostics)
            }) {
                environments.append(environment)
            }
        }
    }
}

/// One environment under `environments:`.
struct EnvironmentSection {
    static let keys = ["hosts", "env_file", "port_offset", "proxy", "rollout", "watch"]

    let name: String
    /// The environment's key (`production:`).
    let nameNode: ConfigNode
    private(set) var hosts: [(name: String, node: ConfigNode)] = []
    private(set) var envFiles: [(path: String, node: ConfigNode)] = []
    private(set) var portOffset = 0
    /// The `port_offset:` value, where port clashes with other environments are reported.
    private(set) var portOffsetNode: ConfigNode?
    private(set) var proxy: ProxySection?
    private(set) var rollout: RolloutSection?
    private(set) var watch: WatchConfig?

    init(_ entry: NamedEntry, _ diagnostics: Diagnostics) throws(ConfigError) {
        name = entry.name
        nameNode = entry.key
        let fields = try Fields(entry.value, context: "in environment '\(entry.name)'", allowed: Self.keys, diagnostics)
        hosts = diagnostics.check { () throws(ConfigError) in
            try fields.required("hosts").names("host", nonEmpty: true, diagnostics)
        } ?? []
        if let node = fields.optional("env_file") {
            envFiles = diagnostics.check { () throws(ConfigError) in try Self.paths(node, diagnostics) } ?? []
        }
        if let node = fields.optional("port_offset"),
           let offset = diagnostics.check({ () throws(ConfigError) in try node.integer(in: 0...10_000) }) {
            portOffset = offset
            portOffsetNode = node
        }
        if let node = fields.optional("proxy") {
            proxy = diagnostics.check { () throws(ConfigError) in
                try ProxySection(node, context: "in the proxy of environment '\(entry.name)'", diagnostics)
            }
        }
        if let node = fields.optional("rollout") {
            rollout = diagnostics.check { () throws(ConfigError) in
                try RolloutSection(node, context: "in the rollout of environment '\(entry.name)'", diagnostics)
            }
        }
        if let node = fields.optional("watch") {
            watch = diagnostics.check { () throws(ConfigError) in
                try WatchSection(node, context: "in the watch of environment '\(entry.name)'", allowsOff: true, diagnostics).config
            }
        }
    }

    /// `env_file:` is one path or a list of paths.
    private static func paths(_ node: ConfigNode, _ diagnostics: Diagnostics)
        throws(ConfigError) -> [(path: String, node: ConfigNode)] {
        if case .sequence = node.content {
            return try node.list(expected: "a path or a list of paths").compactMap { item in
                diagnostics.check { () throws(ConfigError) in
                    guard case .scalar(_, let kind, _) = item.content, kind != .null else {
                        throw item.error("expected a path in 'env_file', found \(item.found)")
                    }
                    return (try item.singleLine(expected: "a path"), item)
                }
            }
        }
        guard case .scalar(_, let kind, _) = node.content, kind != .null else {
            throw node.mismatch("a path or a list of paths")
        }
        return [(try node.singleLine(expected: "a path"), node)]
    }
}
