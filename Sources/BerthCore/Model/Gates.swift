/// `smoke:` under a service: one check a new release must pass after its health check and before
/// nginx sends it a single request. Either an HTTP request to the new slot itself
/// (`127.0.0.1:<slot port>`, never through nginx) or a command run in the release.
public struct SmokeCheck: Codable, Sendable, Equatable {
    /// `GET`, `HEAD`, `POST`…; HTTP checks only.
    public var method: String
    /// The request path (`/health`); nil for a command check.
    public var path: String?
    /// The `Host` header sent (a site's domain); nil: `127.0.0.1:<port>`.
    public var host: String?
    /// The status the answer must have.
    public var status: Int
    /// Text the body must contain.
    public var contains: String?
    /// Fields of a JSON body and the values they must have, in file order.
    public var json: [JSONExpectation]
    /// The longest the whole answer may take, in milliseconds; nil: only `timeoutMs` applies.
    public var maxLatencyMs: Int?
    /// A command run from the release directory with the service's environment (shell syntax, as
    /// with hooks); nil for an HTTP check.
    public var command: String?
    /// How long the check may take before it counts as failed, in milliseconds.
    public var timeoutMs: Int

    public init(method: String = "GET", path: String? = nil, host: String? = nil, status: Int = 200,
                contains: String? = nil, json: [JSONExpectation] = [], maxLatencyMs: Int? = nil,
                command: String? = nil, timeoutMs: Int = 10_000) {
        self.method = method
        self.path = path
        self.host = host
        self.status = status
        self.contains = contains
        self.json = json
        self.maxLatencyMs = maxLatencyMs
        self.command = command
        self.timeoutMs = timeoutMs
    }

    /// How messages name the check: `GET /health` or `command 'python manage.py check'`.
    public var title: String {
        if let command { return "command '\(command)'" }
        return "\(method) \(path ?? "/")" + (host.map { " (Host: \($0))" } ?? "")
    }
}

/// `json: {status: ok, db.ready: true}` in a smoke check: the field at a dotted path of the body's
/// JSON and the value it must equal.
public struct JSONExpectation: Codable, Sendable, Equatable {
    /// `status`, `db.ready`, `items.0.id`: object keys and array indexes, separated by dots.
    public var field: String
    public var value: JSONValue

    public init(field: String, value: JSONValue) {
        self.field = field
        self.value = value
    }
}

