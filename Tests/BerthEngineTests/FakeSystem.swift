import BerthCore
import BerthEngine

/// A host without systemd or nginx: remembers what the engine asked and answers from a table,
/// so whole activations run in a temporary directory.
final class FakeSystem: SystemControl {
    var log: [String] = []
    var active: Set<String> = []
    /// Units that die right after `start` (their `runState` shows a crash).
    var crashing: Set<String> = []
    var journalLines = ["Traceback (most recent call last):", "SyntaxError: invalid syntax"]
    var nginxComplaint: String? = nil
    var nginxRunning = true
    /// What `ss` would list; nil: unknown, as on a system without it.
    var listeners: [PortListener]? = nil
    /// What `nginx -T` would say; `.unknown`: the engine reads the site directory.
    var dump: NginxConfiguration = .unknown
    private var workers: Set<Int32> = [101, 102]
    private var nextWorker: Int32 = 200

    func daemonReload() async throws(ControlFailure) { log.append("daemon-reload") }

    func start(_ units: [String]) async throws(ControlFailure) {
        log.append("start \(units.joined(separator: " "))")
        for unit in units where !crashing.contains(unit) { active.insert(unit) }
    }

    func stop(_ units: [String]) async throws(ControlFailure) {
        guard !units.isEmpty else { return }
        log.append("stop \(units.joined(separator: " "))")
        active.subtract(units)
    }

    func activeStates(_ units: [String]) async -> [String] {
        units.map { active.contains($0) ? "active" : crashing.contains($0) ? "failed" : "inactive" }
    }

    /// Units that crash once `runState` has been asked about them this many times (a release
    /// that fails a while after it passed its health check).
    var failsAfterStateChecks: [String: Int] = [:]
    private var stateChecks: [String: Int] = [:]

    func runState(_ unit: String) async -> UnitRunState {
        stateChecks[unit, default: 0] += 1
        if let limit = failsAfterStateChecks[unit], stateChecks[unit]! > limit {
            return UnitRunState(activeState: "failed", subState: "failed", result: "signal")
        }
        if crashing.contains(unit) { return UnitRunState(activeState: "failed", subState: "failed", result: "exit-code") }
        return UnitRunState(activeState: active.contains(unit) ? "active" : "inactive")
    }

    func journal(_ unit: String, lines: Int, since: Int64?) async -> [String] { journalLines }

    func testNginx(serving names: Set<String>) async -> String? {
        log.append("nginx -t")
        return nginxComplaint
    }

    func nginxMaster() -> Int32? { nginxRunning ? 100 : nil }

    func children(of master: Int32) -> Set<Int32> { workers }

    func reloadNginx(master: Int32) throws(ControlFailure) {
        log.append("nginx reload")
        workers = [nextWorker, nextWorker + 1]
        nextWorker += 2
    }

    func startNginx() async throws(ControlFailure) {
        log.append("start nginx")
        nginxRunning = true
    }

    func listeningSockets() async -> [PortListener]? { listeners }

    func nginxConfiguration() async -> NginxConfiguration { dump }

    /// Accounts of this host by name; `createAccount` adds one.
    var accounts: [String: SystemAccount] = ["root": SystemAccount(name: "root", uid: 0, gid: 0)]
    /// Paths given to an account, with its name.
    var owned: [String: String] = [:]

    func account(_ name: String) async throws(ControlFailure) -> SystemAccount? { accounts[name] }

    func createAccount(_ name: String, app: String, env: String) async throws(ControlFailure) {
        log.append("useradd \(name)")
        accounts[name] = SystemAccount(name: name, uid: 64_000 + UInt32(accounts.count), gid: 64_000 + UInt32(accounts.count))
    }

    /// Jobs run (hooks, smoke commands), and what each command answers (default: success).
    var jobs: [ReleaseJob] = []
    var jobResults: [String: CommandResult] = [:]

    func runJob(_ job: ReleaseJob) async -> CommandResult {
        jobs.append(job)
        log.append("job \(job.command)")
        return jobResults[job.command] ?? CommandResult(status: 0, output: "ran \(job.command)", errorOutput: "")
    }

    func own(_ path: String, by account: SystemAccount) async throws(ControlFailure) {
        owned[path] = account.name
    }
}
