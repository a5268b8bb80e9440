import BerthCore

/// `migrate:` — a command, or `{command, role, timeout, user}`; `migrate_rollback:` — a command, or
/// `{command, timeout, user}`. Both run on a host, in a release, as transient units.
struct MigrateSection {
    static let keys = ["command", "role", "timeout", "user"]
    static let rollbackKeys = ["command", "timeout", "user"]

    private(set) var config: MigrateConfig
    /// Where `role` is written, for the check that a host has it.
    private(set) var roleNode: ConfigNode?

    init(_ node: ConfigNode, rollback: ConfigNode?, _ diagnostics: Diagnostics) throws(ConfigError) {
        var role: (name: String, node: ConfigNode)?
        let run = try Self.command(node, key: "migrate", allowed: Self.keys, diagnostics) { fields throws(ConfigError) in
            if let node = fields.optional("role") { role = (try node.name("role"), node) }
        }
        config = MigrateConfig(run: run, role: role?.name)
        roleNode = role?.node
        if let rollback {
            config.rollback = diagnostics.check { () throws(ConfigError) in
                try Self.command(rollback, key: "migrate_rollback", allowed: Self.rollbackKeys, diagnostics) { _ throws(ConfigError) in }
            }
        }
    }

    private static func command(_ node: ConfigNode, key: String, allowed: [String], _ diagnostics: Diagnostics,
                                more: (Fields) throws(ConfigError) -> Void) throws(ConfigError) -> Hook {
        if case .scalar = node.content {
            return Hook(command: try node.singleLine(expected: "a command"), timeoutMs: MigrateConfig.defaultTimeoutMs)
        }
        let fields = try Fields(node, context: "in \(key)", allowed: allowed, diagnostics)
        var hook = Hook(command: try fields.required("command").singleLine(expected: "a command"),
                        timeoutMs: MigrateConfig.defaultTimeoutMs)
        hook.timeoutMs = diagnostics.check { () throws(ConfigError) in try fields.optional("timeout")?.duration() }
            ?? hook.timeoutMs
        if let node = fields.optional("user") {
            let user = try node.text(expected: "a user name")
            guard ServiceSandbox.isUserName(user) else {
                throw node.error("'user' must be a user name of lowercase letters, digits, '_' or '-' (at most 32), found \(quote(user))")
            }
            hook.user = user
        }
        try more(fields)
        return hook
    }
}
