import BerthCore
import BerthTransport
import Foundation

/// The controller's deploy key: signs the plans and desired release a release store serves, so a
/// host runs at catch-up only what a deploying controller decided. Made once with ssh-keygen
/// (ed25519, no passphrase) at `$BERTH_DEPLOY_KEY`, else `$XDG_CONFIG_HOME/berth/deploy_ed25519`
/// (`~/.config/berth/deploy_ed25519`); its public half is installed on every host a deploy
/// reaches, the private half never leaves this machine. Machines that deploy the same app (a
/// laptop and CI) share the file, or the last one to deploy decides which key hosts trust.
public struct DeployKey: Sendable {
    public let privateKeyFile: String
    /// `ssh-ed25519 AAAA… comment`.
    public let publicKey: String

    public static func defaultPath() -> String {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["BERTH_DEPLOY_KEY"], !explicit.isEmpty { return explicit }
        let config = env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.config")
        return "\(config)/berth/deploy_ed25519"
    }

    /// The key at `path`, made first if there is none (under a lock, so two deploys make one key).
    public static func load(path: String = defaultPath()) async throws -> DeployKey {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        if let key = read(path) { return key }
        let fd = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ControlError.toolFailed(tool: "ssh-keygen", reason: "cannot open \(path).lock") }
        defer { close(fd) }
        flock(fd, LOCK_EX)
        if let key = read(path) { return key }
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".pub")
        let comment = "berth-deploy@\(ProcessInfo.processInfo.hostName)"
        let made = try await ProcessRunner.run(PlanSigning.makeKey(file: path, comment: comment))
        guard made.succeeded, let key = read(path) else {
            throw ControlError.toolFailed(tool: "ssh-keygen", reason: "could not make the deploy key \(path): \(made.stderr)")
        }
        return key
    }

    static func read(_ path: String) -> DeployKey? {
        guard FileManager.default.fileExists(atPath: path),
              let pub = try? String(contentsOfFile: path + ".pub", encoding: .utf8),
              let line = pub.split(separator: "\n").first, line.split(separator: " ").count >= 2 else { return nil }
        return DeployKey(privateKeyFile: path, publicKey: String(line))
    }

    /// The armored signature of `text` for `namespace` (`berth-plan` for a host's plan,
    /// `berth-desired` for the desired state).
    public func sign(_ text: String, namespace: String = PlanSigning.namespace) async throws -> String {
        let dir = NSTemporaryDirectory() + "berth-sign-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/plan.json"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let signed = try await ProcessRunner.run(PlanSigning.sign(keyFile: privateKeyFile, file: file, namespace: namespace))
        guard signed.succeeded, let signature = try? String(contentsOfFile: file + ".sig", encoding: .utf8) else {
            let what = namespace == PlanSigning.desiredNamespace ? "the desired state" : "a plan"
            throw ControlError.toolFailed(tool: "ssh-keygen", reason: "could not sign \(what) with \(privateKeyFile): \(signed.stderr)")
        }
        return signature
    }
}
