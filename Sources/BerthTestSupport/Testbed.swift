import Foundation

/// One host of the test fleet, as `testbed/testbed` writes it to `inventory.json`.
public struct TestbedHost: Decodable, Sendable, Equatable {
    public let name: String
    public let address: String
    public let port: Int
    public let user: String
    /// The OpenSSH config that reaches this host: `ssh -F sshConfig name`.
    public let sshConfig: String
    /// The host's network namespace (`ip netns exec netns …`).
    public let netns: String
    /// The host's systemd (PID 1 of its PID namespace) as the machine sees it; nil when stopped.
    public let pid: Int?

    enum CodingKeys: String, CodingKey {
        case name, address, port, user, sshConfig = "ssh_config", netns, pid
    }
}

/// `inventory.json`: every host of the current fleet, running or stopped.
public struct TestbedInventory: Decodable, Sendable, Equatable {
    public let hosts: [TestbedHost]

    public func host(_ name: String) -> TestbedHost? { hosts.first { $0.name == name } }
}

/// Throws, with what to do about it, unless this process can run the testbed: it must be root,
/// and debootstrap, iproute2, OpenSSH's client and util-linux's namespace tools must be installed.
/// Integration tests call it (through `Testbed.ensureUp`) so that a machine that cannot run them
/// makes them fail with this message; they never pass or skip silently.
public func requireTestbedPrerequisites() throws {
    var problems: [String] = []
    if geteuid() != 0 { problems.append("this test process is not root") }
    let tools = ["debootstrap", "ip", "ssh", "ssh-keygen", "nsenter", "unshare", "setpriv", "chroot",
                 "flock", "mount", "curl", "timeout"]
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    let directories = path.split(separator: ":").map(String.init)
    let missing = tools.filter { tool in
        !directories.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }
    if !missing.isEmpty { problems.append("missing \(missing.joined(separator: ", "))") }
    let script = Repository.root.appendingPathComponent("testbed/testbed").path
    if !FileManager.default.isExecutableFile(atPath: script) { problems.append("no executable \(script)") }
    if !problems.isEmpty {
        throw TestSetupError("""
            integration tests need root and debootstrap, iproute2, openssh-client and util-linux \
            (\(problems.joined(separator: "; "))): run `testbed/install-deps` as root, then run the tests as root.
            """)
    }
}

/// A handle on `testbed/testbed`: boots and controls the fleet of real Debian hosts that
/// integration tests deploy to, and runs commands on them over ssh.
///
/// Integration suites share one fleet per test process: call `Testbed.shared.ensureUp(hosts:)`
/// (or `FleetAccess.ensure(hosts:)`) instead of booting their own, and nest in the serialized
/// `Integration` suite, since a test that crashes or cuts a host would disturb one that deploys.
public final class Testbed: @unchecked Sendable {
    /// The fleet of this test process (testbed directory from `BERTH_TESTBED_DIR`, or `.testbed/`).
    public static let shared = Testbed()

    /// Where the image, host disks and runtime files live.
    public let directory: String
    /// `testbed/testbed` of this repository.
    public let script: String
    public var sshConfigPath: String { directory + "/ssh_config" }
    /// The same as `sshConfigPath`: what `berth --ssh-config` (or `BERTH_SSH_CONFIG`) wants.
    public var sshConfig: String { sshConfigPath }
    public var inventoryPath: String { directory + "/inventory.json" }
    public var knownHostsPath: String { directory + "/known_hosts" }

    private let lock = NSRecursiveLock()
    private var bootedFresh = false

    public init(directory: String? = nil) {
        let root = Repository.root.path
        var dir = directory ?? ProcessInfo.processInfo.environment["BERTH_TESTBED_DIR"] ?? root + "/.testbed"
        if !dir.hasPrefix("/") { dir = FileManager.default.currentDirectoryPath + "/" + dir }
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        self.directory = dir
        self.script = root + "/testbed/testbed"
    }

    // MARK: Shared fleet

    /// Makes sure hosts h1…hN run and answer ssh, booting the missing ones (the first call of
    /// this process gives the hosts it boots fresh disks), and returns self. Hosts already
    /// running are left alone; a host a test crashed is booted again. Serialized in-process by a
    /// lock and across processes by the script's own lock.
    @discardableResult
    public func ensureUp(hosts n: Int) throws -> Testbed {
        lock.lock()
        defer { lock.unlock() }
        try requireTestbedPrerequisites()
        try up(n, fresh: !bootedFresh)
        bootedFresh = true
        return self
    }

