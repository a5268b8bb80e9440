/// Catch-up on boot: how a host that was off during a deploy reaches the environment's desired
/// release without the machine that ran the deploy.
///
/// ```
/// berth deploy ──(every host)──> ReleaseActivation ─ installs berth-catchup.<app>.<env>.service,
///      │                                              a per-host key, catch-up/settings.json
///      └──(store host, `publish`)──> <store>/<app>/<env>/desired.json, plans/<host>.json,
///                                     archives/<id>.tar.gz, authorized_keys (forced command)
/// boot of a host ──> berth-engine catch-up settings.json
///      ── ssh (its own key, forced `serve-store`) "desired" ──> CatchUpAnswer
///      ── ssh "archive <id>" (only if the release is not on the host) ──> the archive
///      ──> the same ReleaseActivation as a deploy, kind `catch-up`
/// ```

/// Where a host fetches its desired release from: written into each host's plan, kept on the host
/// in `catch-up/settings.json`.
public struct CatchUpSource: Codable, Sendable, Equatable {
    /// The store host's address as the hosts reach it.
    public var address: String
    public var port: Int
    public var user: String
    /// The store's directory on the store host.
    public var path: String
    /// How long a booting host keeps trying to reach the store.
    public var waitMs: Int
    /// The app's webhook, told about every catch-up (the machine that deployed may be gone).
    public var webhook: String?
    /// The store host's SSH host keys (`type base64`) as the deploying machine trusts them; the
    /// catch-up then accepts no other. Empty or nil: the key is trusted on first use.
    public var hostKeys: [String]?
    /// The deploying controller's public key (`ssh-ed25519 AAAA…`): a catch-up runs only a plan
    /// this key signed (`ssh-keygen -Y verify`, namespace `berth-plan`). Nil: plans are not signed.
    public var signer: String?
    /// When the controller made the plan this source came with (ISO 8601, UTC). A catch-up refuses
    /// a signed plan older than the newest plan the host ran, so a store cannot serve an old one again.
    public var issuedAt: String?

    public init(address: String, port: Int = 22, user: String = "root", path: String, waitMs: Int, webhook: String? = nil,
                hostKeys: [String]? = nil, signer: String? = nil, issuedAt: String? = nil) {
        self.signer = signer
        self.issuedAt = issuedAt
        self.address = address
        self.port = port
        self.user = user
        self.path = path
        self.waitMs = waitMs
        self.webhook = webhook
        self.hostKeys = hostKeys
    }

    public var isPinned: Bool { !(hostKeys ?? []).isEmpty }
}

/// What the catch-up unit reads at boot (`catch-up/settings.json`): who this host is and where
/// the store is. No secrets: those come with the plan from the store.
public struct CatchUpSettings: Codable, Sendable, Equatable {
    public var app: String
    public var env: String
    public var host: String
    public var root: String
    public var systemdDir: String
    public var nginxDir: String
    public var source: CatchUpSource

    public init(app: String, env: String, host: String, root: String, systemdDir: String, nginxDir: String,
                source: CatchUpSource) {
        self.app = app
        self.env = env
        self.host = host
        self.root = root
        self.systemdDir = systemdDir
        self.nginxDir = nginxDir
        self.source = source
    }

    public var layout: HostLayout {
        HostLayout(root: root, app: app, env: env, systemdDir: systemdDir, nginxDir: nginxDir)
    }
}

/// A host's catch-up public key, as the store host authorizes it.
public struct HostKey: Codable, Sendable, Equatable {
    public var host: String
    /// One `ssh-ed25519 AAAA… comment` line.
    public var publicKey: String

    public init(host: String, publicKey: String) {
        self.host = host
        self.publicKey = publicKey
    }
}

/// The input of `berth-engine publish` on the store host: the release just deployed becomes the
/// environment's desired release. The archive follows on stdin if the store asks for it.
public struct PublishRequest: Codable, Sendable, Equatable {
    public var app: String
    public var env: String
    /// The store's directory.
    public var path: String
    public var release: ReleaseRef
    /// One plan per host of the environment (secrets included: stored 0600, root only).
    public var plans: [DeployPlan]
    /// Catch-up keys reported by hosts in this run; keys of other hosts stay authorized.
    public var keys: [HostKey]
    /// Archives the store keeps (the desired one included).
    public var keep: Int
    public var requestedBy: Requester
    /// The engine root on the store host: its forced command runs `<root>/engine/berth-engine`.
    public var root: String
    /// Each host's plan as the controller signed it (the store keeps the text as it is).
    public var signed: [SignedPlan]?
    /// Addresses the hosts' catch-up keys may connect from (`from=` in `authorized_keys`), by host.
    public var fromAddresses: [String: [String]]?
    /// The desired state as the controller signed it (namespace `berth-desired`): the store
    /// writes this text as `desired.json`, unchanged, and the signature beside it.
    public var signedDesired: SignedDesired?

