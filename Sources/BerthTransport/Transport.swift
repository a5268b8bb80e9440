import BerthCore

/// Where a command runs: this machine or a host over SSH. A transport only maps a remote argv to
/// the local argv that runs it; `ProcessRunner` does the running, so both share one tested path.
public protocol Transport: Sendable {
    /// The host's name for messages.
    var name: String { get }
    /// The local argv that runs `remote` on the target.
    func argv(for remote: [String]) -> [String]
}

/// Runs commands on this machine, e.g. an engine on a temporary root in tests.
public struct LocalTransport: Transport {
    public let name: String
    public init(name: String = "local") { self.name = name }
    public func argv(for remote: [String]) -> [String] { remote }
}

/// Runs commands on a host through the system OpenSSH client, multiplexed.
public struct SSHTransport: Transport {
    public let host: HostConfig
    public let ssh: SSHCommand
    public var name: String { host.name }

    public init(host: HostConfig, ssh: SSHCommand) {
        self.host = host
        self.ssh = ssh
    }

    public func argv(for remote: [String]) -> [String] { ssh.argv(host: host, remote: remote) }

    /// ssh's own exit status when it could not connect or lost the connection.
    public static let connectionFailedStatus: Int32 = 255
}
