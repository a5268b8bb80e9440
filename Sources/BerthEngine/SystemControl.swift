import BerthCore
import Glibc

/// A systemd or nginx action that did not work, in one phrase.
public struct ControlFailure: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How systemd sees one unit right now (`systemctl show`).
public struct UnitRunState: Sendable, Equatable {
    /// `active`, `activating`, `failed`, `inactive`…
    public var activeState: String
    /// `running`, `auto-restart`, `dead`…
    public var subState: String
    /// How often systemd restarted it since it was last started by hand.
    public var restarts: Int
    /// `success`, `exit-code`, `signal`…: how its last run ended.
    public var result: String

    public init(activeState: String, subState: String = "running", restarts: Int = 0, result: String = "success") {
        self.activeState = activeState
        self.subState = subState
        self.restarts = restarts
        self.result = result
    }

    /// The process ended (or crashed and is being restarted) instead of running on.
    public var hasStopped: Bool {
        activeState == "failed" || activeState == "inactive" || subState == "auto-restart" || restarts > 0
    }
}

/// Everything the engine asks of the host's service manager and nginx. The live implementation
/// runs `systemctl`, `journalctl` and `nginx` and reads `/proc`; tests put a fake in its place to
/// run a whole activation in a temporary directory.
public protocol SystemControl: AnyObject {
    func daemonReload() async throws(ControlFailure)
    /// Starts (or stops) all `units` in one job transaction.
    func start(_ units: [String]) async throws(ControlFailure)
    func stop(_ units: [String]) async throws(ControlFailure)
    /// `systemctl is-active` for each unit, in order.
    func activeStates(_ units: [String]) async -> [String]
    func runState(_ unit: String) async -> UnitRunState
    /// The unit's last journal lines, plain text; only those logged at or after `since`
    /// (microseconds since 1970, `Timestamp.microseconds()`) if given.
    func journal(_ unit: String, lines: Int, since: Int64?) async -> [String]

    /// nil when `nginx -t` accepts the configuration, else what nginx said; a warning that nginx
    /// ignores one of `names` (another server has it on the same `listen`) counts as a refusal.
    func testNginx(serving names: Set<String>) async -> String?
    /// PID of the running nginx master, nil if nginx does not run.
    func nginxMaster() -> Int32?
    /// PIDs of the master's live (non-zombie) children: its workers and cache processes.
    func children(of master: Int32) -> Set<Int32>
    /// Asks the master to reload its configuration (graceful: old workers finish their requests).
    func reloadNginx(master: Int32) throws(ControlFailure)
    func startNginx() async throws(ControlFailure)

    /// nginx's effective configuration, file by file (`nginx -T`); `.unknown` where nginx cannot
    /// be asked.
    func nginxConfiguration() async -> NginxConfiguration
    /// The TCP sockets that listen on this host and who holds them (`ss`); nil when unknown.
    func listeningSockets() async -> [PortListener]?
    /// The account `name` on this host, nil when there is none.
    func account(_ name: String) async throws(ControlFailure) -> SystemAccount?
    /// Creates the system account an app environment's services run as.
    func createAccount(_ name: String, app: String, env: String) async throws(ControlFailure)
    /// Gives the directory tree at `path` to `account` (links are not followed).
    func own(_ path: String, by account: SystemAccount) async throws(ControlFailure)
    /// Runs a hook or a smoke check's command as a transient unit and waits for it to end.
    func runJob(_ job: ReleaseJob) async -> CommandResult
}

extension SystemControl {
    public func nginxConfiguration() async -> NginxConfiguration { .unknown }
    public func listeningSockets() async -> [PortListener]? { nil }
}

/// The real host: systemd through `systemctl`, nginx through its pid file, signals and `/proc`.
public final class LiveSystem: SystemControl {
    public let nginxPIDFile: String

    public init(nginxPIDFile: String = "/run/nginx.pid") {
        self.nginxPIDFile = nginxPIDFile
    }

    public func daemonReload() async throws(ControlFailure) {
        try await systemctl(["daemon-reload"], doing: "reload systemd's unit files")
    }

    public func runJob(_ job: ReleaseJob) async -> CommandResult {
        await Commands.run(job.argv)
    }