    public init(app: String, env: String, path: String, release: ReleaseRef, plans: [DeployPlan], keys: [HostKey],
                keep: Int, requestedBy: Requester, root: String = HostLayout.defaultRoot) {
        self.app = app
        self.env = env
        self.path = path
        self.release = release
        self.plans = plans
        self.keys = keys
        self.keep = keep
        self.requestedBy = requestedBy
        self.root = root
    }
}

/// One host's plan, signed by the deploying controller: `plan` is the exact JSON text signed,
/// `signature` the armored `ssh-keygen -Y sign` output over it.
public struct SignedPlan: Codable, Sendable, Equatable {
    public var host: String
    public var plan: String
    public var signature: String

    public init(host: String, plan: String, signature: String) {
        self.host = host
        self.plan = plan
        self.signature = signature
    }
}

/// The desired state of one environment, signed by the deploying controller: `text` is the exact
/// JSON of a `DesiredState` (what `desired.json` holds), `signature` the armored
/// `ssh-keygen -Y sign -n berth-desired` output over it.
public struct SignedDesired: Codable, Sendable, Equatable {
    public var text: String
    public var signature: String

    public init(text: String, signature: String) {
        self.text = text
        self.signature = signature
    }
}

extension DesiredState {
    /// The desired state a publish of `release` makes, given the store's `previous` one: the
    /// release first in `kept`, then the previously kept ones, `keep` in all. A rollback names a
    /// release by id only (no `createdAt`): its label and date come from `previous`.
    public static func next(after previous: DesiredState?, app: String, env: String, release: ReleaseRef, hosts: [String],
                            keep: Int, publishedAt: String, requestedBy: Requester,
                            isKept: (String) -> Bool = { _ in true }) -> DesiredState {
        var release = release
        if release.createdAt.isEmpty, let known = previous?.kept.first(where: { $0.id == release.id }) { release = known }
        let id = release.id
        let kept = Array(([release] + (previous?.kept ?? []).filter { $0.id != id && isKept($0.id) }).prefix(max(1, keep)))
        return DesiredState(app: app, env: env, release: release, hosts: hosts, publishedAt: publishedAt,
                            requestedBy: requestedBy, kept: kept)
    }
}

/// The desired-state record of one environment (`desired.json`, no secrets).
public struct DesiredState: Codable, Sendable, Equatable {
    public var app: String
    public var env: String
    public var release: ReleaseRef
    /// Hosts that have a plan in the store.
    public var hosts: [String]
    public var publishedAt: String
    public var requestedBy: Requester
    /// Releases whose archives the store keeps, newest first (the desired one included).
    public var kept: [ReleaseRef]

    public init(app: String, env: String, release: ReleaseRef, hosts: [String], publishedAt: String,
                requestedBy: Requester, kept: [ReleaseRef]) {
        self.app = app
        self.env = env
        self.release = release
        self.hosts = hosts
        self.publishedAt = publishedAt
        self.requestedBy = requestedBy
        self.kept = kept
    }
}

/// Input of `berth-engine store-status`.
public struct StoreQuery: Codable, Sendable, Equatable {
    public var app: String
    public var env: String
    public var path: String

    public init(app: String, env: String, path: String) {
        self.app = app
        self.env = env
        self.path = path
    }
}

/// What the store tells a booting host: the desired state and this host's plan (nil when the
/// store has none for it).
public struct CatchUpAnswer: Codable, Sendable, Equatable {
    public var desired: DesiredState?
    public var plan: DeployPlan?
    /// The plan's text exactly as the controller signed it, and the signature (signed stores).
    public var signedPlan: String?
    public var signature: String?
    /// `desired.json`'s text exactly as the controller signed it, and its signature (signed stores).
    public var signedDesired: SignedDesired?

    public init(desired: DesiredState?, plan: DeployPlan?, signedPlan: String? = nil, signature: String? = nil) {
        self.desired = desired
        self.plan = plan
        self.signedPlan = signedPlan
        self.signature = signature
    }
}

