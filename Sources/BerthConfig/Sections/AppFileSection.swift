import BerthCore

/// The whole app file: reads every section, then checks what sections say about each other
/// (roles, host names, routed services, ports, unit names).
struct AppFileSection {
    static let keys = ["app", "release", "hosts", "services", "proxy", "rollout", "notify", "release_store", "environments", "hooks", "watch", "migrate", "migrate_rollback", "preflight", "maintenance"]
    static let required = "app, release, hosts, services and environments"
    /// `<app>.<env>.<service>` prefixes unit names (`...@green.service`); longer is not sane to read.
    static let maxUnitPrefix = 64

    private(set) var name: String?
    private(set) var release: ReleaseSection?
    private(set) var hosts: HostsSection?
    private(set) var services: ServicesSection?
    private(set) var proxy: ProxySection?
    private(set) var rollout: RolloutSection?
    private(set) var notify: NotifySection?
    private(set) var releaseStore: ReleaseStoreSection?
    private(set) var hooks: HooksConfig?
    private(set) var watch: WatchConfig?
    private(set) var migrate: MigrateSection?
    private(set) var preflight: PreflightConfig?
    private(set) var maintenance: MaintenanceConfig?
    private(set) var environments: EnvironmentsSection?
    /// Where `environments:` is written: unknown environment names asked for later point here.
    private(set) var environmentsLocation: SourceLocation

    init(_ root: ConfigNode?, file: String, _ diagnostics: Diagnostics) {
        environmentsLocation = SourceLocation(file: file, line: 1, column: 1)
        guard let root else {
            diagnostics.add(environmentsLocation, "the app file is empty; it needs the keys \(Self.required)")
            return
        }
        guard case .mapping = root.content else {
            diagnostics.add(root.location, "the app file must be a mapping with the keys \(Self.required), found \(root.found)")
            return
        }
        guard let fields = diagnostics.check({ () throws(ConfigError) in
            try Fields(root, context: "at the top level", allowed: Self.keys, diagnostics)
        }) else { return }

        name = diagnostics.check { () throws(ConfigError) in try fields.required("app").name("app") }
        release = diagnostics.check { () throws(ConfigError) in
            try ReleaseSection(fields.required("release"), diagnostics)
        }
        hosts = diagnostics.check { () throws(ConfigError) in try HostsSection(fields.required("hosts"), diagnostics) }
        services = diagnostics.check { () throws(ConfigError) in
            try ServicesSection(fields.required("services"), diagnostics)
        }
        if let node = fields.optional("proxy") {
            proxy = diagnostics.check { () throws(ConfigError) in try ProxySection(node, context: "in proxy", diagnostics) }
        }
        if let node = fields.optional("rollout") {
            rollout = diagnostics.check { () throws(ConfigError) in try RolloutSection(node, context: "in rollout", diagnostics) }
        }
        if let node = fields.optional("notify") {
            notify = diagnostics.check { () throws(ConfigError) in try NotifySection(node, diagnostics) }
        }
        if let node = fields.optional("release_store") {
            releaseStore = diagnostics.check { () throws(ConfigError) in try ReleaseStoreSection(node, diagnostics) }
        }
        if let node = fields.optional("hooks") {
            hooks = diagnostics.check { () throws(ConfigError) in try HooksSection(node, diagnostics).hooks }
        }
        if let node = fields.optional("watch") {
            watch = diagnostics.check { () throws(ConfigError) in
                try WatchSection(node, context: "in watch", allowsOff: false, diagnostics).config
            }
        }
        if let node = fields.optional("migrate") {
            migrate = diagnostics.check { () throws(ConfigError) in
                try MigrateSection(node, rollback: fields.optional("migrate_rollback"), diagnostics)
            }
        } else if let node = fields.keyNode("migrate_rollback") {
            diagnostics.add(node.location, "'migrate_rollback' undoes what 'migrate' does, and there is no 'migrate'; add 'migrate' or remove 'migrate_rollback'")
        }
        if let node = fields.optional("preflight") {
            preflight = diagnostics.check { () throws(ConfigError) in try PreflightSection(node, diagnostics).config }
        }
        if let node = fields.optional("maintenance") {
            maintenance = diagnostics.check { () throws(ConfigError) in try MaintenanceSection(node, diagnostics).config }
        }
        if let node = fields.optional("environments") { environmentsLocation = node.location }
        environments = diagnostics.check { () throws(ConfigError) in
            try EnvironmentsSection(fields.required("environments"), diagnostics)
        }

        checkRoles(diagnostics)
        checkMigrationRole(diagnostics)
        checkEnvironmentHosts(diagnostics)
        checkRoutes(diagnostics)
        checkServicePorts(diagnostics)
        checkEnvironmentPorts(diagnostics)
        checkUnitNames(diagnostics)
        checkReleaseStore(diagnostics)
        checkHostsHaveServices(diagnostics)
        checkProxyOnHosts(diagnostics)
    }

