import BerthCore
import Glibc

/// Why a deploy step failed, in one sentence, with the failing unit's journal when there is one.
public struct StepFailure: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var journal: [String]?

    public init(_ message: String, journal: [String]? = nil) {
        self.message = message
        self.journal = journal
    }

    public var description: String { message }
}

/// Unpacked releases of one app environment: `releases/<id>`, complete or absent.
///
/// A release is unpacked into `releases/.incoming-<id>`, its shared directories are linked in, and
/// only then is it renamed to `releases/<id>`: a directory with a release's name is always whole.
public struct ReleaseStore {
    public let layout: HostLayout

    /// Where the gzip'd tar of a release comes from.
    public enum Source: Equatable, Sendable {
        /// The rest of the engine's stdin, after the plan line.
        case standardInput
        /// A file (tests).
        case file(String)
    }

    public init(layout: HostLayout) {
        self.layout = layout
    }

    public func isPresent(_ id: String) -> Bool {
        Files.kind(layout.releaseDir(id)) == .directory
    }

    /// Complete releases on disk.
    public func ids() -> [String] {
        ((try? Files.list(layout.releasesDir)) ?? []).filter { !$0.hasPrefix(".") && isPresent($0) }
    }

    /// Checks a release archive and unpacks it, links the shared directories into it and moves it
    /// into place. Before anything is unpacked: there is room for the archive (`archiveBytes`) and
    /// then for its content, its SHA-256 is the release id, and its listing holds no device file,
    /// FIFO, setuid/setgid bit or name outside the release; after unpacking, before the rename,
    /// the tree itself is checked again (`UnpackedTree`). Nothing is left at `releases/<id>` (nor
    /// in a temporary file or directory) when this fails.
    public func receive(_ release: ReleaseRef, from source: Source, sharedDirs: [String]) async throws(StepFailure) {
        let id = release.id
        guard ArchiveCommands.isSHA256(id) else {
            throw StepFailure("the release id '\(id)' is not a SHA-256, so its archive cannot be checked; deploy it with this version of berth.")
        }
        let incoming = "\(layout.releasesDir)/.incoming-\(id)"
        let download = "\(incoming).tar.gz"
        do {
            try Files.makeDirectories(layout.releasesDir)
            try Files.removeTree(incoming)
            try Files.remove(download)
        } catch {
            throw StepFailure("\(error).")
        }
        do throws(StepFailure) {
            if let bytes = release.archiveBytes { try DiskSpace.require(bytes, for: "the release archive", in: layout.releasesDir) }
            let archive: String
            switch source {
            case .standardInput:
                try Self.save(STDIN_FILENO, to: download)
                archive = download
            case let .file(path):
                archive = path
            }
            try await Self.verify(archive, id: id)
            try await unpack(archive, into: incoming)
            try linkSharedDirectories(sharedDirs, into: incoming)
            guard rename(incoming, layout.releaseDir(id)) == 0 else {
                throw StepFailure("\(SystemCallError("move the unpacked release to", layout.releaseDir(id))).")
            }
            try? Files.remove(download)
        } catch {
            try? Files.removeTree(incoming)
            try? Files.remove(download)
            throw error
        }
    }

    /// Copies a stream (the rest of the engine's stdin) into a new file, synced.
    static func save(_ input: Int32, to path: String) throws(StepFailure) {
        do throws(SystemCallError) {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SystemCallError("write", path) }
            defer { close(fd) }
            try Files.copy(from: input, to: fd, what: path)
            guard fsync(fd) == 0 else { throw SystemCallError("sync", path) }
        } catch {
            throw StepFailure("\(error).")
        }
    }

    /// The archive's SHA-256 must be the release id: bytes changed or cut short on the way are refused.
    static func verify(_ archive: String, id: String) async throws(StepFailure) {
        let hashed = await Commands.run(ArchiveCommands.sha256(archive))
        guard hashed.succeeded, let digest = ArchiveCommands.digest(fromSHA256Output: hashed.output) else {
            throw StepFailure("could not compute the SHA-256 of the release archive (sha256sum: \(hashed.complaint)).")
        }
        guard digest == id else {
            throw StepFailure("the release archive's SHA-256 is \(digest), not its release id \(id): the bytes were changed or cut short on the way, so nothing was unpacked; deploy again.")
        }
    }

    /// Lists, checks, unpacks and checks again.
    private func unpack(_ archive: String, into incoming: String) async throws(StepFailure) {
        let listed = await Commands.run(ArchiveCommands.list(archive))
        guard listed.succeeded else {
            throw StepFailure("the release archive could not be unpacked (tar: \(listed.complaint)); the upload was incomplete or not a gzip'd tar.")
        }
        let listing = ArchiveListing.read(listed.output, errors: listed.errorOutput)
        if let refusal = listing.refusal {
            throw StepFailure("the release archive was refused because \(refusal); nothing was unpacked.")
        }
        try DiskSpace.require(listing.unpackedBytes, for: "the unpacked release", in: layout.releasesDir)
        do {
            try Files.makeDirectories(incoming)
        } catch {
            throw StepFailure("\(error).")
        }
        let result = await Commands.run(ArchiveCommands.extract(archive, into: incoming))
        guard result.succeeded else {
            throw StepFailure("the release archive could not be unpacked (tar: \(result.complaint)); the upload was incomplete or not a gzip'd tar.")
        }
        if let refusal = UnpackedTree.refusal(incoming) {
            throw StepFailure("the release archive was refused because \(refusal); nothing was kept.")
        }
    }

    /// Replaces each shared directory in a release by a link to `shared/<dir>`, created if missing.
    func linkSharedDirectories(_ dirs: [String], into release: String) throws(StepFailure) {
        do {
            for dir in dirs {
                let shared = "\(layout.sharedDir)/\(dir)"
                let inRelease = "\(release)/\(dir)"
                try Files.makeDirectories(shared)
                try Files.removeTree(inRelease)
                try Files.makeDirectories(Files.directory(of: inRelease))
                guard symlink(shared, inRelease) == 0 else { throw SystemCallError("link the shared directory", inRelease) }
            }
        } catch {
            throw StepFailure("\(error).")
        }
    }

    /// Removes unpacked releases that an interrupted upload left behind.
    public func removeIncomplete() {
        for name in (try? Files.list(layout.releasesDir)) ?? [] where name.hasPrefix(".incoming-") {
            try? Files.removeTree("\(layout.releasesDir)/\(name)")
        }
    }

    public func remove(_ id: String) throws(SystemCallError) {
        try Files.removeTree(layout.releaseDir(id))
    }
}
