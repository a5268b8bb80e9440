#if canImport(Glibc)
import Glibc
#endif

/// The folder of ssh's control sockets. Whoever can open a master's socket runs commands on its
/// host as the deploying user, without a key: the folder must be this user's own, private
/// (0700), and a real directory, not a link someone else planted in `/tmp`.
public enum ControlDirectory {
    /// The folder Berth uses: short, because a socket path must fit in 108 bytes.
    public static func defaultPath(uid: uid_t = getuid()) -> String { "/tmp/berth-ssh-\(uid)" }

    /// Creates `path` (mode 0700) when it is missing, then checks it; returns `path`.
    @discardableResult
    public static func prepare(_ path: String, uid: uid_t = getuid()) throws(ControlDirectoryError) -> String {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw ControlDirectoryError(path: path, problem: "cannot be created (\(String(cString: strerror(errno))))")
        }
        try check(path, uid: uid)
        return path
    }

    /// Refuses a folder that is a link, not a directory, owned by another user, or open to others.
    public static func check(_ path: String, uid: uid_t = getuid()) throws(ControlDirectoryError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw ControlDirectoryError(path: path, problem: "cannot be read (\(String(cString: strerror(errno))))")
        }
        if info.st_mode & S_IFMT == S_IFLNK { throw ControlDirectoryError(path: path, problem: "is a symbolic link") }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw ControlDirectoryError(path: path, problem: "is not a directory") }
        guard info.st_uid == uid else {
            throw ControlDirectoryError(path: path, problem: "belongs to uid \(info.st_uid), not to you (uid \(uid))")
        }
        let mode = info.st_mode & 0o7777
        guard mode & 0o077 == 0 else {
            throw ControlDirectoryError(path: path, problem: "has mode \(String(mode, radix: 8)), so other users can reach its sockets")
        }
    }
}

/// Why the ssh control-socket folder was refused, as one sentence.
public struct ControlDirectoryError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        "the ssh control-socket folder \(path) \(problem); remove it (Berth recreates it private to you) and run the command again."
    }
}
