/// Where Berth keeps an app environment's files on a host, and what its units, nginx site,
/// upstreams and service user are called. One place decides every name, so staging and production
/// (or two apps) on the same host can never collide.
///
/// App, environment and service names are `^[a-z0-9][a-z0-9_-]{0,39}$` (`isValidName`): they never
/// hold a `.` or a `/`. So names join them with `.` (systemd unit names and nginx file and upstream
/// names accept it) and paths with `/`, and every (app, environment, service) has names of its own:
/// app `shop` with environment `prod-eu` is `shop.prod-eu.web@blue.service`, app `shop-prod` with
/// environment `eu` is `shop-prod.eu.web@blue.service`. (Berth before this joined them with `-`, so
/// these two shared `shop-prod-eu-web@.service`; `LegacyNames` lists those names, which the next
/// deploy of each app environment retires once its new names serve.)
///
/// ```
/// <root>/engine/berth-engine-<sha256>          the host engine, named by its checksum
/// <root>/engine/berth-engine                    link to the installed engine (for units and forced commands)
/// <root>/apps/<app>/<env>/releases/<id>/        unpacked releases (content-addressed)
/// <root>/apps/<app>/<env>/shared/<dir>/         directories that outlive releases
/// <root>/apps/<app>/<env>/slots/<slot>          symlink to the release a slot runs
/// <root>/apps/<app>/<env>/current               symlink to the release that serves traffic
/// <root>/apps/<app>/<env>/run/<service>@<slot>.env   PORT and release facts for one instance
/// <root>/apps/<app>/<env>/app.env               the environment's settings and secrets (0600)
/// <root>/apps/<app>/<env>/manifest.json         what runs now
/// <root>/apps/<app>/<env>/intent.json           the switch a running activation is about to make (until it is recorded)
/// <root>/apps/<app>/<env>/ownership.json        what on the host belongs to this app environment
/// <root>/apps/<app>/<env>/history.jsonl         every deploy, append-only
/// <root>/apps/<app>/<env>/deploy.lock           who deploys now
/// <root>/apps/<app>/<env>/engine-fault          test hook only: where the next activation stops (consumed when read)
/// <root>/apps/<app>/<env>/catch-up/             settings.json and the key a booting host fetches with (0700)
/// <systemdDir>/<app>.<env>.<service>@.service   a service's template unit; instances @blue, @green
/// <systemdDir>/berth-catchup.<app>.<env>.service    the boot-time catch-up
/// <nginxDir>/berth.<app>.<env>.conf             the nginx site; upstreams berth.<app>.<env>.<service>
/// user berth-<app>-<env>-<hash>                 the service user (≤ 32 characters, see `serviceUser`)
/// ```
public struct HostLayout: Sendable, Equatable {
    public static let defaultRoot = "/var/lib/berth"

    public let root: String
    public let app: String
    public let env: String
    public let systemdDir: String
    public let nginxDir: String

    public init(root: String = HostLayout.defaultRoot, app: String, env: String,
                systemdDir: String = "/etc/systemd/system", nginxDir: String = "/etc/nginx/conf.d") {
        self.root = root
        self.app = app
        self.env = env
        self.systemdDir = systemdDir
        self.nginxDir = nginxDir
    }

    /// The longest app, environment or service name.
    public static let maxNameLength = 40

