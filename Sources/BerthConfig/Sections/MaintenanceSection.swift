import BerthCore

/// `maintenance:` — `{page: maintenance.html, retry_after: 5m}`.
struct MaintenanceSection {
    static let keys = ["page", "retry_after"]

    private(set) var config = MaintenanceConfig()

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(node, context: "in maintenance", allowed: Self.keys, diagnostics)
        if let node = fields.optional("page") {
            config.page = diagnostics.check { () throws(ConfigError) in try node.singleLine(expected: "a path to an HTML file") }
        }
        if let node = fields.optional("retry_after") {
            if let ms = diagnostics.check({ () throws(ConfigError) in try node.duration() }) {
                guard ms % 1000 == 0, ms <= 86_400_000 else {
                    throw node.error("'retry_after' must be whole seconds, at most 24 hours")
                }
                config.retryAfterSeconds = ms / 1000
            }
        }
    }
}
