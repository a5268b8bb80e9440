import BerthCore

/// `release_store:` — the host (and directory) where deploys publish the desired release, so a
/// host that was off catches up by itself when it boots.
struct ReleaseStoreSection {
    static let keys = ["host", "address", "port", "path", "wait"]
    /// A booting host waits at most this long for the store before it stays on its release.
    static let maxWaitMs = 600_000

    private(set) var config = ReleaseStoreConfig(host: "")
    /// Where `host` is written, for the cross-check against `hosts:`.
    private(set) var hostNode: ConfigNode?

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(node, context: "in release_store", allowed: Self.keys, diagnostics)
        if let host = diagnostics.check({ () throws(ConfigError) in try fields.required("host") }) {
            hostNode = host
            config.host = diagnostics.check { () throws(ConfigError) in try host.name("host") } ?? ""
        }
        config.address = diagnostics.check { () throws(ConfigError) in
            guard let node = fields.optional("address") else { return nil }
            return try SSHWord.read(node, label: "address", expected: "an address")
        }
        config.port = diagnostics.check { () throws(ConfigError) in try fields.optional("port")?.integer(in: 1...65535) }
        config.path = diagnostics.check { () throws(ConfigError) in
            guard let node = fields.optional("path") else { return nil }
            let path = try node.singleLine(expected: "a directory")
            let safe = path.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "/._-".unicodeScalars.contains($0)
            }
            guard path.hasPrefix("/"), path.count > 1, safe, !path.split(separator: "/").contains("..") else {
                throw node.error("the store path must be an absolute directory made of letters, digits, '/', '.', '_' or '-' (no '..'), found \(quote(path))")
            }
            return path.hasSuffix("/") ? String(path.dropLast()) : path
        } ?? ReleaseStoreConfig.defaultPath
        config.waitMs = diagnostics.check { () throws(ConfigError) in
            guard let node = fields.optional("wait") else { return nil }
            let wait = try node.duration()
            guard wait <= Self.maxWaitMs else {
                throw node.error("wait is how long a booting host looks for the store; at most 10m, found \(node.found)")
            }
            return wait
        } ?? ReleaseStoreConfig.defaultWaitMs
    }
}
