/// The commands that look up and create the system accounts services run as. Builds argv only;
/// the engine runs them.
public enum AccountCommands {
    /// `getent passwd NAME`: one `name:x:uid:gid:comment:home:shell` line, exit 2 when there is none.
    public static func lookUp(_ name: String) -> [String] {
        ["getent", "passwd", name]
    }

    /// The exit status of `getent` for a name it does not know.
    public static let notFoundStatus: Int32 = 2

    /// A system account with its own group, no home directory and no login shell: it exists to own
    /// a service's processes and files, never to log in.
    public static func create(_ name: String, app: String, env: String) -> [String] {
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", "--comment", "Berth service account of \(app) (\(env))", "--", name]
    }

    /// Gives `path` and everything under it to the account (links themselves, never their targets).
    public static func own(_ path: String, uid: UInt32, gid: UInt32) -> [String] {
        ["chown", "-R", "--no-dereference", "\(uid):\(gid)", "--", path]
    }

    /// Makes a release readable by every service and writable by none: files keep the modes they
    /// had on the deploying machine, where a umask of 077 would leave them to root alone here.
    /// `chmod -R` skips the links it meets (the shared directories), so it stays inside the release.
    public static func makeReadOnly(_ path: String) -> [String] {
        ["chmod", "-R", "u+rwX,go+rX,go-w", "--", path]
    }

    /// The account in one line of `getent passwd`; nil when the line is not one.
    public static func parse(_ line: String) -> SystemAccount? {
        let fields = line.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 7, !fields[0].isEmpty, let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { return nil }
        return SystemAccount(name: String(fields[0]), uid: uid, gid: gid)
    }
}

/// A user on a host, with its primary group.
public struct SystemAccount: Sendable, Equatable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32

    public init(name: String, uid: UInt32, gid: UInt32) {
        self.name = name
        self.uid = uid
        self.gid = gid
    }
}