    public func start(_ units: [String]) async throws(ControlFailure) {
        guard !units.isEmpty else { return }
        try await systemctl(["start"] + units, doing: "start \(units.joined(separator: ", "))")
    }

    public func stop(_ units: [String]) async throws(ControlFailure) {
        guard !units.isEmpty else { return }
        try await systemctl(["stop"] + units, doing: "stop \(units.joined(separator: ", "))")
    }

    public func activeStates(_ units: [String]) async -> [String] {
        guard !units.isEmpty else { return [] }
        // Exits non-zero when any unit is not active; the answer is on stdout either way.
        let result = await Commands.run(["systemctl", "is-active"] + units)
        let states = result.output.split(separator: "\n").map(String.init)
        return states.count == units.count ? states : units.map { _ in "unknown" }
    }

    public func runState(_ unit: String) async -> UnitRunState {
        let result = await Commands.run(["systemctl", "show", "--property=ActiveState,SubState,NRestarts,Result", unit])
        var values: [Substring: Substring] = [:]
        for line in result.output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[line[..<equals]] = line[line.index(after: equals)...]
        }
        return UnitRunState(activeState: values["ActiveState"].map(String.init) ?? "unknown",
                            subState: values["SubState"].map(String.init) ?? "unknown",
                            restarts: values["NRestarts"].flatMap { Int($0) } ?? 0,
                            result: values["Result"].map(String.init) ?? "unknown")
    }

    public func journal(_ unit: String, lines: Int, since: Int64?) async -> [String] {
        // JSON rather than `-o cat`, to drop lines from before `since` (journalctl's own --since
        // would make -n count from the oldest line).
        let result = await Commands.run(["journalctl", "-u", unit, "-n", "\(lines)", "--no-pager", "-o", "json",
                                         "--output-fields=MESSAGE"])
        var messages: [String] = []
        for line in result.output.split(separator: "\n") {
            guard let entry = try? EngineJSON.decode(JournalEntry.self, from: Array(line.utf8)) else { continue }
            if let since, let time = Int64(entry.time), time < since { continue }
            if let message = entry.message?.text { messages.append(message) }
        }
        return messages
    }

    public func testNginx(serving names: Set<String>) async -> String? {
        NginxTest.complaint(await Commands.run(HostInspection.nginxTest), serving: names)
    }

    public func nginxConfiguration() async -> NginxConfiguration {
        let result = await Commands.run(HostInspection.nginxConfiguration)
        if result.status == 127 { return .failed(NginxTest.notInstalled) }
        guard result.succeeded else { return .failed(result.complaint) }
        return .files(NginxConfiguration.files(inDump: result.output))
    }

    public func listeningSockets() async -> [PortListener]? {
        let result = await Commands.run(HostInspection.listeningSockets)
        guard result.succeeded else { return nil }
        return PortListener.parse(ssOutput: result.output).map { listener in
            var listener = listener
            if let pid = listener.pid, let cgroup = (try? Files.readString("/proc/\(pid)/cgroup")) ?? nil {
                listener.unit = PortListener.unit(fromCgroup: cgroup)
            }
            return listener
        }
    }

    public func nginxMaster() -> Int32? {
        guard let text = try? Files.readString(nginxPIDFile),
              let pid = Int32(text.trimmingCharacters(in: " \n\t")), pid > 0,
              let stat = ProcessTable.stat(pid), stat.command == "nginx", stat.state != "Z" else { return nil }
        return pid
    }

    public func children(of master: Int32) -> Set<Int32> {
        ProcessTable.children(of: master)
    }

    public func reloadNginx(master: Int32) throws(ControlFailure) {
        guard kill(master, SIGHUP) == 0 else {
            throw ControlFailure("could not signal nginx (pid \(master)) to reload: \(String(cString: strerror(errno)))")
        }
    }

    public func startNginx() async throws(ControlFailure) {
        try await systemctl(["start", "nginx"], doing: "start nginx")
    }

    public func account(_ name: String) async throws(ControlFailure) -> SystemAccount? {
        let result = await Commands.run(AccountCommands.lookUp(name))
        if result.status == AccountCommands.notFoundStatus { return nil }
        guard result.succeeded, let account = AccountCommands.parse(result.output.trimmingCharacters(in: "\n")) else {
            throw ControlFailure("could not look up the user \(name) (getent: \(result.complaint))")
        }
        return account
    }

    public func createAccount(_ name: String, app: String, env: String) async throws(ControlFailure) {
        let result = await Commands.run(AccountCommands.create(name, app: app, env: env))
        guard result.succeeded else { throw ControlFailure("could not create the user \(name) (useradd: \(result.complaint))") }
    }

    public func own(_ path: String, by account: SystemAccount) async throws(ControlFailure) {
        let result = await Commands.run(AccountCommands.own(path, uid: account.uid, gid: account.gid))
        guard result.succeeded else { throw ControlFailure("could not give \(path) to \(account.name) (chown: \(result.complaint))") }
    }

    private func systemctl(_ arguments: [String], doing what: String) async throws(ControlFailure) {
        let result = await Commands.run(["systemctl"] + arguments)
        guard result.succeeded else {
            throw ControlFailure("systemd could not \(what): \(result.complaint)")
        }
    }
}

