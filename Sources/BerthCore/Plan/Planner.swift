/// Turns a validated app file into per-host plans. Pure: no I/O, so every decision about what runs
/// where is unit-tested.
public struct Planner: Sendable {
    public let app: AppConfig
    /// The deploying controller's public key; with a release store, hosts run only plans it signed.
    public var planSigner: String?
    /// When this command made its plans (ISO 8601, UTC), carried with the signer.
    public var plansIssuedAt: String?

    public init(app: AppConfig, planSigner: String? = nil) {
        self.app = app
        self.planSigner = planSigner
    }

    /// The environment's hosts, in the order the environment lists them.
    public func hosts(in env: String) throws(PlanError) -> [HostConfig] {
        let environment = try environment(env)
        return environment.hosts.compactMap { app.host(named: $0) }
    }

    public func environment(_ name: String) throws(PlanError) -> EnvironmentConfig {
        guard let environment = app.environment(named: name) else {
            throw .unknownEnvironment(name, known: app.environments.map(\.name))
        }
        return environment
    }

    /// The rollout that applies to an environment: its own, else the app's (nil: all hosts at once).
    public func rollout(in env: String) throws(PlanError) -> RolloutConfig? {
        try environment(env).rollout ?? app.rollout
    }

    /// The watch window that applies to an environment: its own, else the app's (nil: none).
    public func watch(in env: EnvironmentConfig) -> WatchConfig? {
        let watch = env.watch ?? app.watch
        return watch?.isOff == false ? watch : nil
    }

    /// The environment's hosts in deploy batches; one batch without a rollout.
    public func batches(in env: String) throws(PlanError) -> [[HostConfig]] {
        let hosts = try hosts(in: env)
        guard let rollout = try rollout(in: env) else { return hosts.isEmpty ? [] : [hosts] }
        return rollout.batches(hosts)
    }

    /// Services that run on `host`: those whose role the host has, ports shifted by the environment.
    public func services(on host: HostConfig, env: EnvironmentConfig) -> [ServicePlan] {
        app.services.filter { host.roles.contains($0.role) }.map { service in
            ServicePlan(name: service.name, command: service.command,
                        port: service.port.map { $0 + env.portOffset }, health: service.health,
                        proxied: service.proxied, stopTimeoutMs: service.stopTimeoutMs, user: service.user,
                        sandbox: service.sandbox ? nil : false,
                        hardening: service.hardening.isEmpty ? nil : service.hardening,
                        smoke: service.smoke.isEmpty ? nil : service.smoke)
        }
    }

    /// nginx sites for `host`: only those whose service runs there.
    public func proxy(on host: HostConfig, env: EnvironmentConfig) -> ProxyConfig? {
        let base = env.proxy ?? app.proxy
        let local = Set(services(on: host, env: env).filter(\.proxied).map(\.name))
        let sites = base.sites.filter { local.contains($0.service) }
        return sites.isEmpty ? nil : ProxyConfig(listen: base.listen, sites: sites)
    }

    /// `storeHostKeys`: the release store host's SSH keys as the deploying machine trusts them
    /// (`KnownHostKeys`), pinned in every host's catch-up settings.
    public func deployPlan(env envName: String, host: HostConfig, release: ReleaseRef, settings: [EnvVar],
                           requestedBy: Requester, storeHostKeys: [String] = []) throws(PlanError) -> DeployPlan {
        try plan(.deploy, env: envName, host: host, release: release, settings: settings, requestedBy: requestedBy,
                 storeHostKeys: storeHostKeys)
    }

    /// A rollback re-activates a kept release with the services recorded in the host's manifest;
    /// the plan still carries today's env file and proxy so the switch renders the same nginx site.
    public func rollbackPlan(env envName: String, host: HostConfig, to release: String?, settings: [EnvVar],
                             requestedBy: Requester, storeHostKeys: [String] = []) throws(PlanError) -> DeployPlan {
        try plan(.rollback, env: envName, host: host, release: release.map { ReleaseRef(id: $0, label: $0, createdAt: "") },
                 settings: settings, requestedBy: requestedBy, storeHostKeys: storeHostKeys)
    }

    /// A deploy or rollback plan: the same services, routing, settings and hooks either way.
    private func plan(_ kind: DeployPlan.Kind, env envName: String, host: HostConfig, release: ReleaseRef?, settings: [EnvVar],
                      requestedBy: Requester, storeHostKeys: [String]) throws(PlanError) -> DeployPlan {
        let env = try environment(envName)
        var plan = DeployPlan(kind: kind, app: app.name, env: env.name, host: host.name, release: release,
                              services: services(on: host, env: env), proxy: proxy(on: host, env: env),
                              environment: settings, keepReleases: app.release.keep,
                              sharedDirs: app.release.shared, requestedBy: requestedBy,
                              catchUp: catchUpSource(storeHostKeys: storeHostKeys))
        plan.hooks = app.hooks.onHosts
        plan.watch = watch(in: env)
        return plan
    }

