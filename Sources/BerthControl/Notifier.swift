import BerthCore
import BerthTransport
import Foundation

/// What a notification says about one deploy or rollback: the JSON a webhook or command receives.
/// `text` is a one-line summary, so a Slack-style incoming webhook shows it as it is.
public struct DeployNotice: Encodable, Sendable {
    public let text: String
    public let app: String
    public let environment: String
    /// `deploy` or `rollback`.
    public let command: String
    public let release: String?
    public let label: String?
    public let exitCode: Int32
    /// Hosts that could not be reached (optional ones are pending, required ones failed).
    public let offline: [String]
    public let hosts: [HostReport]
    public let finishedAt: String

    public init(app: String, environment: String, command: String, release: String?, label: String?,
                exitCode: Int32, hosts: [HostReport]) {
        self.app = app
        self.environment = environment
        self.command = command
        self.release = release
        self.label = label
        self.exitCode = exitCode
        self.hosts = hosts
        offline = hosts.filter { $0.state == .skipped || $0.state == .unreachable }.map(\.host)
        finishedAt = LocalTools.isoNow()
        var counts: [String: Int] = [:]
        for host in hosts { counts[host.state.rawValue, default: 0] += 1 }
        let tally = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let what = label.map { "\(command) of \($0)" } ?? command
        text = "\(app): \(what) to \(environment) \(exitCode == 0 ? "succeeded" : "finished with exit code \(exitCode)"): \(tally)"
            + (offline.isEmpty ? "" : "; offline: \(offline.joined(separator: ", "))")
    }
}

/// Sends a `DeployNotice` to the app file's webhook (POST, JSON body, via curl) and/or command
/// (`sh -c`, JSON on stdin). A notification that fails is a warning: it never changes the outcome.
public struct Notifier: Sendable {
    public let config: NotifyConfig
    /// The app file's folder, where the command runs.
    public let directory: String

    public init(config: NotifyConfig, directory: String) {
        self.config = config
        self.directory = directory
    }

    /// Sends the notice everywhere configured; returns one warning per failed delivery.
    public func send(_ notice: DeployNotice) async -> [String] {
        guard let body = try? [UInt8](JSONEncoder.stable().encode(notice)) else { return ["could not encode the notification"] }
        var warnings: [String] = []
        if let webhook = config.webhook {
            let config = WebhookPost.stdin(url: webhook, body: String(decoding: body, as: UTF8.self))
            let result = try? await ProcessRunner.run(WebhookPost.argv, stdin: Array(config.utf8))
            if result?.succeeded != true {
                warnings.append("\(WebhookPost.shownAs) was not notified: \(result?.stderr.trimmed ?? "curl could not run")")
            }
        }
        if let command = config.command {
            let result = try? await ProcessRunner.run(["sh", "-c", command], stdin: body, workingDirectory: directory)
            if result?.succeeded != true {
                warnings.append("the notify command '\(command)' failed (exit \(result?.status ?? -1)): \(result?.stderr.trimmed ?? "")")
            }
        }
        return warnings
    }
}