/// Any JSON value, encoded as itself: what a smoke check expects, and what it reads from a body.
public indirect enum JSONValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }

    /// The value at `path` (`db.ready`, `items.0.id`); nil when there is none.
    public func value(at path: String) -> JSONValue? {
        var current = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            switch current {
            case let .object(fields):
                guard let next = fields[part] else { return nil }
                current = next
            case let .array(items):
                guard let index = Int(part), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    /// Short JSON-like text for messages (`"ok"`, `true`, `3`, an object's keys).
    public var description: String {
        switch self {
        case .null: "null"
        case let .bool(value): value ? "true" : "false"
        case let .number(value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case let .string(value): "\"" + value + "\""
        case let .array(items): "[" + items.prefix(5).map(\.description).joined(separator: ", ") + (items.count > 5 ? ", …]" : "]")
        case let .object(fields): "{" + fields.keys.sorted().prefix(5).joined(separator: ", ") + (fields.count > 5 ? ", …}" : "}")
        }
    }
}

/// One command a deploy runs at a named point (`hooks:` in the app file).
public struct Hook: Codable, Sendable, Equatable {
    /// Shell syntax, run with `/bin/sh -c` from the app file's folder (deploying machine) or from
    /// the new release's directory (hosts).
    public var command: String
    /// How long it may run before it is stopped and counts as failed, in milliseconds.
    public var timeoutMs: Int
    /// The account a host hook runs as; nil: the app environment's service user. Unused on the
    /// deploying machine, where hooks run as the operator.
    public var user: String?

    public init(command: String, timeoutMs: Int = 300_000, user: String? = nil) {
        self.command = command
        self.timeoutMs = timeoutMs
        self.user = user
    }
}

/// The points of a deploy where hooks run, in the order they come.
public enum HookPoint: String, Codable, Sendable, CaseIterable {
    /// On the deploying machine, before any host is contacted: a failure stops the deploy.
    case beforeDeploy = "before_deploy"
    /// On each host, in the new release, once its env file and units are written and before it
    /// starts (e.g. `collectstatic`): a failure undoes the host like a failed health check.
    case afterRelease = "after_release"
    /// On each host, after the smoke tests and right before nginx switches: a failure aborts.
    case beforeSwitch = "before_switch"
    /// On each host, right after the switch: the release already serves, so a failure is a warning.
    case afterSwitch = "after_switch"
    /// On the deploying machine, when the deploy has ended (also when it failed), with the result
    /// as JSON on stdin: a failure is a warning.
    case afterDeploy = "after_deploy"

    /// The activation step that runs a host hook (nil for the deploying machine's hooks).
    public var step: String? {
        switch self {
        case .afterRelease: "after-release"
        case .beforeSwitch: "before-switch"
        case .afterSwitch: "after-switch"
        case .beforeDeploy, .afterDeploy: nil
        }
    }

    /// Whether the hook runs on the hosts (else on the deploying machine).
    public var onHost: Bool { step != nil }
}

/// `hooks:` — the commands of each point, in file order. A plan carries the same value with only
/// the host points filled (`onHosts`).
public struct HooksConfig: Codable, Sendable, Equatable {
    public var beforeDeploy: [Hook]
    public var afterRelease: [Hook]
    public var beforeSwitch: [Hook]
    public var afterSwitch: [Hook]
    public var afterDeploy: [Hook]

    public init(beforeDeploy: [Hook] = [], afterRelease: [Hook] = [], beforeSwitch: [Hook] = [],
                afterSwitch: [Hook] = [], afterDeploy: [Hook] = []) {
        self.beforeDeploy = beforeDeploy
        self.afterRelease = afterRelease
        self.beforeSwitch = beforeSwitch
        self.afterSwitch = afterSwitch
        self.afterDeploy = afterDeploy
    }

    public subscript(point: HookPoint) -> [Hook] {
        get {
            switch point {
            case .beforeDeploy: beforeDeploy
            case .afterRelease: afterRelease
            case .beforeSwitch: beforeSwitch
            case .afterSwitch: afterSwitch
            case .afterDeploy: afterDeploy
            }
        }
        set {
            switch point {
            case .beforeDeploy: beforeDeploy = newValue
            case .afterRelease: afterRelease = newValue
            case .beforeSwitch: beforeSwitch = newValue
            case .afterSwitch: afterSwitch = newValue
            case .afterDeploy: afterDeploy = newValue
            }
        }
    }

    /// The host hooks only, as a plan carries them (the deploying machine's points empty); nil
    /// when there are none.
    public var onHosts: HooksConfig? {
        let host = HooksConfig(afterRelease: afterRelease, beforeSwitch: beforeSwitch, afterSwitch: afterSwitch)
        return host.isEmpty ? nil : host
    }

    public var isEmpty: Bool { HookPoint.allCases.allSatisfy { self[$0].isEmpty } }
}

/// `watch:` — after the switch, the new release keeps being checked through nginx for a while,
/// with the old slot still running; enough failures in a row switch traffic back to it.
public struct WatchConfig: Codable, Sendable, Equatable {
    /// How long the window lasts; 0: no watch (an environment's `watch: false`).
    public var durationMs: Int
    /// Time between two rounds of checks.
    public var intervalMs: Int
    /// Failed rounds in a row that switch back.
    public var failures: Int

    public static let defaultIntervalMs = 1_000
    public static let defaultFailures = 3

    public init(durationMs: Int, intervalMs: Int = Self.defaultIntervalMs, failures: Int = Self.defaultFailures) {
        self.durationMs = durationMs
        self.intervalMs = intervalMs
        self.failures = failures
    }

    public static let off = WatchConfig(durationMs: 0)
    public var isOff: Bool { durationMs == 0 }
}

/// `migrate:` and `migrate_rollback:` — the schema migration a deploy runs once per environment,
/// on one host of `role`, in the new release before any host switches; and the command
/// `berth migrate rollback [TARGET]` runs in the current release.
public struct MigrateConfig: Codable, Sendable, Equatable {
    public static let defaultTimeoutMs = 600_000

    public var run: Hook
    /// The role whose first reachable host (in the environment's order) migrates; nil: the role
    /// of the first service.
    public var role: String?
    /// `migrate_rollback:`; nil: none. `BERTH_MIGRATE_TARGET` holds the TARGET asked for.
    public var rollback: Hook?

    public init(run: Hook, role: String? = nil, rollback: Hook? = nil) {
        self.run = run
        self.role = role
        self.rollback = rollback
    }
}

/// `maintenance:` — what nginx answers while `berth maintenance on` holds: the page (a file beside
/// the app file; nil: a short built-in page) with 503 and `Retry-After`.
public struct MaintenanceConfig: Codable, Sendable, Equatable {
    public var page: String?
    public var retryAfterSeconds: Int

    public static let defaultRetryAfterSeconds = 300
    public static let maxPageBytes = 1 << 20

    public init(page: String? = nil, retryAfterSeconds: Int = Self.defaultRetryAfterSeconds) {
        self.page = page
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The page when the app file names none.
    public static func defaultPage(app: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Down for maintenance</title></head>
        <body><h1>Down for maintenance</h1><p>\(app) is being worked on and will be back shortly.</p></body></html>

        """
    }
}

/// A `maintenance` plan's switch: on (with the page) or off.
public struct MaintenanceSwitch: Codable, Sendable, Equatable {
    public var on: Bool
    /// The page's HTML (on only).
    public var page: String?
    public var retryAfterSeconds: Int

    public init(on: Bool, page: String? = nil, retryAfterSeconds: Int = MaintenanceConfig.defaultRetryAfterSeconds) {
        self.on = on
        self.page = page
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// The host's record that maintenance mode is on (`HostLayout.maintenanceFile`).
public struct MaintenanceState: Codable, Sendable, Equatable {
    public var since: String
    public var requestedBy: Requester
    public var retryAfterSeconds: Int

    public init(since: String, requestedBy: Requester, retryAfterSeconds: Int) {
        self.since = since
        self.requestedBy = requestedBy
        self.retryAfterSeconds = retryAfterSeconds
    }
}
