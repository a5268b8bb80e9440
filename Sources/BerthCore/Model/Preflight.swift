/// `preflight:` — what a deploy checks before any host changes (`berth check` runs it alone).
public struct PreflightConfig: Codable, Sendable, Equatable {
    /// Free bytes each host needs where releases and shared files live; nil: the larger of
    /// `defaultMinimumFreeBytes` and 3 × the release archive.
    public var diskFreeBytes: Int?
    /// `git: clean`: the app file's folder must be a git checkout without uncommitted changes and
    /// not behind its upstream.
    public var gitClean: Bool
    /// Keys the env files must set (non-empty, not a placeholder); nil: the keys of the app's
    /// `.env.example`, when it has one.
    public var required: [String]?
    /// Env vars holding URLs of services the release needs (`postgres://db:5432/x`), reached from
    /// every host over TCP; nil: `DATABASE_URL` and `REDIS_URL`, when set.
    public var reach: [String]?

    public static let defaultMinimumFreeBytes = 1 << 30
    public static let defaultReach = ["DATABASE_URL", "REDIS_URL"]

    public init(diskFreeBytes: Int? = nil, gitClean: Bool = false, required: [String]? = nil, reach: [String]? = nil) {
        self.diskFreeBytes = diskFreeBytes
        self.gitClean = gitClean
        self.required = required
        self.reach = reach
    }

    /// The free space a host needs for a release archive of `archiveBytes`.
    public func minimumFreeBytes(archiveBytes: Int) -> Int {
        diskFreeBytes ?? max(Self.defaultMinimumFreeBytes, 3 * archiveBytes)
    }
}

/// What the host engine checks before a deploy (a plan's `preflight`).
public struct PreflightChecks: Codable, Sendable, Equatable {
    public var minimumFreeBytes: Int
    public var reach: [Endpoint]

    public init(minimumFreeBytes: Int, reach: [Endpoint] = []) {
        self.minimumFreeBytes = minimumFreeBytes
        self.reach = reach
    }
}

/// A service the release needs, as an env var names it.
public struct Endpoint: Codable, Sendable, Equatable {
    /// The env var it comes from (its value is never shown: it may hold a password).
    public var variable: String
    public var host: String
    public var port: Int

    public init(variable: String, host: String, port: Int) {
        self.variable = variable
        self.host = host
        self.port = port
    }
}

/// One failed pre-flight check: what is wrong and how to fix it.
public struct PreflightFinding: Codable, Sendable, Equatable, CustomStringConvertible {
    /// `disk`, `env`, `nginx`, `conflict`, `reach`, `git`.
    public var check: String
    /// The host it failed on; nil for checks on the deploying machine.
    public var host: String?
    public var message: String
    public var fix: String

    public init(check: String, host: String? = nil, message: String, fix: String) {
        self.check = check
        self.host = host
        self.message = message
        self.fix = fix
    }

    public var description: String { "\(host ?? "local"): \(check): \(message); \(fix)" }
}

/// The pure parts of pre-flight: required settings and the endpoints of URL settings.
public enum Preflight {
    /// Values that say "fill me in".
    public static func isPlaceholder(_ value: String) -> Bool {
        let lowered = value.lowercased().trimmingSpaces
        if lowered.isEmpty { return true }
        if ["changeme", "change-me", "change_me", "change me", "todo", "fixme", "tbd", "placeholder", "replaceme",
            "replace-me", "replace_me"].contains(lowered) { return true }
        if lowered.count >= 3, lowered.allSatisfy({ $0 == "x" }) { return true }
        if lowered.hasPrefix("<"), lowered.hasSuffix(">") { return true }
        return lowered.hasPrefix("your-") || lowered.hasPrefix("your_")
    }

    /// Every key of `required` that `settings` leaves unset, empty or a placeholder; values are
    /// never quoted. `files` names the env files for the fix.
    public static func missingSettings(_ required: [String], in settings: [EnvVar], files: [String],
                                       source: String) -> [PreflightFinding] {
        var values: [String: String] = [:]
        for setting in settings { values[setting.name] = setting.value }
        let where_ = files.isEmpty ? "an env_file of this environment" : files.joined(separator: " or ")
        return required.compactMap { key in
            guard let value = values[key] else {
                return PreflightFinding(check: "env", message: "\(key) (required by \(source)) is not set",
                                        fix: "set it in \(where_)")
            }
            guard isPlaceholder(value) else { return nil }
            return PreflightFinding(check: "env", message: value.trimmingSpaces.isEmpty ? "\(key) is empty" : "\(key) holds a placeholder value",
                                    fix: "give it its real value in \(where_)")
        }
    }

    /// Default ports of the URL schemes services use.
    static let ports = ["postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306, "redis": 6379, "rediss": 6379,
                        "amqp": 5672, "amqps": 5671, "mongodb": 27017, "memcached": 11211, "http": 80, "https": 443, "nats": 4222]

    /// The host and port of a URL value (`scheme://[user[:password]@]host[:port][/...]`); nil for
    /// anything else (a unix socket path, a URL without host or known port).
    public static func endpoint(of value: String, variable: String) -> Endpoint? {
        guard let schemeEnd = value.firstRange(of: "://") else { return nil }
        let scheme = value[..<schemeEnd.lowerBound].lowercased()
        var rest = value[schemeEnd.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        var host = Substring(rest)
        var port = ports[String(scheme.split(separator: "+").first ?? "")]
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            port = Int(host[host.index(after: colon)...])
            host = host[..<colon]
        }
        guard !host.isEmpty, !host.hasPrefix("%2"), let port, (1...65_535).contains(port) else { return nil }
        return Endpoint(variable: variable, host: String(host), port: port)
    }

    /// The endpoints a deploy reaches from every host: `names` (default `PreflightConfig.defaultReach`,
    /// where set) whose values are URLs.
    public static func endpoints(_ config: PreflightConfig?, settings: [EnvVar]) -> [Endpoint] {
        let names = config?.reach ?? PreflightConfig.defaultReach
        return names.compactMap { name in
            settings.last { $0.name == name }.flatMap { endpoint(of: $0.value, variable: name) }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
