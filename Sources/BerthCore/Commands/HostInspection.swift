/// What the host engine asks nginx and the kernel before it changes anything. Argv only; the
/// engine runs them (`LiveSystem`) and reads their output.
public enum HostInspection {
    /// Tests nginx's configuration; `-q` leaves only warnings and errors on stderr. nginx exits 0
    /// even when it ignores a `server_name` that two servers on one `listen` share (it warns
    /// `conflicting server name … ignored`), so the engine reads stderr too.
    public static let nginxTest = ["nginx", "-t", "-q"]

    /// Tests nginx's configuration and prints every file it reads, each after
    /// `# configuration file PATH:`: Berth's sites and hand-made ones, wherever they are included from.
    public static let nginxConfiguration = ["nginx", "-T", "-q"]

    /// Every listening TCP socket with the process that holds it, one per line, no header
    /// (`ss -ltnpH`): `LISTEN 0 5 0.0.0.0:8000 0.0.0.0:* users:(("python3",pid=812,fd=3))`.
    public static let listeningSockets = ["ss", "--listening", "--tcp", "--numeric", "--processes", "--no-header"]
}
