import BerthCore

/// `proxy:` at the top level, or under an environment (where it replaces the top-level one).
struct ProxySection {
    static let keys = ["listen", "domains"]

    struct Route {
        let domain: String
        let domainNode: ConfigNode
        let service: String
        let serviceNode: ConfigNode
    }

    private(set) var listen = 80
    /// The `listen:` value, if written (the default, 80, can never meet a service port).
    private(set) var listenNode: ConfigNode?
    /// Every valid `domain: service` line, in file order.
    private(set) var routes: [Route] = []

    /// `context` names the section in messages: `in proxy`, `in the proxy of environment 'staging'`.
    init(_ node: ConfigNode, context: String, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(node, context: context, allowed: Self.keys, diagnostics)
        listenNode = fields.optional("listen")
        listen = diagnostics.check { () throws(ConfigError) in try fields.optional("listen")?.integer(in: 1...65535) } ?? 80
        guard let domains = fields.optional("domains") else { return }
        guard case let .mapping(entries) = domains.content else {
            diagnostics.add(domains.mismatch("a mapping of domains to services"))
            return
        }
        let unique = ConfigNode.uniqueEntries(entries, diagnostics) { domain, first in
            "domain '\(domain)' is listed twice \(context); the first is at line \(first.line)"
        }
        for entry in unique {
            let domainOK = diagnostics.check { () throws(ConfigError) in
                try Domain.check(entry.name, at: entry.key.location)
                return true
            } ?? false
            let service = diagnostics.check { () throws(ConfigError) in
                try entry.value.labelled(entry.name).name("service")
            }
            if domainOK, let service {
                routes.append(Route(domain: entry.name, domainNode: entry.key, service: service, serviceNode: entry.value))
            }
        }
    }

    /// Domains grouped by service, in order of first appearance.
    var config: ProxyConfig {
        var sites: [ProxySite] = []
        for route in routes {
            if let index = sites.firstIndex(where: { $0.service == route.service }) {
                sites[index].domains.append(route.domain)
            } else {
                sites.append(ProxySite(domains: [route.domain], service: route.service))
            }
        }
        return ProxyConfig(listen: listen, sites: sites)
    }
}