    /// What every host checks before a deploy of a release of `archiveBytes`.
    public func preflightChecks(archiveBytes: Int, settings: [EnvVar]) -> PreflightChecks {
        PreflightChecks(minimumFreeBytes: (app.preflight ?? PreflightConfig()).minimumFreeBytes(archiveBytes: archiveBytes),
                        reach: Preflight.endpoints(app.preflight, settings: settings))
    }

    /// The role whose host runs the migration: `migrate.role`, else the first service's; nil
    /// without `migrate:`.
    public var migrationRole: String? {
        app.migrate.map { $0.role ?? app.services.first?.role ?? "" }
    }

    /// The environment's hosts that may run the migration, in the environment's order: the first
    /// reachable one does. Empty without `migrate:`.
    public func migrationHosts(in env: String) throws(PlanError) -> [HostConfig] {
        guard let role = migrationRole else { return [] }
        return try hosts(in: env).filter { $0.roles.contains(role) }
    }

    /// `plan` with the migration added: it runs on that host, in step `migrate`.
    public func migrating(_ plan: DeployPlan) -> DeployPlan {
        var plan = plan
        plan.migrate = app.migrate?.run
        return plan
    }

    /// A plan that runs `migrate_rollback` in the host's current release, with `target` as
    /// `BERTH_MIGRATE_TARGET`; nil when the app file has no `migrate_rollback`.
    public func migrateRollbackPlan(env envName: String, host: HostConfig, target: String?, settings: [EnvVar],
                                    requestedBy: Requester) throws(PlanError) -> DeployPlan? {
        guard let rollback = app.migrate?.rollback else { return nil }
        var plan = try plan(.migrateRollback, env: envName, host: host, release: nil, settings: settings,
                            requestedBy: requestedBy, storeHostKeys: [])
        plan.hooks = nil
        plan.watch = nil
        plan.catchUp = nil
        plan.migrate = rollback
        plan.migrateTarget = target
        return plan
    }

    /// Where hosts catch up from: the `release_store` host as the hosts reach it (nil without one).
    public func catchUpSource(storeHostKeys: [String] = []) -> CatchUpSource? {
        guard let store = app.releaseStore, let host = app.host(named: store.host) else { return nil }
        return CatchUpSource(address: store.address ?? host.address, port: store.port ?? host.port ?? 22,
                             user: host.user ?? "root", path: store.path, waitMs: store.waitMs,
                             webhook: app.notify?.webhook, hostKeys: storeHostKeys.isEmpty ? nil : storeHostKeys,
                             signer: planSigner, issuedAt: planSigner == nil ? nil : plansIssuedAt)
    }

    /// The store host, when the app has a `release_store`.
    public func storeHost() -> HostConfig? {
        app.releaseStore.flatMap { app.host(named: $0.host) }
    }

    /// What the store keeps after a successful deploy of `release`: a deploy plan for every host of
    /// the environment (also those that were offline) and the catch-up keys the hosts reported.
    public func publishRequest(env envName: String, release: ReleaseRef, settings: [EnvVar], keys: [HostKey],
                               requestedBy: Requester, storeHostKeys: [String] = []) throws(PlanError) -> PublishRequest? {
        guard let store = app.releaseStore else { return nil }
        var plans: [DeployPlan] = []
        for host in try hosts(in: envName) {
            plans.append(try deployPlan(env: envName, host: host, release: release, settings: settings,
                                        requestedBy: requestedBy, storeHostKeys: storeHostKeys))
        }
        var request = PublishRequest(app: app.name, env: envName, path: store.path, release: release, plans: plans,
                                     keys: keys, keep: app.release.keep, requestedBy: requestedBy)
        // Where each host's catch-up key may connect from: its address, when that is an IP literal
        // (a name is left out: the store's sshd matches `from=` names only with UseDNS).
        var from: [String: [String]] = [:]
        for host in try hosts(in: envName) where CatchUpUnit.isIPLiteral(host.address) { from[host.name] = [host.address] }
        request.fromAddresses = from
        return request
    }
}

/// A request the app file cannot answer.
public enum PlanError: Error, Equatable, CustomStringConvertible {
    case unknownEnvironment(String, known: [String])

    public var description: String {
        switch self {
        case let .unknownEnvironment(name, known):
            "there is no environment '\(name)' in the app file; choose one of: \(known.joined(separator: ", "))."
        }
    }
}
