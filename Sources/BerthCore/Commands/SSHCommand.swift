/// Builds the argv that runs a command on a host through the system OpenSSH client.
///
/// The system client (rather than an SSH library) means `~/.ssh/config`, agents, `ProxyJump` and
/// known_hosts behave exactly as they do for `ssh` itself. Connections are multiplexed: the first
/// command to a host opens a master connection that later commands (and later deploys within
/// `controlPersistSeconds`) reuse, so a step costs one round trip instead of one handshake.
public struct SSHCommand: Sendable, Equatable {
    /// `-F`: an ssh config to use instead of `~/.ssh/config`.
    public var configFile: String?
    /// Directory for the control sockets (kept short: a socket path must fit in 108 bytes).
    public var controlDirectory: String
    public var controlPersistSeconds: Int
    public var connectTimeoutSeconds: Int

    public init(configFile: String? = nil, controlDirectory: String, controlPersistSeconds: Int = 60,
                connectTimeoutSeconds: Int = 5) {
        self.configFile = configFile
        self.controlDirectory = controlDirectory
        self.controlPersistSeconds = controlPersistSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// `ssh [options] [-l user] [-p port] -- address 'quoted remote argv'`.
    public func argv(host: HostConfig, remote: [String]) -> [String] {
        var argv = ["ssh"]
        if let configFile { argv += ["-F", configFile] }
        argv += [
            "-o", "ControlMaster=auto",
            "-o", "ControlPath=\(controlDirectory)/%C",
            "-o", "ControlPersist=\(controlPersistSeconds)",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=\(connectTimeoutSeconds)",
            // A dead host must not hang a deploy: give up after ~3 missed keepalives.
            "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=3",
        ]
        if let user = host.user { argv += ["-l", user] }
        if let port = host.port { argv += ["-p", String(port)] }
        // `--` ends options, so an address can never be read as one.
        argv += ["--", host.address, ShellQuoting.join(remote)]
        return argv
    }

    /// Closes the master connection of a host (used by tests and `berth` on exit when asked).
    public func exitMaster(host: HostConfig) -> [String] {
        var argv = Array(self.argv(host: host, remote: []).dropLast(3))
        argv.insert(contentsOf: ["-O", "exit"], at: 1)
        argv.append(host.address)
        return argv
    }
}