/// What `nginx -t` says about a configuration: nil when nginx accepts it, else nginx's words.
public enum NginxTest {
    static let notInstalled = "nginx is not installed on this host"

    /// A warning that nginx ignores one of `names` (two servers share it on one `listen`) is a
    /// failure: one app's domain would be answered by another. Such warnings about other names
    /// (a conflict between two sites that are not this deploy's) are left to their owners.
    public static func complaint(_ result: CommandResult, serving names: Set<String>) -> String? {
        if result.status == 127 { return notInstalled }
        guard result.succeeded else { return result.complaint }
        let ignored = result.errorOutput.split(whereSeparator: \.isNewline).filter { line in
            guard let start = line.firstRange(of: "conflicting server name \"") else { return false }
            let name = line[start.upperBound...].prefix { $0 != "\"" }
            return names.contains(name.lowercased())
        }
        guard !ignored.isEmpty else { return nil }
        return ignored.map { line in
            // `nginx: [warn] conflicting server name …`, or with the time and `2893#2893: ` before it.
            guard let warn = line.firstRange(of: "[warn] ") else { return String(line) }
            var rest = line[warn.upperBound...]
            let process = rest.prefix { $0.isNumber || $0 == "#" }
            if !process.isEmpty, rest.dropFirst(process.count).hasPrefix(": ") { rest = rest.dropFirst(process.count + 2) }
            return String(rest)
        }.joined(separator: "; ")
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let skip = Set(set)
        guard let start = firstIndex(where: { !skip.contains($0) }),
              let end = lastIndex(where: { !skip.contains($0) }) else { return "" }
        return String(self[start...end])
    }
}

/// What `/proc/<pid>/stat` says about a process.
public enum ProcessTable {
    public struct Entry: Equatable {
        public var command: String
        public var state: Character
        public var parent: Int32
    }

    public static func stat(_ pid: Int32) -> Entry? {
        guard let text = try? Files.readString("/proc/\(pid)/stat"),
              let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
        let command = String(text[text.index(after: open)..<close])
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count >= 2, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        return Entry(command: command, state: state, parent: parent)
    }

    /// Live children of `parent` (zombies count as gone).
    public static func children(of parent: Int32) -> Set<Int32> {
        var pids: Set<Int32> = []
        for name in (try? Files.list("/proc")) ?? [] {
            guard let pid = Int32(name), let entry = stat(pid) else { continue }
            if entry.parent == parent, entry.state != "Z" { pids.insert(pid) }
        }
        return pids
    }
}

/// One line of `journalctl -o json`: MESSAGE is a string, or an array of bytes when it is not
/// valid UTF-8 text.
struct JournalEntry: Decodable {
    enum Message: Decodable {
        case text(String)
        case bytes([UInt8])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self = .text(text) } else { self = .bytes(try container.decode([UInt8].self)) }
        }

        var text: String {
            switch self {
            case let .text(text): text
            case let .bytes(bytes): String(decoding: bytes, as: UTF8.self)
            }
        }
    }

    var time: String
    var message: Message?

    enum CodingKeys: String, CodingKey {
        case time = "__REALTIME_TIMESTAMP"
        case message = "MESSAGE"
    }
}
