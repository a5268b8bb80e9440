/// The validated content of `berth.yml`: everything Berth knows about one app.
///
/// Built by `BerthConfig` (which checks every value and reports `file:line:column`), consumed by
/// the `Planner`. Plain data only, so the core stays free of I/O and YAML.
public struct AppConfig: Codable, Sendable, Equatable {
    /// The app's name: used in unit names, paths and nginx files, so it is a safe identifier.
    public var name: String
    public var release: ReleaseConfig
    /// Hosts in the order the app file declares them.
    public var hosts: [HostConfig]
    /// Services in the order the app file declares them.
    public var services: [ServiceConfig]
    public var proxy: ProxyConfig
    /// Environments in the order the app file declares them.
    public var environments: [EnvironmentConfig]
    /// How a deploy moves through the hosts; nil: all at once.
    public var rollout: RolloutConfig?
    /// Who hears about every deploy and rollback.
    public var notify: NotifyConfig?
    /// Where deploys publish the desired release, so hosts that were off catch up when they boot.
    public var releaseStore: ReleaseStoreConfig?
    /// Commands run at named points of a deploy (`hooks:`).
    public var hooks = HooksConfig()
    /// The watch window after the switch (`watch:`); nil: none.
    public var watch: WatchConfig?
    /// The schema migration of every deploy (`migrate:`, `migrate_rollback:`); nil: none.
    public var migrate: MigrateConfig?
    /// What a deploy checks before any host changes (`preflight:`); nil: the defaults.
    public var preflight: PreflightConfig?
    /// What nginx serves in maintenance mode (`maintenance:`); nil: the built-in page.
    public var maintenance: MaintenanceConfig?

    public init(name: String, release: ReleaseConfig, hosts: [HostConfig], services: [ServiceConfig],
                proxy: ProxyConfig, environments: [EnvironmentConfig], rollout: RolloutConfig? = nil,
                notify: NotifyConfig? = nil, releaseStore: ReleaseStoreConfig? = nil) {
        self.name = name
        self.release = release
        self.hosts = hosts
        self.services = services
        self.proxy = proxy
        self.environments = environments
        self.rollout = rollout
        self.notify = notify
        self.releaseStore = releaseStore
    }

    public func host(named name: String) -> HostConfig? { hosts.first { $0.name == name } }
    public func environment(named name: String) -> EnvironmentConfig? { environments.first { $0.name == name } }
    public func service(named name: String) -> ServiceConfig? { services.first { $0.name == name } }
}

/// `release:` — what to ship and how many old releases to keep on each host.
public struct ReleaseConfig: Codable, Sendable, Equatable {
    /// Local directory whose contents become the release (relative to the app file's folder).
    public var path: String
    /// Optional local command run (in the app file's folder) before the release is packed.
    public var build: String?
    /// How many releases each host keeps (the current one included).
    public var keep: Int
    /// Directories that survive releases (e.g. `media`), linked into every release directory.
    public var shared: [String]

    public init(path: String, build: String? = nil, keep: Int = 5, shared: [String] = []) {
        self.path = path
        self.build = build
        self.keep = keep
        self.shared = shared
    }
}

/// One entry of `hosts:` — a machine reached over SSH.
public struct HostConfig: Codable, Sendable, Equatable {
    /// The name used throughout the app file and in output.
    public var name: String
    /// What ssh connects to: an address, a DNS name, or a `Host` alias of the ssh config.
    public var address: String
    public var user: String?
    public var port: Int?
    /// Roles decide which services run here (`web`, `scheduler`, …).
    public var roles: [String]
    /// An optional host that cannot be reached is skipped (reported as pending), not a failure.
    public var optional: Bool

    public init(name: String, address: String, user: String? = nil, port: Int? = nil,
                roles: [String], optional: Bool = false) {
        self.name = name
        self.address = address
        self.user = user
        self.port = port
        self.roles = roles
        self.optional = optional
    }
}

/// One entry of `services:` — a long-running process supervised by systemd.
public struct ServiceConfig: Codable, Sendable, Equatable {
    public var name: String
    /// Shell-free command line, run from the release directory (`ExecStart=`).
    public var command: String
    /// Hosts with this role run the service.
    public var role: String
    /// The port the service listens on in the blue slot (given to it as `PORT`); green uses `port + 1`.
    /// `nil` for workers and schedulers.
    public var port: Int?
    public var health: HealthCheck?
    /// Whether nginx routes traffic to this service (needs a port).
    public var proxied: Bool
    /// How long systemd waits for the service to stop before killing it, in milliseconds.
    public var stopTimeoutMs: Int
    /// The account the service runs as (`root` only when written so); nil: the app environment's
    /// own system user, `HostLayout.serviceUser`, which the engine creates.
    public var user: String?
    /// Whether Berth's default systemd sandbox applies (`ServiceSandbox`); `sandbox: false` turns it off.
    public var sandbox: Bool
    /// `hardening:` directives that replace (or add to) the defaults, in file order.
    public var hardening: [UnitDirective]
    /// Checks the new slot must pass after its health check, before the switch (`smoke:`).
    public var smoke: [SmokeCheck] = []

    public init(name: String, command: String, role: String, port: Int? = nil, health: HealthCheck? = nil,
                proxied: Bool = false, stopTimeoutMs: Int = 10_000, user: String? = nil, sandbox: Bool = true,
                hardening: [UnitDirective] = []) {
        self.name = name
        self.command = command
        self.role = role
        self.port = port
        self.health = health
        self.proxied = proxied
        self.stopTimeoutMs = stopTimeoutMs
        self.user = user
        self.sandbox = sandbox
        self.hardening = hardening
    }
}

