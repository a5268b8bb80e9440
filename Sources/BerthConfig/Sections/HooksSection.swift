import BerthCore

/// `hooks:` — commands at named points of a deploy. Each point takes one command, or a list of
/// commands; a command is text or `{command: ..., timeout: 2m, user: ...}`.
struct HooksSection {
    static let keys = HookPoint.allCases.map(\.rawValue)
    static let hookKeys = ["command", "timeout", "user"]

    private(set) var hooks = HooksConfig()

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(node, context: "in hooks", allowed: Self.keys, diagnostics)
        for point in HookPoint.allCases {
            guard let value = fields.optional(point.rawValue) else { continue }
            let items: [ConfigNode]
            if case .sequence = value.content {
                items = (try? value.list(expected: "a list of commands")) ?? []
            } else {
                items = [value]
            }
            var hooks: [Hook] = []
            for item in items {
                if let hook = diagnostics.check({ () throws(ConfigError) in try Self.hook(item, point: point, diagnostics) }) {
                    hooks.append(hook)
                }
            }
            self.hooks[point] = hooks
        }
    }

    private static func hook(_ node: ConfigNode, point: HookPoint, _ diagnostics: Diagnostics) throws(ConfigError) -> Hook {
        if case .scalar = node.content {
            return Hook(command: try node.singleLine(expected: "a command"))
        }
        let fields = try Fields(node, context: "in a '\(point.rawValue)' hook", allowed: hookKeys, diagnostics)
        var hook = Hook(command: try fields.required("command").singleLine(expected: "a command"))
        hook.timeoutMs = diagnostics.check { () throws(ConfigError) in try fields.optional("timeout")?.duration() }
            ?? hook.timeoutMs
        if let node = fields.optional("user") {
            guard point.onHost else {
                throw node.error("'\(point.rawValue)' hooks run on the deploying machine as you; 'user' applies to host hooks only")
            }
            let user = try node.text(expected: "a user name")
            guard ServiceSandbox.isUserName(user) else {
                throw node.error("'user' must be a user name of lowercase letters, digits, '_' or '-' (at most 32), found \(quote(user))")
            }
            hook.user = user
        }
        return hook
    }
}
