import BerthCore
import Glibc

/// The check of an unpacked release before it is moved into place, with `lstat` (links are never
/// followed): only directories, regular files and symlinks; no setuid or setgid bit; no symlink
/// that resolves outside the release; no hard link to a file outside it (a regular file with more
/// links than the tree holds).
enum UnpackedTree {
    /// Why the tree at `root` must not become a release (part of a sentence), or nil.
    static func refusal(_ root: String) -> String? {
        var links: [String: (name: String, seen: Int, count: Int)] = [:]
        if let refusal = walk(root, relative: "", links: &links) { return refusal }
        if let outside = links.values.sorted(by: { $0.name < $1.name }).first(where: { $0.seen < $0.count }) {
            return "'\(outside.name)' is a hard link to a file outside the release directory"
        }
        return nil
    }

    private static func walk(_ root: String, relative: String, links: inout [String: (name: String, seen: Int, count: Int)]) -> String? {
        let dir = relative.isEmpty ? root : "\(root)/\(relative)"
        guard let names = try? Files.list(dir) else { return "'\(relative)' could not be read" }
        for name in names {
            let path = "\(dir)/\(name)"
            let member = relative.isEmpty ? name : "\(relative)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0 else { return "'\(member)' could not be read" }
            if info.st_mode & (S_ISUID | S_ISGID) != 0 { return "'\(member)' has the setuid or setgid bit" }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                if let refusal = walk(root, relative: member, links: &links) { return refusal }
            case S_IFREG:
                guard info.st_nlink > 1 else { continue }
                let key = "\(info.st_dev):\(info.st_ino)"
                let seen = links[key]
                links[key] = (seen?.name ?? member, (seen?.seen ?? 0) + 1, Int(info.st_nlink))
            case S_IFLNK:
                let target = Files.linkTarget(path) ?? ""
                if ArchiveListing.leavesFrom(member, target) {
                    return "the link '\(member)' points outside the release directory (to '\(target)')"
                }
            case S_IFCHR, S_IFBLK: return "it contains the device file '\(member)'"
            case S_IFIFO: return "it contains the FIFO '\(member)'"
            default: return "it contains '\(member)', which is not a file, directory or symlink"
            }
        }
        return nil
    }
}

/// Free space on the file system that holds a directory.
enum DiskSpace {
    /// Bytes an unprivileged writer may still use there; nil when unknown.
    static func available(in path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Refuses when `bytes` (plus a margin of 1% and 16 MiB) do not fit in `path`'s file system.
    static func require(_ bytes: Int, for what: String, in path: String) throws(StepFailure) {
        guard let free = available(in: path) else { return }
        let needed = bytes.addingReportingOverflow(bytes / 100 + (16 << 20))
        guard needed.overflow || needed.partialValue > free else { return }
        throw StepFailure("\(what) needs \(megabytes(bytes)) but only \(megabytes(free)) are free on the file system of \(path); free some space (or keep fewer releases) and try again.")
    }

    static func megabytes(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? "\(bytes >> 30) GiB" : "\(max(1, bytes >> 20)) MiB"
    }
}
