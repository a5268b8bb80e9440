import BerthCore

/// `notify:` — a webhook and/or a local command that hear the result of every deploy and rollback.
struct NotifySection {
    static let keys = ["webhook", "command"]

    private(set) var config = NotifyConfig()

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(node, context: "in notify", allowed: Self.keys, diagnostics)
        config.webhook = diagnostics.check { () throws(ConfigError) in
            guard let node = fields.optional("webhook") else { return nil }
            let url = try node.singleLine(expected: "a URL")
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.count > 8,
                  !url.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" }) else {
                throw node.error("the webhook must be an http:// or https:// URL without spaces or quotes, found \(quote(url))")
            }
            return url
        }
        config.command = diagnostics.check { () throws(ConfigError) in
            try fields.optional("command")?.singleLine(expected: "a command")
        }
        if config.webhook == nil, config.command == nil, fields.optional("webhook") == nil, fields.optional("command") == nil {
            diagnostics.add(node.location, "notify needs a 'webhook', a 'command', or both")
        }
    }
}