/// Where the store keeps one environment.
///
/// ```
/// <path>/<app>/<env>/current -> states/<n>   the published state, swapped by one rename
/// <path>/<app>/<env>/states/<n>/desired.json            the desired release (0644)
/// <path>/<app>/<env>/states/<n>/desired.json.sig        the controller's signature of it
/// <path>/<app>/<env>/states/<n>/plans/<host>.json       each host's plan, with its secrets (0600)
/// <path>/<app>/<env>/states/<n>/plans/<host>.json.sig   the controller's signature of it
/// <path>/<app>/<env>/archives/<id>.tar.gz    release archives, `kept` of desired.json
/// <path>/.publish.lock                       held by a publish
/// ```
public struct StoreLayout: Sendable, Equatable {
    public let path: String
    public let app: String
    public let env: String

    public init(path: String, app: String, env: String) {
        self.path = path
        self.app = app
        self.env = env
    }

    public var envDir: String { "\(path)/\(app)/\(env)" }
    /// The link to the published state directory.
    public var currentLink: String { "\(envDir)/current" }
    public var statesDir: String { "\(envDir)/states" }
    public var publishLock: String { "\(path)/.publish.lock" }
    public var desiredFile: String { Self.desiredFile(in: currentLink) }
    public var plansDir: String { Self.plansDir(in: currentLink) }
    public func planFile(host: String) -> String { Self.planFile(in: currentLink, host: host) }
    public static func desiredFile(in state: String) -> String { "\(state)/desired.json" }
    public static func desiredSignatureFile(in state: String) -> String { desiredFile(in: state) + ".sig" }
    public static func plansDir(in state: String) -> String { "\(state)/plans" }
    public static func planFile(in state: String, host: String) -> String { "\(plansDir(in: state))/\(host).json" }
    public static func signatureFile(in state: String, host: String) -> String { planFile(in: state, host: host) + ".sig" }
    /// Where stores before `current` kept the desired state (read once, when there is no `current`).
    public var legacyDesiredFile: String { "\(envDir)/desired.json" }
    public var archivesDir: String { "\(envDir)/archives" }
    public func archive(_ id: String) -> String { "\(archivesDir)/\(id).tar.gz" }

    /// The comment that marks a host's line in the store host's `authorized_keys`.
    public static func keyMarker(app: String, env: String, host: String) -> String { "berth-catchup:\(app)/\(env)/\(host)" }
}

/// The two requests a catch-up makes over its forced-command SSH session (`SSH_ORIGINAL_COMMAND`).
public enum CatchUpRequest: Equatable, Sendable {
    case desired
    case archive(id: String)

    public var words: String {
        switch self {
        case .desired: "desired"
        case let .archive(id): "archive \(id)"
        }
    }

    public init?(_ text: String) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        if words == ["desired"] {
            self = .desired
        } else if words.count == 2, words[0] == "archive", !words[1].isEmpty,
                  words[1].unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) {
            self = .archive(id: String(words[1]))
        } else {
            return nil
        }
    }
}

/// The notification a catch-up sends to the app's webhook: the same top-level fields as a
/// deploy's notice (`text`, `app`, `environment`, `command`, `release`, `offline`, `hosts`).
public struct CatchUpNotice: Codable, Sendable, Equatable {
    public struct HostLine: Codable, Sendable, Equatable {
        public var host: String
        /// `deployed`, `unchanged`, `rolled-back`, `failed` or `store-unreachable`.
        public var state: String
        public var release: String?
        public var previousRelease: String?
        public var message: String?
    }

    public var text: String
    public var app: String
    public var environment: String
    public var command: String
    public var release: String?
    public var label: String?
    public var exitCode: Int32
    public var offline: [String]
    public var hosts: [HostLine]
    public var finishedAt: String

    public init(app: String, environment: String, host: String, state: String, release: ReleaseRef?,
                previousRelease: String?, message: String?, exitCode: Int32, finishedAt: String) {
        self.app = app
        self.environment = environment
        command = "catch-up"
        self.release = release?.id
        label = release?.label
        self.exitCode = exitCode
        offline = []
        hosts = [HostLine(host: host, state: state, release: release?.id, previousRelease: previousRelease, message: message)]
        self.finishedAt = finishedAt
        let what = release.map { " to \($0.label)" } ?? ""
        text = "\(app): catch-up of \(host)\(what) in \(environment): \(state)" + (message.map { " (\($0))" } ?? "")
    }
}
