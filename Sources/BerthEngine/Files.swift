import FoundationEssentials
import Glibc

/// A failed system call, with the file it was about: becomes part of a one-sentence message.
public struct SystemCallError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let path: String
    public let code: Int32

    public init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String { "could not \(operation) \(path): \(String(cString: strerror(code)))" }
}

/// The few file operations the engine needs, straight on Glibc: whole-file reads, atomic writes
/// (temporary file + rename), atomic symlink replacement, and directory trees.
public enum Files {
    /// The file's bytes, or nil if it does not exist.
    public static func read(_ path: String) throws(SystemCallError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw SystemCallError("read", path)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("read", path)
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }

    public static func readString(_ path: String) throws(SystemCallError) -> String? {
        try read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Replaces `path` with `contents` so that readers see the old or the new file, never a mix:
    /// write a temporary file beside it, then rename over. `durable` also syncs the data first and the directory after the rename.
    /// `group`: the file's group (root owns it; e.g. the env file is readable by its service's group).
    public static func writeAtomically(_ path: String, _ contents: String, mode: mode_t = 0o644,
                                       durable: Bool = false, group: gid_t = 0) throws(SystemCallError) {
        let temporary = "\(directory(of: path))/.\(baseName(of: path)).berth-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw SystemCallError("write", temporary) }
        do throws(SystemCallError) {
            // The umask may have narrowed `mode`; root owns what the engine writes.
            guard fchmod(fd, mode) == 0 else { throw SystemCallError("set the mode of", temporary) }
            if geteuid() == 0, fchown(fd, 0, group) != 0 { throw SystemCallError("set the owner of", temporary) }
            try writeAll(fd, Array(contents.utf8), path: temporary)
            if durable, fsync(fd) != 0 { throw SystemCallError("sync", temporary) }
            guard close(fd) == 0 else { throw SystemCallError("write", temporary, code: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw SystemCallError("replace", path, code: code)
        }
        if durable { try syncDirectory(directory(of: path)) }
    }

    /// Syncs a directory, so the renames, links and removals in it survive a power cut.
    public static func syncDirectory(_ path: String) throws(SystemCallError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open the directory", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemCallError("sync", path) }
    }

    /// Appends `contents` with one `write` on an `O_APPEND` descriptor, so concurrent appenders
    /// never interleave inside a line.
    public static func append(_ path: String, _ contents: String, mode: mode_t = 0o644) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemCallError("append to", path) }
        defer { close(fd) }
        try writeAll(fd, Array(contents.utf8), path: path)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("write", path)
            }
            offset += written
        }
    }

    /// Points `path` at `target`, replacing whatever link is there in one rename.
    public static func replaceSymlink(_ path: String, to target: String) throws(SystemCallError) {
        let temporary = "\(directory(of: path))/.\(baseName(of: path)).berth-\(getpid())"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw SystemCallError("create the link", temporary) }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw SystemCallError("replace the link", path, code: code)
        }
    }

    /// Where the symlink at `path` points, or nil if there is no symlink.
    public static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public enum Kind { case missing, file, directory, symlink, other }

    /// What is at `path`, without following a final symlink.
    public static func kind(_ path: String) -> Kind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    public static func exists(_ path: String) -> Bool { kind(path) != .missing }

    /// `mkdir -p`.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) {
        if kind(path) == .directory { return }
        let parent = directory(of: path)
        if parent != path, !parent.isEmpty { try makeDirectories(parent, mode: mode) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else { throw SystemCallError("create the directory", path) }
    }

    /// `rm -rf`: symlinks are removed, never followed.
    public static func removeTree(_ path: String) throws(SystemCallError) {
        switch kind(path) {
        case .missing: return
        case .directory:
            for name in try list(path) { try removeTree("\(path)/\(name)") }
            guard rmdir(path) == 0 || errno == ENOENT else { throw SystemCallError("remove", path) }
        default:
            guard unlink(path) == 0 || errno == ENOENT else { throw SystemCallError("remove", path) }
        }
    }

    /// Names in a directory (no `.`/`..`), sorted; empty if it does not exist.
    public static func list(_ path: String) throws(SystemCallError) -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw SystemCallError("list", path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func remove(_ path: String) throws(SystemCallError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw SystemCallError("remove", path) }
    }

    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

extension Files {
    /// Copies everything readable from `source` to `destination` until end of file; returns the
    /// number of bytes copied.
    @discardableResult
    public static func copy(from source: Int32, to destination: Int32, what: String) throws(SystemCallError) -> Int {
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(source, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("read", what)
            }
            if count == 0 { return total }
            try writeAll(destination, Array(chunk[0..<count]), path: what)
            total += count
        }
    }
}
