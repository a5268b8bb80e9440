/// A short command run in a release on a host (a hook, a smoke check's command): a transient
/// systemd service started with `systemd-run --wait --pipe`, so it gets the service's account, the
/// release as its working directory and the env files as systemd reads them (as root, so the
/// secrets never pass through argv, a shell variable or a file the account could not read
/// anyway), a hard time limit (`RuntimeMaxSec`), and its output back on our pipes rather than in
/// the journal. Builds argv only; the engine runs it.
public struct ReleaseJob: Sendable, Equatable {
    /// Shell syntax, run with `/bin/sh -c`.
    public var command: String
    /// The transient unit's name (unique per run: `<app>.<env>.<what>-<n>-<stamp>.service`).
    public var unit: String
    /// The account; nil or `root`: root.
    public var user: String?
    public var workingDirectory: String
    /// Read by systemd in this order: later files override earlier ones.
    public var environmentFiles: [String]
    /// Plain facts for the command (`BERTH_RELEASE`, `BERTH_SLOT`); never settings or secrets.
    public var facts: [EnvVar]
    public var timeoutMs: Int

    public init(command: String, unit: String, user: String?, workingDirectory: String,
                environmentFiles: [String], facts: [EnvVar] = [], timeoutMs: Int) {
        self.command = command
        self.unit = unit
        self.user = user
        self.workingDirectory = workingDirectory
        self.environmentFiles = environmentFiles
        self.facts = facts
        self.timeoutMs = timeoutMs
    }

    public var argv: [String] {
        var argv = ["systemd-run", "--quiet", "--wait", "--pipe", "--collect", "--service-type=exec",
                    "--unit=\(unit)", "--description=Berth job \(unit)"]
        if let user, user != "root" { argv.append("--uid=\(user)") }
        argv.append("--working-directory=\(workingDirectory)")
        for file in environmentFiles { argv.append("--property=EnvironmentFile=\(file)") }
        for fact in facts { argv.append("--setenv=\(fact.name)=\(fact.value)") }
        argv += ["--property=RuntimeMaxSec=\(SystemdUnit.timeSpan(milliseconds: timeoutMs))",
                 "--property=TimeoutStopSec=5s", "--", "/bin/sh", "-c", command]
        return argv
    }

    /// A unit name part from free text (`after-release`, `smoke`): what systemd allows, no dots.
    public static func unitWord(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") ? $0 : "-" })
    }
}