    /// Whether `name` can be an app, environment or service name: 1 to 40 lowercase letters,
    /// digits, `-` or `_`, starting with a letter or digit. Never a `.` or a `/`, which is what
    /// keeps every name below apart.
    public static func isValidName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard (1...maxNameLength).contains(scalars.count), isLowerAlphanumeric(scalars[0]) else { return false }
        return scalars.allSatisfy { isLowerAlphanumeric($0) || $0 == "-" || $0 == "_" }
    }

    private static func isLowerAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    // MARK: Paths

    public var engineDir: String { "\(root)/engine" }
    /// Where every app environment's directory lives (`<appsDir>/<app>/<env>`).
    public var appsDir: String { "\(root)/apps" }
    public var appDir: String { "\(appsDir)/\(app)/\(env)" }
    public var releasesDir: String { "\(appDir)/releases" }
    public func releaseDir(_ id: String) -> String { "\(releasesDir)/\(id)" }
    public var sharedDir: String { "\(appDir)/shared" }
    public var slotsDir: String { "\(appDir)/slots" }
    public func slotLink(_ slot: Slot) -> String { "\(slotsDir)/\(slot.rawValue)" }
    /// Points at the release that serves traffic; moved only after the switch.
    public var currentLink: String { "\(appDir)/current" }
    public var runDir: String { "\(appDir)/run" }
    public func instanceEnvFile(service: String, slot: Slot) -> String { "\(runDir)/\(service)@\(slot.rawValue).env" }
    public var envFile: String { "\(appDir)/app.env" }
    public var manifestFile: String { "\(appDir)/manifest.json" }
    /// Written and synced before the switch, removed once the result is recorded: a crash in
    /// between leaves it, and the next activation finishes or undoes that switch.
    public var intentFile: String { "\(appDir)/intent.json" }
    /// A test hook: the fault the next activation of this environment injects (see `EngineFault`).
    public var engineFaultFile: String { "\(appDir)/engine-fault" }
    /// The units, site, upstreams, ports and user this app environment owns on the host.
    public var ownershipFile: String { "\(appDir)/ownership.json" }
    public var historyFile: String { "\(appDir)/history.jsonl" }
    public var lockFile: String { "\(appDir)/deploy.lock" }
    /// Present while maintenance mode is on (`MaintenanceState`).
    public var maintenanceFile: String { "\(appDir)/maintenance.json" }
    /// nginx's root for the maintenance page (`NginxSite.maintenancePage` inside it).
    public var maintenanceDir: String { "\(appDir)/maintenance" }

    // MARK: Names

    /// `shop.production.web`: the template unit's prefix; instances are `shop.production.web@blue.service`.
    public func unitPrefix(service: String) -> String { "\(app).\(env).\(service)" }
    public func templateUnitName(service: String) -> String { "\(unitPrefix(service: service))@.service" }
    public func templateUnitFile(service: String) -> String { "\(systemdDir)/\(templateUnitName(service: service))" }
    public func unitName(service: String, slot: Slot) -> String { "\(unitPrefix(service: service))@\(slot.rawValue).service" }
    public var nginxSiteFile: String { "\(nginxDir)/berth.\(app).\(env).conf" }
    /// The nginx upstream of one service, `berth.shop.production.web`.
    public func upstreamName(service: String) -> String { "berth.\(app).\(env).\(service)" }

    /// The Linux user the environment's services run as: `berth-<app>-<env>-<hash>`, where the
    /// readable part is app and environment cut to fit and `<hash>` is 10 hex digits of a hash of
    /// the exact (app, environment) pair. Linux allows 32 characters and 40 + 40 do not fit, so the
    /// hash is what tells two app environments apart (`shop`/`prod-eu` is `berth-shop-prod-eu-…`,
    /// and so is `shop-prod`/`eu`, with another hash). Starts with a letter and holds only
    /// `[a-z0-9_-]`, as Debian's `adduser` and `useradd` want. Two pairs whose hashes agree (about
    /// one chance in 10^12 for a pair) are refused by the ownership check, never shared.
    public var serviceUser: String {
        let budget = Self.maxUserLength - "berth-".count - 1 - Self.userHashLength - 1
        let appPart = min(app.count, max(budget / 2, budget - env.count))
        let envPart = min(env.count, budget - appPart)
        return "berth-\(Self.userWord(app.prefix(appPart)))-\(Self.userWord(env.prefix(envPart)))-\(pairHash)"
    }

    /// Linux's limit on user names (`UT_NAMESIZE`).
    public static let maxUserLength = 32
    static let userHashLength = 10

    /// 10 hex digits that stand for the exact (app, env) pair (`/` is in neither name).
    public var pairHash: String { String(Self.hash("\(app)/\(env)").hex.prefix(Self.userHashLength)) }

    private static func userWord(_ text: Substring) -> String {
        String(text.lowercased().map { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" ? $0 : "_" })
    }

    /// FNV-1a over the UTF-8 bytes, then the MurmurHash3 finalizer so every input bit reaches the
    /// top bits. Not a secret: it only spreads names apart.
    static func hash(_ text: String) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01b3
        }
        value ^= value >> 33
        value = value &* 0xff51_afd7_ed55_8ccd
        value ^= value >> 33
        value = value &* 0xc4ce_b9fe_1a85_ec53
        value ^= value >> 33
        return value
    }

    // MARK: Engine and catch-up

    /// A stable path to the installed engine: the install points it at the newest build.
    public var engineLink: String { "\(root)/engine/berth-engine" }
    public var catchUpDir: String { "\(appDir)/catch-up" }
    public var catchUpSettingsFile: String { "\(catchUpDir)/settings.json" }
    public var catchUpKeyFile: String { "\(catchUpDir)/id_ed25519" }
    public var catchUpKnownHostsFile: String { "\(catchUpDir)/known_hosts" }
    /// Downloaded archives wait here until they are unpacked.
    public func catchUpDownload(_ id: String) -> String { "\(catchUpDir)/\(id).tar.gz" }
    public var catchUpUnitName: String { "berth-catchup.\(app).\(env).service" }
    public var catchUpUnitFile: String { "\(systemdDir)/\(catchUpUnitName)" }
    /// The catch-up's ssh master socket. Each environment has its own key, so it must not share a
    /// master connection with another environment's catch-up to the same store (ssh's `%C` hashes
    /// only host, port and user); short, because a socket path has at most 107 bytes.
    public var catchUpControlPath: String { "/run/berth-catchup-\(pairHash)-%C" }

    /// The engine binary for a given checksum: a changed engine gets a new path, so checking that
    /// the right engine is installed costs nothing beyond trying to run it.
    public static func enginePath(root: String = HostLayout.defaultRoot, sha256: String) -> String {
        "\(root)/engine/berth-engine-\(sha256)"
    }
}

/// The names Berth gave an app environment's units and site before names were joined with `.`
/// (`<app>-<env>-<service>@.service`, `berth-<app>-<env>.conf`, `berth-catchup-<app>-<env>.service`).
/// They can be shared by two app environments (`shop`/`prod-eu` and `shop-prod`/`eu`), so the engine
/// only retires such a file when its first line says it was written for this app environment,
/// and leaves alone what another app environment may still run.
public struct LegacyNames: Sendable, Equatable {
    public let layout: HostLayout

    public init(layout: HostLayout) {
        self.layout = layout
    }

    public func unitPrefix(service: String) -> String { "\(layout.app)-\(layout.env)-\(service)" }
    public func templateUnitFile(service: String) -> String { "\(layout.systemdDir)/\(unitPrefix(service: service))@.service" }
    public func unitName(service: String, slot: Slot) -> String { "\(unitPrefix(service: service))@\(slot.rawValue).service" }
    public var nginxSiteFile: String { "\(layout.nginxDir)/berth-\(layout.app)-\(layout.env).conf" }
    public var catchUpUnitName: String { "berth-catchup-\(layout.app)-\(layout.env).service" }
    public var catchUpUnitFile: String { "\(layout.systemdDir)/\(catchUpUnitName)" }
}

extension UInt64 {
    /// 16 lowercase hex digits.
    var hex: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
