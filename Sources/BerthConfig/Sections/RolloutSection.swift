import BerthCore

/// `rollout:` at the top level or in an environment: deploy in batches, stop at the first failures.
struct RolloutSection {
    static let keys = ["batch", "pause", "max_failures"]

    private(set) var config = RolloutConfig(batch: .count(1))

    init(_ node: ConfigNode, context: String, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(node, context: context, allowed: Self.keys, diagnostics)
        if let batch = diagnostics.check({ () throws(ConfigError) in try fields.required("batch") }) {
            config.batch = diagnostics.check { () throws(ConfigError) in try Self.batchSize(batch) } ?? config.batch
        }
        config.pauseMs = diagnostics.check { () throws(ConfigError) in try fields.optional("pause")?.duration() } ?? 0
        config.maxFailures = diagnostics.check { () throws(ConfigError) in
            try fields.optional("max_failures")?.integer(in: 0...10_000)
        } ?? 0
    }

    /// `2` (hosts) or `"25%"` (of the environment's hosts).
    private static func batchSize(_ node: ConfigNode) throws(ConfigError) -> RolloutConfig.BatchSize {
        if case let .scalar(text, kind, _) = node.content, kind != .int, text.hasSuffix("%") {
            guard let percent = Int(text.dropLast()), (1...100).contains(percent) else {
                throw node.error("expected a batch size such as 2 or \"25%\" (1% to 100%), found \(quote(text))")
            }
            return .percent(percent)
        }
        do {
            return .count(try node.integer(in: 1...10_000))
        } catch {
            throw node.error("expected a batch size such as 2 or \"25%\", found \(node.found)")
        }
    }
}
