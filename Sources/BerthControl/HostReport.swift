import BerthCore
import BerthTransport

/// How a command ended on one host: the row of the summary table and of `--json` output.
public struct HostReport: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// The new release serves traffic.
        case deployed
        /// The host already ran the release.
        case unchanged
        /// The new release failed before the switch, or its watch window switched traffic back
        /// after it; the previous one serves.
        case rolledBack = "rolled-back"
        /// The command failed (see `message`).
        case failed
        /// An optional host that could not be reached: pending until it catches up.
        case skipped
        /// A required host that could not be reached.
        case unreachable
        /// ssh reached the host but the two did not trust each other: its host key is not the
        /// known one, or it refused this machine's key. Never taken for "offline".
        case sshRejected = "ssh-rejected"
        /// A read-only command answered.
        case ok
        /// The rollout stopped before this host's batch: it keeps its release.
        case notStarted = "not-started"
    }

    public var host: String
    public var state: State
    public var release: String?
    public var previousRelease: String?
    public var message: String?
    public var journal: [String]?
    public var steps: [StepTiming]
    public var totalMs: Int
    public var installedEngine: Bool
    public var sentRelease: Bool
    /// The rollout batch (1-based) the host was in, when the deploy ran in batches.
    public var batch: Int?
    /// The host commands it ran (hooks, the migration), with their output; nil: none.
    public var hooks: [HookRun]?

    public init(host: String, state: State, batch: Int? = nil, release: String? = nil, previousRelease: String? = nil,
                message: String? = nil, journal: [String]? = nil, steps: [StepTiming] = [], totalMs: Int = 0,
                installedEngine: Bool = false, sentRelease: Bool = false) {
        self.host = host
        self.state = state
        self.batch = batch
        self.release = release
        self.previousRelease = previousRelease
        self.message = message
        self.journal = journal
        self.steps = steps
        self.totalMs = totalMs
        self.installedEngine = installedEngine
        self.sentRelease = sentRelease
    }

    /// Whether this host's state fails the command.
    public var isFailure: Bool { [.failed, .rolledBack, .unreachable, .sshRejected, .notStarted].contains(state) }

    /// Classifies an engine run on `host`.
    public static func from(run: EngineRun, host: HostConfig, totalMs: Int) -> HostReport {
        var report = HostReport(host: host.name, state: .failed, totalMs: totalMs,
                                installedEngine: run.installedEngine, sentRelease: run.sentRelease)
        if let outcome = run.outcome {
            report.release = outcome.release
            report.previousRelease = outcome.previousRelease
            report.message = outcome.message
            report.journal = outcome.journal
            report.steps = outcome.steps
            report.hooks = outcome.hooks
            switch outcome.result {
            case .deployed: report.state = .deployed
            case .unchanged: report.state = .unchanged
            case .rolledBack: report.state = .rolledBack
            case .failed: report.state = .failed
            }
            return report
        }
        if run.status == SSHTransport.connectionFailedStatus, run.events.isEmpty,
           let rejection = SSHRejection(stderr: run.stderr) {
            report.state = .sshRejected
            report.message = rejection.message(address: host.address)
            return report
        }
        if run.status == SSHTransport.connectionFailedStatus, run.events.isEmpty {
            report.state = host.optional ? .skipped : .unreachable
            let reason = run.stderr.trimmed.isEmpty ? "ssh could not connect" : run.stderr.trimmed
            report.message = host.optional
                ? "offline (\(reason)); it is optional, so it stays pending until it catches up."
                : "cannot reach \(host.address) over ssh (\(reason)); check that 'ssh \(host.address)' works with the same --ssh-config."
            return report
        }
        if run.status == EngineInvocation.notRootStatus, run.events.isEmpty {
            report.state = .failed
            report.message = Self.notRootMessage(run.stderr, host: host)
            return report
        }
        if run.status == 0 {
            report.state = .ok
            return report
        }
        report.message = run.errorMessage
            ?? (run.stderr.trimmed.isEmpty ? "the host engine exited with status \(run.status)." : run.stderr.trimmed)
        return report
    }
}

extension HostReport {
    /// The sentence for an ssh user that is not root and may not use sudo without a password;
    /// `stderr` is `asRoot`'s line, `<user>: <what sudo said>`.
    static func notRootMessage(_ stderr: String, host: HostConfig) -> String {
        let line = stderr.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        let user = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? host.user ?? "the ssh user"
        let said = line.split(separator: ":", maxSplits: 1).dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return "the ssh user \(user) on \(host.name) is not root and cannot use sudo without a password (\(said)); give it passwordless sudo (a sudoers line '\(user) ALL=(ALL) NOPASSWD: ALL') or connect as root."
    }
}

/// Runs one job per host, at most `limit` at a time, and returns the results in host order.
public enum FleetRunner {
    public static func run<T: Sendable>(_ hosts: [HostConfig], limit: Int,
                                        _ job: @escaping @Sendable (HostConfig) async -> T) async -> [T] {
        await withTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: hosts.count)
            var next = 0
            func startNext() {
                guard next < hosts.count else { return }
                let index = next
                next += 1
                group.addTask { (index, await job(hosts[index])) }
            }
            for _ in 0..<max(1, limit) { startNext() }
            for await (index, result) in group {
                results[index] = result
                startNext()
            }
            return results.map { $0! }
        }
    }
}

/// ssh's exit 255 when the host was reached but trust failed: a host key that differs from the
/// known one (or is unknown under `StrictHostKeyChecking yes`), or an authentication failure.
/// Only refused, timed-out or unroutable connections (and connections lost midway) are "offline".
public enum SSHRejection: Equatable, Sendable {
    case hostKey(String)
    case authentication(String)

    static let hostKeyMarks = ["REMOTE HOST IDENTIFICATION HAS CHANGED", "Host key verification failed",
                               "No ED25519 host key is known", "No RSA host key is known", "No ECDSA host key is known",
                               "host key for", "Host key for"]
    static let authenticationMarks = ["Permission denied", "Too many authentication failures",
                                      "No more authentication methods", "Authentication failed"]

    public init?(stderr: String) {
        let lines = stderr.split(whereSeparator: \.isNewline).map { String($0).trimmed }
        let summary = lines.last { !$0.isEmpty && !$0.hasPrefix("@") } ?? ""
        if Self.hostKeyMarks.contains(where: stderr.contains) {
            self = .hostKey(summary)
        } else if Self.authenticationMarks.contains(where: stderr.contains) {
            self = .authentication(summary)
        } else {
            return nil
        }
    }

    public func message(address: String) -> String {
        switch self {
        case let .hostKey(said):
            "the SSH host key of \(address) is not the one this machine knows (\(said)), so nothing was sent: it changed or someone is in between; if the host was reinstalled, check its new key and replace the old one (ssh-keygen -R \(address)), then run the command again."
        case let .authentication(said):
            "\(address) refused this machine's SSH key (\(said)); check that 'ssh \(address)' works with the same --ssh-config and user."
        }
    }
}
