/// The conversation between `berth` and the host engine, one SSH session per phase.
///
/// `berth` runs `berth-engine-<sha> <command>` and writes one JSON line on its stdin:
/// a `DeployPlan` for `deploy`/`rollback`, a `StateQuery` for the others. The engine answers with
/// `EngineEvent` JSON lines on stdout and exits 0 when the command succeeded.
///
/// A deploy's release travels in the same session: after the plan the engine reports
/// `release-needed` (present: false) and then reads a gzip'd tar of the release from the rest of
/// stdin; with present: true the controller just closes stdin. That keeps a deploy at one round trip.
public enum EngineCommand: String, Codable, Sendable, CaseIterable {
    case deploy
    case rollback
    case status
    case history
    case lockStatus = "lock-status"
    case lockRelease = "lock-release"
    /// On the release store host: make a release the environment's desired one (`PublishRequest`).
    case publish
    /// On the release store host: the environment's desired state (`StoreQuery`).
    case storeStatus = "store-status"
    /// Runs the app's `migrate_rollback` command in the current release (a `DeployPlan` of kind
    /// `migrate-rollback`).
    case migrateRollback = "migrate-rollback"
    /// Checks, changing nothing, whether a deploy plan could run here (`preflight` event).
    case preflight
    /// Turns maintenance mode on or off (a `DeployPlan` of kind `maintenance`).
    case maintenance
}

/// The steps of an activation (deploy, rollback, catch-up), in order, as `step` events name them.
/// The engine's `ReleaseActivation.steps` says what a failure undoes at each.
public enum ActivationSteps {
    public static let names = ["lock", "release", "env", "units", "migrate", "after-release", "start", "health", "smoke",
                               "before-switch", "intent", "switch", "after-switch", "drain", "watch", "stop-old", "record",
                               "prune"]
}

/// What a host engine accepts on stdin: the controller checks its plans against the same numbers
/// before it contacts any host.
public enum EngineInput {
    /// The longest JSON line (a plan, a publish request) an engine reads.
    public static let maxLineBytes = 16 << 20
}

/// Input of the read-only and lock commands.
public struct StateQuery: Codable, Sendable, Equatable {
    public var app: String
    public var env: String
    public var root: String
    /// For `history`: how many entries, newest first.
    public var limit: Int?
    /// Where units and nginx sites live (nil: the defaults); engine tests set them.
    public var systemdDir: String?
    public var nginxDir: String?

    public init(app: String, env: String, root: String = HostLayout.defaultRoot, limit: Int? = nil,
                systemdDir: String? = nil, nginxDir: String? = nil) {
        self.app = app
        self.env = env
        self.root = root
        self.limit = limit
        self.systemdDir = systemdDir
        self.nginxDir = nginxDir
    }

    public var layout: HostLayout {
        let defaults = HostLayout(root: root, app: app, env: env)
        return HostLayout(root: root, app: app, env: env, systemdDir: systemdDir ?? defaults.systemdDir,
                          nginxDir: nginxDir ?? defaults.nginxDir)
    }
}

/// One line of engine output. `event` says which optional fields are set.
public struct EngineEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A step started or ended (`step`, `status`, `ms` when ended, `message` on failure).
        case step
        /// Whether the release is already on the host (`present`); if false, the archive follows on stdin.
        case releaseNeeded = "release-needed"
        /// Something worth telling that is not a failure (`message`).
        case warning
        /// The last line of a deploy or rollback (`outcome`).
        case outcome
        /// The answer of `status` (`manifest`, `lock`, `units`).
        case state
        /// The answer of `history` (`history`).
        case history
        /// The answer of `lock-status` / `lock-release` (`lock`).
        case lock
        /// The command failed before it could say more (`message`).
        case error
        /// The host's catch-up key (`publicKey`), for the release store to authorize.
        case catchUpKey = "catch-up-key"
        /// The answer of `publish` and `store-status` (`desired`, absent when nothing was published).
        case desired
        /// The answer of `preflight` (`findings`, empty when every check passed).
        case preflight
    }

    public enum StepStatus: String, Codable, Sendable {
        case started, done, failed, skipped
    }

    public var event: Kind
    public var step: String?
    public var status: StepStatus?
    public var ms: Int?
    public var message: String?
    public var present: Bool?
    public var outcome: DeployOutcome?
    public var manifest: Manifest?
    public var lock: LockInfo?
    public var units: [UnitState]?
    public var history: [HistoryEntry]?
    public var publicKey: String?
    public var desired: DesiredState?
    public var findings: [PreflightFinding]?
    /// In `status`: set while maintenance mode is on.
    public var maintenance: MaintenanceState?

    public init(event: Kind, step: String? = nil, status: StepStatus? = nil, ms: Int? = nil,
                message: String? = nil, present: Bool? = nil, outcome: DeployOutcome? = nil,
                manifest: Manifest? = nil, lock: LockInfo? = nil, units: [UnitState]? = nil,
                history: [HistoryEntry]? = nil, publicKey: String? = nil, desired: DesiredState? = nil,
                findings: [PreflightFinding]? = nil) {
        self.event = event
        self.step = step
        self.status = status
        self.ms = ms
        self.message = message
        self.present = present
        self.outcome = outcome
        self.manifest = manifest
        self.lock = lock
        self.units = units
        self.history = history
        self.publicKey = publicKey
        self.desired = desired
        self.findings = findings
    }
}

/// How a deploy or rollback ended on one host.
public struct DeployOutcome: Codable, Sendable, Equatable {
    public enum Result: String, Codable, Sendable {
        /// The new release serves traffic.
        case deployed
        /// The host already ran this release; nothing changed.
        case unchanged
        /// The new release failed before the switch; traffic stayed on the previous release.
        case rolledBack = "rolled-back"
        /// Something failed and the engine could not tell that the previous release still serves.
        case failed
    }

