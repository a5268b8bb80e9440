import BerthCore

/// What the engine would refuse on a host for reasons the app file alone decides, checked here so
/// that a deploy never starts on some hosts and fails on others (`PlanCheck` and the engine still
/// check everything again: they never rely on the CLI).
extension AppFileSection {
    /// Every host an environment deploys to runs at least one service: a host engine refuses a plan
    /// with nothing to run ("there are no services to run on this host").
    func checkHostsHaveServices(_ diagnostics: Diagnostics) {
        guard let hosts, hosts.rolesKnown, let services, let environments,
              services.services.count == services.names.count, services.services.allSatisfy({ $0.roleNode != nil })
        else { return }
        let roles = Set(services.services.map(\.config.role))
        let serviceRoles = Suggestion.list(services.services.map(\.config.role).uniqued())
        var firstEnvironment: [String: EnvironmentSection] = [:]
        for environment in environments.environments {
            for (name, _) in environment.hosts where firstEnvironment[name] == nil { firstEnvironment[name] = environment }
        }
        for host in hosts.hosts {
            guard !host.config.roles.contains(where: roles.contains), let node = host.rolesNode else { continue }
            // A host no environment deploys to (a store-only host) runs nothing, rightly.
            guard let environment = firstEnvironment[host.config.name] else { continue }
            diagnostics.add(node.location,
                            "no service has any of the roles of host '\(host.config.name)' (\(host.config.roles.joined(separator: ", "))), "
                                + "so environment '\(environment.name)' would deploy nothing to it; give it the role of a service "
                                + "(\(serviceRoles)) or take it out of '\(environment.name)'")
        }
    }

    /// On each host, nginx's listen port never meets a service's blue or green port (a slot that
    /// finds its port taken fails to start, and nginx cannot listen where a service does), and two
    /// environments never serve the same domain on the same port (nginx would answer both with one).
    func checkProxyOnHosts(_ diagnostics: Diagnostics) {
        guard let hosts, let services, let environments else { return }
        let byName = Dictionary(hosts.hosts.map { ($0.config.name, $0) }, uniquingKeysWith: { first, _ in first })
        let withPorts = services.services.filter { $0.portNode != nil }
        var reported: Set<String> = []
        // Per host: the environments on it, with the routes nginx serves there.
        var onHost: [String: [(environment: EnvironmentSection, proxy: ProxySection?, routes: [ProxySection.Route])]] = [:]
        var hostOrder: [String] = []
        let roleOf = Dictionary(services.services.map { ($0.config.name, $0.config.role) }, uniquingKeysWith: { first, _ in first })
        for environment in environments.environments {
            let proxy = environment.proxy ?? self.proxy
            for (name, _) in environment.hosts {
                guard let host = byName[name] else { continue }
                let routes = (proxy?.routes ?? []).filter { route in
                    roleOf[route.service].map(host.config.roles.contains) ?? false
                }
                if onHost[name] == nil { hostOrder.append(name) }
                onHost[name, default: []].append((environment, proxy, routes))
            }
        }
        for name in hostOrder {
            guard let host = byName[name], let placed = onHost[name] else { continue }
            for (environment, proxy, routes) in placed where !routes.isEmpty {
                guard let proxy, let listenNode = proxy.listenNode else { continue }
                let local = withPorts.filter { host.config.roles.contains($0.config.role) }
                for (other, _, _) in placed {
                    for service in local {
                        guard let port = service.config.port else { continue }
                        let blue = port + other.portOffset
                        guard proxy.listen == blue || proxy.listen == blue + 1 else { continue }
                        let key = "listen \(environment.name) \(other.name) \(service.config.name)"
                        guard reported.insert(key).inserted else { continue }
                        let whose = other.name == environment.name ? "" : " of environment '\(other.name)'"
                        diagnostics.add(listenNode.location,
                                        "nginx of environment '\(environment.name)' would listen on port \(proxy.listen) of host '\(name)', "
                                            + "where service '\(service.config.name)'\(whose) uses ports \(blue) and \(blue + 1); "
                                            + "choose a listen port that no service uses")
                    }
                }
            }
            for (index, later) in placed.enumerated() where !later.routes.isEmpty {
                for earlier in placed[..<index] where !earlier.routes.isEmpty {
                    guard (earlier.proxy?.listen ?? 80) == (later.proxy?.listen ?? 80) else { continue }
                    let theirs = Set(earlier.routes.map(\.domain))
                    for route in later.routes where theirs.contains(route.domain) {
                        let key = "domain \(earlier.environment.name) \(later.environment.name) \(route.domain)"
                        guard reported.insert(key).inserted else { continue }
                        let location = later.environment.proxy != nil ? route.domainNode.location : later.environment.nameNode.location
                        diagnostics.add(location,
                                        "environments '\(earlier.environment.name)' and '\(later.environment.name)' share host '\(name)' "
                                            + "and would both serve '\(route.domain)' on port \(later.proxy?.listen ?? 80), where nginx "
                                            + "answers only one of them; give '\(later.environment.name)' its own proxy domains or listen port")
                    }
                }
            }
        }
    }
}

/// What the host engine's plan check (`PlanCheck`) accepts, for values the app file's own rules
/// allow more freely.
enum EngineRules {
    /// `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 100 characters: names in paths, units and key lines.
    static func isName(_ value: String) -> Bool {
        let scalars = Array(value.unicodeScalars)
        guard let first = scalars.first, isAlphanumeric(first), scalars.count <= 100 else { return false }
        return scalars.allSatisfy { isAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}

extension Suggestion {
    /// `a, b, c`, or the first few and how many there are.
    static func list(_ words: [String]) -> String {
        words.count > maxListed ? words.prefix(maxListed).joined(separator: ", ") + ", … (\(words.count) in all)"
            : words.joined(separator: ", ")
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen: Set<Element> = []
        return filter { seen.insert($0).inserted }
    }
}
