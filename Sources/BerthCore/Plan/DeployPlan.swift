/// Everything the host engine needs to activate a release on one host, sent as one JSON line on its
/// stdin. Values from `berth.yml` and the env files travel here, never on a command line, so no
/// setting or secret is ever interpreted by a shell or shown in `ps`.
public struct DeployPlan: Codable, Sendable, Equatable {
    public static let currentSchema = 1

    public enum Kind: String, Codable, Sendable {
        /// Ship and activate `release`.
        case deploy
        /// Activate a release already on the host: `release` if given, else the previous one.
        case rollback
        /// A host that was off brings itself to the desired release from the release store, at boot.
        case catchUp = "catch-up"
        /// Not a plan: the history entry of an activation that found the host's records lagging
        /// behind what serves (after a crash) and rewrote them from the host's own truth.
        case repair
        /// Run the app's `migrate_rollback` command in the current release (`migrate`, with
        /// `migrateTarget`); nothing else changes.
        case migrateRollback = "migrate-rollback"
        /// Turn maintenance mode on or off (`maintenance`); the services keep running.
        case maintenance
    }

    public var schema: Int
    public var kind: Kind
    public var app: String
    public var env: String
    /// The host's name in the app file (for messages and history).
    public var host: String
    /// For a deploy, the release being shipped; for a rollback, the target (nil: the previous release).
    public var release: ReleaseRef?
    /// Services that run on this host (its roles), in app-file order.
    public var services: [ServicePlan]
    /// nginx routing on this host; nil when the host runs no proxied service.
    public var proxy: ProxyConfig?
    /// Settings and secrets from the environment's env files, in file order.
    public var environment: [EnvVar]
    public var keepReleases: Int
    public var sharedDirs: [String]
    /// Who asks for this change: recorded in the lock and the history.
    public var requestedBy: Requester
    /// Where state lives; overridable so engine tests can run in a temporary directory.
    public var root: String
    public var systemdDir: String
    public var nginxDir: String
    /// Where this host catches up from after being off; nil: the app has no `release_store`.
    public var catchUp: CatchUpSource?
    /// Hooks run on this host during the activation; nil: none.
    public var hooks: HooksConfig?
    /// The watch window after the switch; nil: none.
    public var watch: WatchConfig?
    /// The migration this host runs in the new release (step `migrate`): set on one host of the
    /// environment per deploy, never in plans kept for catch-up. In a `migrate-rollback` plan,
    /// the `migrate_rollback` command.
    public var migrate: Hook?
    /// In a `maintenance` plan: on or off, and the page.
    public var maintenance: MaintenanceSwitch?
    /// What the engine's `preflight` command checks; nil: nothing on the host.
    public var preflight: PreflightChecks?
    /// The failed pre-flight checks this deploy goes past (`--force`), for the history; nil: none.
    public var forced: [String]?
    /// What `berth migrate rollback TARGET` asked for (`BERTH_MIGRATE_TARGET`); nil: none given.
    public var migrateTarget: String?

    public init(kind: Kind, app: String, env: String, host: String, release: ReleaseRef?,
                services: [ServicePlan], proxy: ProxyConfig?, environment: [EnvVar], keepReleases: Int,
                sharedDirs: [String], requestedBy: Requester, root: String = HostLayout.defaultRoot,
                systemdDir: String = "/etc/systemd/system", nginxDir: String = "/etc/nginx/conf.d",
                catchUp: CatchUpSource? = nil) {
        self.schema = Self.currentSchema
        self.kind = kind
        self.app = app
        self.env = env
        self.host = host
        self.release = release
        self.services = services
        self.proxy = proxy
        self.environment = environment
        self.keepReleases = keepReleases
        self.sharedDirs = sharedDirs
        self.requestedBy = requestedBy
        self.root = root
        self.systemdDir = systemdDir
        self.nginxDir = nginxDir
        self.catchUp = catchUp
    }

    public var layout: HostLayout {
        HostLayout(root: root, app: app, env: env, systemdDir: systemdDir, nginxDir: nginxDir)
    }
}

/// A service as it runs on one host: ports already shifted by the environment's offset.
public struct ServicePlan: Codable, Sendable, Equatable {
    public var name: String
    public var command: String
    /// Blue-slot port (green is `port + 1`); nil for a service that listens on nothing.
    public var port: Int?
    public var health: HealthCheck?
    public var proxied: Bool
    public var stopTimeoutMs: Int
    /// The account to run as; nil: the app environment's own system user (`HostLayout.serviceUser`).
    public var user: String?
    /// false: no default sandbox (`sandbox: false`); nil means true, and keeps older plans readable.
    public var sandbox: Bool?
    /// Directives that replace or add to the default sandbox; nil: none.
    public var hardening: [UnitDirective]?
    /// Smoke checks of the new slot (after `health`, before the switch); nil: none.
    public var smoke: [SmokeCheck]?

    public init(name: String, command: String, port: Int?, health: HealthCheck?, proxied: Bool, stopTimeoutMs: Int,
                user: String? = nil, sandbox: Bool? = nil, hardening: [UnitDirective]? = nil, smoke: [SmokeCheck]? = nil) {
        self.name = name
        self.command = command
        self.port = port
        self.health = health
        self.proxied = proxied
        self.stopTimeoutMs = stopTimeoutMs
        self.user = user
        self.sandbox = sandbox
        self.hardening = hardening
        self.smoke = smoke
    }

    /// The account the service runs as on a host laid out as `layout`.
    public func account(in layout: HostLayout) -> String { user ?? layout.serviceUser }

    public func port(in slot: Slot) -> Int? { port.map { slot.port(base: $0) } }
}

/// One `NAME=value` setting.
public struct EnvVar: Codable, Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A release: its content address, and the labels people recognise it by.
public struct ReleaseRef: Codable, Sendable, Equatable {
    /// The SHA-256 of the release archive (the gzip'd tar), 64 hex digits: equal content, equal id;
    /// a host refuses an archive whose bytes hash to anything else.
    public var id: String
    /// A human label (`--version`, else the git describe, else the id).
    public var label: String
    public var gitSHA: String?
    /// When the release was packed (ISO 8601, UTC).
    public var createdAt: String
    /// Size of the compressed archive, in bytes.
    public var archiveBytes: Int?

    public init(id: String, label: String, gitSHA: String? = nil, createdAt: String, archiveBytes: Int? = nil) {
        self.id = id
        self.label = label
        self.gitSHA = gitSHA
        self.createdAt = createdAt
        self.archiveBytes = archiveBytes
    }
}

extension ReleaseRef {
    /// The first 12 digits of an id, for people (labels, tables); the full id stays the address.
    public static func shortID(_ id: String) -> String { String(id.prefix(12)) }
}

/// Who started a change, as shown by `berth lock status` and `berth history`.
public struct Requester: Codable, Sendable, Equatable {
    public var user: String
    /// The machine `berth` ran on.
    public var machine: String
    public var pid: Int
    /// What was run, e.g. `berth deploy -e production`.
    public var command: String

    public init(user: String, machine: String, pid: Int, command: String) {
        self.user = user
        self.machine = machine
        self.pid = pid
        self.command = command
    }
}
