/// Where Berth keeps an app environment's files on a host. One place decides every path, so staging
/// and production (or two pods) on the same host can never collide.
///
/// ```
/// <root>/engine/berth-engine-<sha256>          the host engine, named by its checksum
/// <root>/apps/<app>/<env>/releases/<id>/        unpacked releases (content-addressed)
/// <root>/apps/<app>/<env>/shared/<dir>/         directories that outlive releases
/// <root>/apps/<app>/<env>/slots/<slot>          symlink to the release a slot runs
/// <root>/apps/<app>/<env>/current               symlink to the release that serves traffic
/// <root>/apps/<app>/<env>/run/<service>@<slot>.env   PORT and release facts for one instance
/// <root>/apps/<app>/<env>/app.env               the environment's settings and secrets (0600)
/// <root>/apps/<app>/<env>/manifest.json         what runs now
/// <root>/apps/<app>/<env>/history.jsonl         every deploy, append-only
/// <root>/apps/<app>/<env>/deploy.lock           who deploys now
/// <root>/apps/<app>/<env>/catch-up/             settings.json and the key a booting host fetches with (0700)
/// <root>/engine/berth-engine                    link to the installed engine (for units and forced commands)
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

    public var engineDir: String { "\(root)/engine" }
    public var appDir: String { "\(root)/apps/\(app)/\(env)" }
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
    public var historyFile: String { "\(appDir)/history.jsonl" }
    public var lockFile: String { "\(appDir)/deploy.lock" }

    /// `shop-production-web`: the template unit's prefix; instances are `shop-production-web@blue.service`.
    public func unitPrefix(service: String) -> String { "\(app)-\(env)-\(service)" }
    public func templateUnitFile(service: String) -> String { "\(systemdDir)/\(unitPrefix(service: service))@.service" }
    public func unitName(service: String, slot: Slot) -> String { "\(unitPrefix(service: service))@\(slot.rawValue).service" }
    public var nginxSiteFile: String { "\(nginxDir)/berth-\(app)-\(env).conf" }

    /// The system user the environment's services run as unless the app file names another:
    /// `berth-` and 10 hex digits of a hash of app and environment (16 characters, within the 32
    /// that `useradd` allows, and the same on every host).
    // provisional: names helper
    public var serviceUser: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(app.utf8) + [0] + Array(env.utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "berth-" + String((String(repeating: "0", count: 16 - hex.count) + hex).prefix(10))
    }

    /// A stable path to the installed engine: the install points it at the newest build.
    public var engineLink: String { "\(root)/engine/berth-engine" }
    public var catchUpDir: String { "\(appDir)/catch-up" }
    public var catchUpSettingsFile: String { "\(catchUpDir)/settings.json" }
    public var catchUpKeyFile: String { "\(catchUpDir)/id_ed25519" }
    public var catchUpKnownHostsFile: String { "\(catchUpDir)/known_hosts" }
    /// Downloaded archives wait here until they are unpacked.
    public func catchUpDownload(_ id: String) -> String { "\(catchUpDir)/\(id).tar.gz" }
    public var catchUpUnitName: String { "berth-catchup-\(app)-\(env).service" }
    public var catchUpUnitFile: String { "\(systemdDir)/\(catchUpUnitName)" }

    /// The engine binary for a given checksum: a changed engine gets a new path, so checking that
    /// the right engine is installed costs nothing beyond trying to run it.
    public static func enginePath(root: String = HostLayout.defaultRoot, sha256: String) -> String {
        "\(root)/engine/berth-engine-\(sha256)"
    }
}