    // MARK: Cross-checks

    /// Every service's role is held by at least one host.
    private func checkRoles(_ diagnostics: Diagnostics) {
        guard let hosts, hosts.rolesKnown, let services else { return }
        let roles = hosts.allRoles
        for service in services.services {
            guard let node = service.roleNode, !roles.contains(service.config.role) else { continue }
            let hint = Suggestion.hint(for: service.config.role, in: roles, listing: "roles")
            diagnostics.add(node.location, "no host has role '\(service.config.role)'; \(hint)")
        }
    }

    /// Every environment has a host of the migration's role.
    private func checkMigrationRole(_ diagnostics: Diagnostics) {
        guard let migrate, let hosts, hosts.rolesKnown, let environments else { return }
        guard let role = migrate.config.role ?? services?.services.first?.config.role else { return }
        let location = migrate.roleNode?.location
        for environment in environments.environments {
            let names = Set(environment.hosts.map(\.name))
            let holders = hosts.hosts.filter { names.contains($0.config.name) && $0.config.roles.contains(role) }
            guard holders.isEmpty, !names.isEmpty else { continue }
            diagnostics.add(location ?? environment.nameNode.location,
                            "no host of environment '\(environment.name)' has role '\(role)', where the migration runs; "
                                + "give one of its hosts that role or set 'role' in migrate")
        }
    }

    /// Environments name hosts that exist.
    private func checkEnvironmentHosts(_ diagnostics: Diagnostics) {
        guard let hosts, let environments else { return }
        let known = Set(hosts.names)
        for environment in environments.environments {
            for (host, node) in environment.hosts where !known.contains(host) {
                let hint = Suggestion.hint(for: host, in: hosts.names, listing: "hosts")
                diagnostics.add(node.location, "unknown host '\(host)'; \(hint)")
            }
        }
    }

    private var allProxies: [ProxySection] {
        [proxy].compactMap { $0 } + (environments?.environments.compactMap(\.proxy) ?? [])
    }

    /// Domains route to services that exist and have a port.
    private func checkRoutes(_ diagnostics: Diagnostics) {
        guard let services else { return }
        for route in allProxies.flatMap(\.routes) {
            guard services.names.contains(route.service) else {
                let hint = Suggestion.hint(for: route.service, in: services.names, listing: "services")
                diagnostics.add(route.serviceNode.location, "unknown service '\(route.service)'; \(hint)")
                continue
            }
            if let service = services.service(named: route.service), !service.hasPortKey {
                diagnostics.add(route.serviceNode.location,
                                "domain '\(route.domain)' routes to service '\(route.service)', which has no port; "
                                    + "add a port to '\(route.service)'")
            }
        }
    }

    /// Blue and green ports (`port`, `port + 1`) of two services never overlap. Offsets shift every
    /// service of an environment alike, so checking the base ports covers every environment.
    private func checkServicePorts(_ diagnostics: Diagnostics) {
        guard let services else { return }
        let withPorts = services.services.filter { $0.portNode != nil }
        // The first service with each base port, so each service is compared with at most three.
        var first: [Int: (index: Int, service: ServiceSection)] = [:]
        for (index, service) in withPorts.enumerated() {
            guard let port = service.config.port, let node = service.portNode else { continue }
            let clashing = [port - 1, port, port + 1].compactMap { first[$0] }.min { $0.index < $1.index }
            if first[port] == nil { first[port] = (index, service) }
            for earlier in [clashing?.service].compactMap({ $0 }) {
                guard let other = earlier.config.port else { continue }
                diagnostics.add(node.location,
                                "service '\(service.config.name)' uses ports \(port) and \(port + 1), which overlap ports "
                                    + "\(other) and \(other + 1) of service '\(earlier.config.name)'; "
                                    + "keep service ports at least 2 apart")
                break
            }
        }
    }

    /// Offsets keep ports within 65535, and two environments that share a host never use the same
    /// port on it.
    private func checkEnvironmentPorts(_ diagnostics: Diagnostics) {
        guard let services, let environments, let hosts else { return }
        let withPorts = services.services.filter { $0.portNode != nil }
        for environment in environments.environments {
            guard let node = environment.portOffsetNode else { continue }
            for service in withPorts {
                guard let port = service.config.port, port + environment.portOffset + 1 > 65535 else { continue }
                let shifted = port + environment.portOffset
                diagnostics.add(node.location,
                                "port_offset \(environment.portOffset) moves service '\(service.config.name)' to ports "
                                    + "\(shifted) and \(shifted + 1), past 65535")
                break
            }
        }
        let all = environments.environments
        for (index, later) in all.enumerated() {
            for earlier in all[..<index] {
                if let clash = Self.portClash(earlier, later, hosts: hosts, services: withPorts) {
                    diagnostics.add((later.portOffsetNode ?? later.nameNode).location, clash)
                }
            }
        }
    }