    // MARK: Controls (each runs `testbed/testbed COMMAND`; a failure throws with its output)

    /// Boots h1…hN (those not running yet); `fresh` wipes the disks of the hosts it boots.
    @discardableResult
    public func up(_ n: Int, fresh: Bool = false) throws -> TestbedInventory {
        try control(["up", String(n)] + (fresh ? ["--fresh"] : []))
        return try inventory
    }

    /// Removes every process, mount, namespace, link and runtime file of the fleet.
    public func down() throws { try control(["down"]) }

    /// kill -9 of the host's systemd: a power cut. Its disk is kept.
    public func crash(_ host: String) throws { try control(["crash", host]) }

    /// Boots a stopped host again on the same disk (same address, same host key).
    public func boot(_ host: String) throws { try control(["boot", host]) }

    /// Takes the host's network link down: a partition.
    public func cut(_ host: String) throws { try control(["cut", host]) }

    /// Brings the host's network link back up.
    public func heal(_ host: String) throws { try control(["heal", host]) }

    /// The `status` table (name, address, pid, state, link, ssh, systemd state).
    public func status() throws -> String { try control(["status"]).stdout }

    /// `testbed/testbed exec HOST ARGS…`: ssh joins the arguments with spaces, and the host's
    /// shell runs them. Returns the command's exit status and output; does not throw on failure.
    public func exec(_ host: String, _ arguments: [String]) throws -> ProcessOutput {
        try RunningProcess.start([script, "exec", host] + arguments, environment: environment).wait()
    }

    /// Runs `testbed/testbed ARGUMENTS`, throwing `TestSetupError` with its output if it fails.
    @discardableResult
    public func control(_ arguments: [String]) throws -> ProcessOutput {
        let output = try RunningProcess.start([script] + arguments, environment: environment).wait()
        guard output.status == 0 else {
            throw TestSetupError("testbed/testbed \(arguments.joined(separator: " ")) failed (exit \(output.status)):\n\(output.combined)")
        }
        return output
    }

    // MARK: Hosts

    /// Runs `command` (a shell command line) on `host` with `ssh -F sshConfig`, within `timeout`
    /// seconds. Status 255 is ssh's own failure (host unreachable, …), 124 the timeout.
    public func run(on host: String, _ command: String, timeout: Int = 120, connectTimeout: Int? = nil) throws -> ProcessOutput {
        var argv = ["/usr/bin/timeout", "-k", "5", String(timeout), "ssh", "-F", sshConfigPath]
        if let connectTimeout { argv += ["-o", "ConnectTimeout=\(connectTimeout)"] }
        argv += ["--", host, command]
        return try RunningProcess.start(argv, environment: environment).wait()
    }

    /// The fleet as `inventory.json` describes it now.
    public var inventory: TestbedInventory {
        get throws {
            guard let data = FileManager.default.contents(atPath: inventoryPath) else {
                throw TestSetupError("no \(inventoryPath): the testbed is not up (testbed/testbed up N)")
            }
            return try JSONDecoder().decode(TestbedInventory.self, from: data)
        }
    }

    /// This machine's address on the testbed bridge: where test hosts reach a server the test runs.
    public static let bridgeAddress = "10.77.0.1"

    /// The address of host `hN` (from the inventory; hosts have fixed addresses 10.77.0.(10+N)).
    public func address(of host: String) -> String {
        if let address = (try? inventory)?.host(host)?.address { return address }
        return "10.77.0.\(10 + (Int(host.dropFirst()) ?? 0))"
    }

    private var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_TESTBED_DIR"] = directory
        return environment
    }

    // MARK: Containers

    /// Runs `testbed/containers COMMAND` (setup, check, cleanup), throwing with its output if it fails.
    @discardableResult
    public func containers(_ command: String) throws -> ProcessOutput {
        let script = Repository.root.appendingPathComponent("testbed/containers").path
        let output = try RunningProcess.start([script, command], environment: environment).wait()
        guard output.status == 0 else {
            throw TestSetupError("testbed/containers \(command) failed (exit \(output.status)):\n\(output.combined)")
        }
        return output
    }
}

/// The fleet every integration suite of this test process shares.
public enum FleetAccess {
    /// `Testbed.shared.ensureUp(hosts:)`: h1…hN run and answer ssh.
    public static func ensure(hosts n: Int) throws -> Testbed { try Testbed.shared.ensureUp(hosts: n) }
}