    public var result: Result
    public var release: String?
    public var previousRelease: String?
    public var slot: Slot?
    /// One sentence on what went wrong, for `rolled-back` and `failed`.
    public var message: String?
    /// The last journal lines of the unit that failed, if any.
    public var journal: [String]?
    public var steps: [StepTiming]
    /// The hooks this host ran, in order; nil when it ran none.
    public var hooks: [HookRun]?
    /// true when the new release had served and the watch window switched traffic back to the
    /// previous one (result `rolled-back`); nil otherwise.
    public var switchedBack: Bool?

    public init(result: Result, release: String?, previousRelease: String?, slot: Slot?, message: String? = nil,
                journal: [String]? = nil, steps: [StepTiming]) {
        self.result = result
        self.release = release
        self.previousRelease = previousRelease
        self.slot = slot
        self.message = message
        self.journal = journal
        self.steps = steps
    }
}

public struct StepTiming: Codable, Sendable, Equatable {
    public var step: String
    public var ms: Int
    public init(step: String, ms: Int) {
        self.step = step
        self.ms = ms
    }
}

/// What runs now for one app environment on one host (`manifest.json`).
public struct Manifest: Codable, Sendable, Equatable {
    public var app: String
    public var env: String
    /// The release that serves traffic.
    public var current: ReleaseRef?
    public var activeSlot: Slot?
    /// Releases kept on the host, newest first (the current one included).
    public var releases: [ReleaseRef]
    /// The services (and ports) of the current release, needed to roll back without the app file.
    public var services: [ServicePlan]
    public var updatedAt: String

    public init(app: String, env: String, current: ReleaseRef?, activeSlot: Slot?, releases: [ReleaseRef],
                services: [ServicePlan], updatedAt: String) {
        self.app = app
        self.env = env
        self.current = current
        self.activeSlot = activeSlot
        self.releases = releases
        self.services = services
        self.updatedAt = updatedAt
    }
}

/// One line of `history.jsonl`.
public struct HistoryEntry: Codable, Sendable, Equatable {
    public var kind: DeployPlan.Kind
    public var release: ReleaseRef?
    public var previousRelease: String?
    public var result: DeployOutcome.Result
    public var message: String?
    public var requestedBy: Requester
    public var startedAt: String
    public var finishedAt: String
    public var steps: [StepTiming]
    /// The hooks the activation ran, in order, with their output; nil when it ran none.
    public var hooks: [HookRun]?
    /// true for an automatic rollback by the watch window, after the new release had served.
    public var switchedBack: Bool?
    /// The failed pre-flight checks `--force` deployed past; nil: none.
    public var forced: [String]?

    public init(kind: DeployPlan.Kind, release: ReleaseRef?, previousRelease: String?, result: DeployOutcome.Result,
                message: String?, requestedBy: Requester, startedAt: String, finishedAt: String, steps: [StepTiming]) {
        self.kind = kind
        self.release = release
        self.previousRelease = previousRelease
        self.result = result
        self.message = message
        self.requestedBy = requestedBy
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.steps = steps
    }
}

/// The deploy lock of one app environment on one host.
public struct LockInfo: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case free
        /// A running engine holds it.
        case held
        /// A lock record is there but no process holds it: the deploy that took it died.
        case stale
    }

    public var state: State
    public var holder: Requester?
    public var since: String?

    public init(state: State, holder: Requester? = nil, since: String? = nil) {
        self.state = state
        self.holder = holder
        self.since = since
    }
}

/// A service instance as systemd reports it.
public struct UnitState: Codable, Sendable, Equatable {
    public var unit: String
    /// `systemctl is-active` output: active, inactive, failed, activating…
    public var active: String
    public init(unit: String, active: String) {
        self.unit = unit
        self.active = active
    }
}

/// One hook as it ran: where, what, how it ended, and the last lines it printed (secrets masked).
public struct HookRun: Codable, Sendable, Equatable {
    /// `after_release`, `before_switch`, `after_switch`, `before_deploy`, `after_deploy`.
    public var point: String
    public var command: String
    /// The exit status (0: it succeeded).
    public var status: Int32
    public var ms: Int
    /// The last lines of its stdout and stderr.
    public var output: [String]

    public static let outputLines = 20

    public init(point: String, command: String, status: Int32, ms: Int, output: [String]) {
        self.point = point
        self.command = command
        self.status = status
        self.ms = ms
        self.output = output
    }
}

extension HookRun {
    /// The last `count` non-empty lines of what a job printed (stdout, then stderr), each cut to
    /// 300 characters: what history keeps and messages quote.
    public static func lastLines(stdout: String, stderr: String, count: Int) -> [String] {
        let text = stdout + (stdout.isEmpty || stderr.isEmpty ? "" : "\n") + stderr
        return Array(text.split(whereSeparator: \.isNewline).map { String($0.prefix(300)) }.filter { !$0.isEmpty }.suffix(count))
    }

    /// How a failed job ended, with what it said last: "exited with status 3: a / b" or "ran longer
    /// than its time limit of 5s and was stopped".
    public static func failure(status: Int32, timedOut: Bool, timeoutMs: Int, said: [String]) -> String {
        let how = timedOut ? "ran longer than its time limit of \(SystemdUnit.timeSpan(milliseconds: timeoutMs)) and was stopped"
            : "exited with status \(status)"
        return said.isEmpty ? how : "\(how): \(said.joined(separator: " / "))"
    }
}