    private static func portClash(_ earlier: EnvironmentSection, _ later: EnvironmentSection, hosts: HostsSection,
                                  services: [ServiceSection]) -> String? {
        let earlierHosts = Set(earlier.hosts.map(\.name))
        for (hostName, _) in later.hosts where earlierHosts.contains(hostName) {
            guard let host = hosts.hosts.first(where: { $0.config.name == hostName }) else { continue }
            let local = services.filter { host.config.roles.contains($0.config.role) }
            for service in local {
                guard let port = service.config.port else { continue }
                let mine = port + later.portOffset
                for other in local {
                    guard let otherPort = other.config.port else { continue }
                    let theirs = otherPort + earlier.portOffset
                    guard abs(mine - theirs) <= 1 else { continue }
                    return "environments '\(earlier.name)' and '\(later.name)' share host '\(hostName)', where service "
                        + "'\(service.config.name)' of '\(later.name)' (ports \(mine) and \(mine + 1)) overlaps service "
                        + "'\(other.config.name)' of '\(earlier.name)' (ports \(theirs) and \(theirs + 1)); "
                        + "choose port_offset values that keep them apart"
                }
            }
        }
        return nil
    }

    /// `<app>.<env>.<service>` (`HostLayout.unitPrefix`) stays short enough to read in `systemctl` and `journalctl`.
    private func checkUnitNames(_ diagnostics: Diagnostics) {
        guard let name, let services, let environments else { return }
        guard let longest = services.names.filter(Name.isValid).max(by: { $0.count < $1.count }) else { return }
        for environment in environments.environments where Name.isValid(environment.name) {
            let prefix = HostLayout(app: name, env: environment.name).unitPrefix(service: longest)
            guard prefix.count > Self.maxUnitPrefix else { continue }
            diagnostics.add(environment.nameNode.location,
                            "unit names in environment '\(environment.name)' would be too long: '\(prefix)' has "
                                + "\(prefix.count) characters, at most \(Self.maxUnitPrefix) are allowed; "
                                + "shorten the app, environment or service name")
        }
    }

    /// The store host exists and is always on: an optional host cannot be where others catch up.
    private func checkReleaseStore(_ diagnostics: Diagnostics) {
        guard let releaseStore, let node = releaseStore.hostNode, let hosts, !releaseStore.config.host.isEmpty else { return }
        let name = releaseStore.config.host
        guard let host = hosts.hosts.first(where: { $0.config.name == name }) else {
            if !hosts.names.contains(name) {
                diagnostics.add(node.location, "unknown host '\(name)'; \(Suggestion.hint(for: name, in: hosts.names, listing: "hosts"))")
            }
            return
        }
        if host.config.optional {
            diagnostics.add(node.location, "the release store host '\(name)' is optional, but hosts catch up from it when they boot; "
                + "keep the store on a host that is always on")
        }
        if let user = host.config.user, !EngineRules.isName(user) {
            diagnostics.add((host.userNode ?? node).location,
                            "hosts catch up from the release store host '\(name)' as its user '\(user)', which goes into a key line "
                                + "and a unit file on every host: use a user of letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }

    // MARK: Model

    /// The validated model; only meaningful when no errors were recorded.
    var config: AppConfig {
        let proxied = Set(allProxies.flatMap(\.routes).map(\.service))
        var config = AppConfig(
            name: name ?? "",
            release: release?.config ?? ReleaseConfig(path: ""),
            hosts: hosts?.hosts.map(\.config) ?? [],
            services: services?.services.map { section in
                var service = section.config
                service.proxied = proxied.contains(service.name)
                return service
            } ?? [],
            proxy: proxy?.config ?? ProxyConfig(),
            environments: environments?.environments.map { section in
                EnvironmentConfig(name: section.name, hosts: section.hosts.map(\.name),
                                  envFiles: section.envFiles.map(\.path), portOffset: section.portOffset,
                                  proxy: section.proxy?.config, rollout: section.rollout?.config, watch: section.watch)
            } ?? [],
            rollout: rollout?.config,
            notify: notify?.config,
            releaseStore: releaseStore?.config)
        config.hooks = hooks ?? HooksConfig()
        config.watch = watch
        config.migrate = migrate?.config
        config.preflight = preflight
        config.maintenance = maintenance
        return config
    }

    /// Where values that are checked against the file system are written.
    var sourceMap: SourceMap {
        var map = SourceMap(releasePath: release?.pathLocation ?? environmentsLocation,
                            environments: environmentsLocation)
        for environment in environments?.environments ?? [] {
            map.envFiles[environment.name] = environment.envFiles.map(\.node.location)
        }
        return map
    }
}

/// Locations kept after parsing, for errors found later (missing files, unknown environments).
struct SourceMap: Sendable, Equatable {
    var releasePath: SourceLocation
    var environments: SourceLocation
    /// Per environment, where each `env_file` path is written (same order as `envFiles`).
    var envFiles: [String: [SourceLocation]] = [:]
}