/// One `Name=value` line of a unit's `[Service]` section (`hardening:` in the app file).
public struct UnitDirective: Codable, Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// `health:` under a service — an HTTP check that must pass before traffic moves to a new release.
public struct HealthCheck: Codable, Sendable, Equatable {
    /// Path requested on `127.0.0.1:<slot port>`; a 2xx answer is healthy.
    public var path: String
    /// Time between probes, in milliseconds.
    public var intervalMs: Int
    /// Time one probe may take, in milliseconds.
    public var timeoutMs: Int
    /// Probes before the release is declared unhealthy.
    public var attempts: Int

    public init(path: String = "/health", intervalMs: Int = 100, timeoutMs: Int = 2_000, attempts: Int = 100) {
        self.path = path
        self.intervalMs = intervalMs
        self.timeoutMs = timeoutMs
        self.attempts = attempts
    }
}

/// `proxy:` — how nginx reaches the services.
public struct ProxyConfig: Codable, Sendable, Equatable {
    /// The port nginx listens on.
    public var listen: Int
    /// `server_name` groups, each routed to one service.
    public var sites: [ProxySite]

    public init(listen: Int = 80, sites: [ProxySite] = []) {
        self.listen = listen
        self.sites = sites
    }
}

/// Domains served by one service.
public struct ProxySite: Codable, Sendable, Equatable {
    public var domains: [String]
    public var service: String

    public init(domains: [String], service: String) {
        self.domains = domains
        self.service = service
    }
}

/// One entry of `environments:` — a place the app runs (production, staging, …).
public struct EnvironmentConfig: Codable, Sendable, Equatable {
    public var name: String
    /// Names of the hosts (from `hosts:`) this environment deploys to.
    public var hosts: [String]
    /// dotenv files (relative to the app file) merged in order; later files win.
    public var envFiles: [String]
    /// Added to every service port, so staging can run beside production on one host.
    public var portOffset: Int
    /// Replaces the top-level proxy sites for this environment (e.g. a staging domain).
    public var proxy: ProxyConfig?
    /// Replaces the top-level rollout for this environment.
    public var rollout: RolloutConfig?
    /// Replaces the top-level watch window for this environment (`WatchConfig.off`: none).
    public var watch: WatchConfig?

    public init(name: String, hosts: [String], envFiles: [String] = [], portOffset: Int = 0, proxy: ProxyConfig? = nil,
                rollout: RolloutConfig? = nil, watch: WatchConfig? = nil) {
        self.name = name
        self.hosts = hosts
        self.envFiles = envFiles
        self.portOffset = portOffset
        self.proxy = proxy
        self.rollout = rollout
        self.watch = watch
    }
}

/// `rollout:` — deploy in health-gated batches instead of all hosts at once.
public struct RolloutConfig: Codable, Sendable, Equatable {
    /// How many hosts one batch holds.
    public enum BatchSize: Codable, Sendable, Equatable {
        case count(Int)
        /// A share of the environment's hosts, rounded up (never less than one host).
        case percent(Int)
    }

    public var batch: BatchSize
    /// Wait between batches, in milliseconds.
    public var pauseMs: Int
    /// Failed hosts tolerated before the rollout stops; later batches then keep the old release.
    public var maxFailures: Int

    public init(batch: BatchSize, pauseMs: Int = 0, maxFailures: Int = 0) {
        self.batch = batch
        self.pauseMs = pauseMs
        self.maxFailures = maxFailures
    }

    /// The hosts split into batches, in order.
    public func batches<Host>(_ hosts: [Host]) -> [[Host]] {
        guard !hosts.isEmpty else { return [] }
        let size: Int
        switch batch {
        case let .count(count): size = max(1, count)
        case let .percent(percent): size = max(1, (hosts.count * percent + 99) / 100)
        }
        return stride(from: 0, to: hosts.count, by: size).map { Array(hosts[$0..<min($0 + size, hosts.count)]) }
    }
}

/// `notify:` — where the result of every deploy and rollback is sent.
public struct NotifyConfig: Codable, Sendable, Equatable {
    /// An http(s) URL that receives a JSON POST (a Slack-style incoming webhook works: it reads `text`).
    public var webhook: String?
    /// A local command (run with `sh -c` in the app file's folder) that receives the same JSON on stdin.
    public var command: String?

    public init(webhook: String? = nil, command: String? = nil) {
        self.webhook = webhook
        self.command = command
    }
}

/// `release_store:` — a host that keeps every environment's desired release: its archive, each
/// host's plan and a desired-state record. Every successful deploy publishes there; a host that
/// was off during a deploy fetches the desired release from it when it boots and activates it the
/// same way a deploy does. The store host should be always on (it may also run services).
public struct ReleaseStoreConfig: Codable, Sendable, Equatable {
    public static let defaultPath = "/var/lib/berth/store"
    public static let defaultWaitMs = 60_000

    /// The host (from `hosts:`) that keeps the store; it must not be optional.
    public var host: String
    /// How the other hosts reach the store host over SSH; nil: its `address` from `hosts:`.
    public var address: String?
    /// The SSH port the other hosts use; nil: the store host's `port`, else 22.
    public var port: Int?
    /// The directory on the store host.
    public var path: String
    /// How long a booting host keeps trying to reach the store before it stays on its release.
    public var waitMs: Int

    public init(host: String, address: String? = nil, port: Int? = nil, path: String = ReleaseStoreConfig.defaultPath,
                waitMs: Int = ReleaseStoreConfig.defaultWaitMs) {
        self.host = host
        self.address = address
        self.port = port
        self.path = path
        self.waitMs = waitMs
    }
}
