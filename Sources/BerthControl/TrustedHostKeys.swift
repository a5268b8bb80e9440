import BerthCore
import BerthTransport
import Foundation

/// The SSH host keys this machine already trusts for a host (its ssh config and known_hosts, as
/// `ssh` itself would look them up). Used to pin the release store's key in every host's
/// catch-up settings: `berth` has verified that key on every deploy, so a booting host need not
/// trust whatever answers at the store's address the first time.
public enum TrustedHostKeys {
    /// `type base64` keys; empty when none are known (the catch-up then trusts on first use).
    public static func lookup(host: HostConfig, configFile: String?) async -> [String] {
        guard let resolved = try? await ProcessRunner.run(KnownHostKeys.resolveArgv(host: host, configFile: configFile)),
              resolved.succeeded,
              let lookup = KnownHostKeys.lookup(fromResolved: resolved.stdout, home: NSHomeDirectory()) else { return [] }
        var keys: [String] = []
        for file in lookup.files where FileManager.default.fileExists(atPath: file) {
            guard let found = try? await ProcessRunner.run(KnownHostKeys.findArgv(name: lookup.name, file: file)),
                  found.succeeded else { continue }
            for key in KnownHostKeys.keys(fromFound: found.stdout) where !keys.contains(key) { keys.append(key) }
        }
        return keys
    }
}
