import BerthCore
import Foundation

/// What goes into a release: the files of `release.path`, minus what must or may stay behind.
///
/// - Never packed, whatever `.berthignore` says: every env file any environment names and the app
///   file itself, wherever they sit inside the release directory (found by path and by identity,
///   so a hard link or another path to the same file stays behind too).
/// - Left out by default, as if written at the top of `.berthignore` (a `!` line brings them back):
///   version-control metadata (`.git`, `.hg`, `.svn`) and `__pycache__/`.
/// - `.berthignore` in the release directory adds excludes (gitignore syntax, see `IgnoreRules`).
/// - Sockets, FIFOs and devices are left out: a release holds files, directories and links.
/// - A symbolic link that leaves the release directory is an error: a host refuses to unpack it.
public struct ReleaseFiles: Sendable, Equatable {
    /// Archive members in the order tar writes them (`.`, then depth first, names sorted bytewise
    /// in each directory), each `./`-prefixed: directories, files and symbolic links.
    public let members: [String]
    /// Files (not directories) left out, with why, relative to the release directory.
    public let leftOut: [LeftOut]

    public struct LeftOut: Sendable, Equatable {
        public enum Reason: String, Sendable, Equatable {
            case envFile = "env file"
            case appFile = "app file"
            case ignored = ".berthignore"
            case byDefault = "default"
            case special = "not a file"
        }

        public let path: String
        public let reason: Reason
    }

    public static let ignoreFileName = ".berthignore"
    public static let defaultRules = IgnoreRules(text: ".git\n.hg\n.svn\n__pycache__/\n", defaults: true)

    /// Lists the release of `app` (its `release.path`), honouring its `.berthignore`.
    public static func list(_ app: LoadedApp) throws(ConfigErrors) -> ReleaseFiles {
        let root = app.releaseDirectory()
        let location = app.sources.releasePath
        var rules = defaultRules
        let ignoreFile = root + "/" + ignoreFileName
        if FileManager.default.fileExists(atPath: ignoreFile) {
            let text = try AppFile.readText(ignoreFile, what: ignoreFileName, at: SourceLocation(file: app.displayPath(ignoreFile)),
                                            limit: YAMLLimits.maxBytes + 1, regularFile: true)
            rules = rules.followed(by: IgnoreRules(text: text))
        }
        // The app file's path is as the user named it (relative to the working directory).
        var protected: [String: LeftOut.Reason] = [URL(fileURLWithPath: app.file).standardizedFileURL.path: .appFile]
        for environment in app.config.environments {
            for file in environment.envFiles where protected[app.resolve(file)] == nil { protected[app.resolve(file)] = .envFile }
        }
        do {
            return try scan(root: root, rules: rules, protected: protected)
        } catch {
            throw ConfigErrors([ConfigError(location: location, message: error.message)])
        }
    }

    struct ScanError: Error {
        let message: String
    }

    /// Walks `root` without following links. `protected`: absolute paths never packed.
    static func scan(root: String, rules: IgnoreRules, protected: [String: LeftOut.Reason]) throws(ScanError) -> ReleaseFiles {
        struct Identity: Hashable {
            let device: UInt64
            let inode: UInt64
        }
        func identity(_ path: String) -> Identity? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        }
        var protectedByIdentity: [Identity: LeftOut.Reason] = [:]
        for (path, reason) in protected { if let id = identity(path) { protectedByIdentity[id] = reason } }

        var members = ["."]
        var leftOut: [LeftOut] = []

        func entries(_ relative: String) throws(ScanError) -> [String] {
            let path = relative.isEmpty ? root : root + "/" + relative
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
                throw ScanError(message: "cannot read '\(relative.isEmpty ? "." : relative)' in the release directory \(root); check its permissions")
            }
            return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        }
        /// Every file under an excluded directory, counted as left out.
        func leaveOut(_ relative: String, _ reason: LeftOut.Reason) {
            var info = stat()
            guard lstat(root + "/" + relative, &info) == 0 else { return }
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                leftOut.append(LeftOut(path: relative, reason: reason))
                return
            }
            for name in (try? entries(relative)) ?? [] { leaveOut(relative + "/" + name, reason) }
        }
        func walk(_ relative: String) throws(ScanError) {
            for name in try entries(relative) {
                let path = relative.isEmpty ? name : relative + "/" + name
                let absolute = root + "/" + path
                var info = stat()
                guard lstat(absolute, &info) == 0 else { continue }  // gone since it was listed
                let type = info.st_mode & S_IFMT
                let isDirectory = type == S_IFDIR
                if type == S_IFREG,
                   let reason = protected[absolute] ?? protectedByIdentity[Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))] {
                    leftOut.append(LeftOut(path: path, reason: reason))
                    continue
                }
                if let match = rules.lastMatch(path, isDirectory: isDirectory), !match.negative {
                    leaveOut(path, match.isDefault ? .byDefault : .ignored)
                    continue
                }
                switch type {
                case S_IFDIR:
                    members.append("./" + path)
                    try walk(path)
                case S_IFREG:
                    members.append("./" + path)
                case S_IFLNK:
                    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: absolute)) ?? ""
                    guard Self.staysInside(link: path, target: target) else {
                        throw ScanError(message: "'\(path)' in the release directory is a symbolic link to '\(target)', outside the release; "
                            + "hosts refuse such links: copy what it points to into the release, use release.shared for data "
                            + "that outlives releases, or list it in \(ignoreFileName)")
                    }
                    members.append("./" + path)
                default:
                    leftOut.append(LeftOut(path: path, reason: .special))
                }
            }
        }
        try walk("")
        return ReleaseFiles(members: members, leftOut: leftOut)
    }

    /// Whether a link at `link` (relative to the release root) pointing to `target` resolves, by
    /// its words alone, to a place inside the release.
    static func staysInside(link: String, target: String) -> Bool {
        if target.isEmpty || target.hasPrefix("/") { return false }
        var depth = link.split(separator: "/").count - 1
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                depth -= 1
                if depth < 0 { return false }
            } else {
                depth += 1
            }
        }
        return true
    }
}
