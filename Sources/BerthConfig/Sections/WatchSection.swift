import BerthCore

/// `watch:` — a duration (`30s`), or `{for: 30s, interval: 1s, failures: 3}`; in an environment
/// also `false`, for no watch window there.
struct WatchSection {
    static let keys = ["for", "interval", "failures"]

    private(set) var config: WatchConfig

    init(_ node: ConfigNode, context: String, allowsOff: Bool, _ diagnostics: Diagnostics) throws(ConfigError) {
        if case let .scalar(_, kind, _) = node.content, kind == .bool {
            guard allowsOff, try node.bool() == false else {
                throw node.error(allowsOff ? "'watch' takes a duration such as 30s, or false for none"
                                           : "'watch' takes a duration such as 30s (leave it out for no watch window)")
            }
            config = .off
            return
        }
        if case .scalar = node.content {
            config = WatchConfig(durationMs: try node.duration())
            return
        }
        let fields = try Fields(node, context: context, allowed: Self.keys, diagnostics)
        config = WatchConfig(durationMs: try fields.required("for").duration())
        if let interval = diagnostics.check({ () throws(ConfigError) in try fields.optional("interval")?.duration() }) {
            config.intervalMs = interval
        }
        if let failures = diagnostics.check({ () throws(ConfigError) in try fields.optional("failures")?.integer(in: 1...100) }) {
            config.failures = failures
        }
        if config.intervalMs > config.durationMs, let node = fields.optional("interval") {
            diagnostics.add(node.location, "the watch interval (\(config.intervalMs) ms) is longer than the window (\(config.durationMs) ms); make it shorter")
        }
    }
}
