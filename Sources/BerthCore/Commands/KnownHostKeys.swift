/// How `berth` finds the SSH host keys it already trusts for a host, so that hosts catching up
/// from the release store can pin the store's key instead of trusting it on first use.
///
/// `ssh -G` says which name and known_hosts files ssh would use for the host (ssh config,
/// `HostKeyAlias`, port); `ssh-keygen -F NAME -f FILE` finds the entries, hashed or not. Both are
/// builders and parsers here; running them is the controller's job.
public enum KnownHostKeys {
    /// The alias every catch-up uses for the store (`HostKeyAlias`), whatever address it dials.
    public static let storeAlias = "berth-release-store"

    /// `ssh [-F config] [-l user] [-p port] -G -- address`: prints the effective client options.
    public static func resolveArgv(host: HostConfig, configFile: String?) -> [String] {
        var argv = ["ssh"]
        if let configFile { argv += ["-F", configFile] }
        if let user = host.user { argv += ["-l", user] }
        if let port = host.port { argv += ["-p", String(port)] }
        return argv + ["-G", "--", host.address]
    }

    /// What `ssh -G` output says about where to look.
    public struct Lookup: Equatable, Sendable {
        /// The name known_hosts entries are filed under: the alias, else `host` or `[host]:port`.
        public var name: String
        public var files: [String]

        public init(name: String, files: [String]) {
            self.name = name
            self.files = files
        }
    }

    /// Reads `ssh -G` output; `home` expands a leading `~/` in file names.
    public static func lookup(fromResolved output: String, home: String) -> Lookup? {
        var options: [String: String] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].lowercased()
            if options[key] == nil { options[key] = String(parts[1]) }
        }
        guard let hostname = options["hostname"], !hostname.isEmpty else { return nil }
        let port = options["port"] ?? "22"
        var name = port == "22" ? hostname : "[\(hostname)]:\(port)"
        if let alias = options["hostkeyalias"], !alias.isEmpty, alias != "none" { name = alias }
        var files: [String] = []
        for key in ["userknownhostsfile", "globalknownhostsfile"] {
            for word in (options[key] ?? "").split(separator: " ") {
                let file = word.hasPrefix("~/") ? home + String(word.dropFirst(1)) : String(word)
                if file != "/dev/null", file != "none", !files.contains(file) { files.append(file) }
            }
        }
        return Lookup(name: name, files: files)
    }

    /// `ssh-keygen -F name -f file`.
    public static func findArgv(name: String, file: String) -> [String] {
        ["ssh-keygen", "-F", name, "-f", file]
    }

    /// The `type base64` keys in `ssh-keygen -F` output (comments, markers and revoked keys left out).
    public static func keys(fromFound output: String) -> [String] {
        var keys: [String] = []
        for line in output.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") && !line.hasPrefix("@") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let key = "\(fields[1]) \(fields[2])"
            if !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    /// The known_hosts file a catch-up checks the store against.
    public static func pinnedFile(_ keys: [String]) -> String {
        keys.map { "\(storeAlias) \($0)\n" }.joined()
    }
}
