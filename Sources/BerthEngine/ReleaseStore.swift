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

    /// Unpacks a release archive, links the shared directories into it and moves it into place.
    /// Nothing is left at `releases/<id>` (nor in a temporary directory) when this fails.
    public func receive(_ id: String, from source: Source, sharedDirs: [String]) async throws(StepFailure) {
        let incoming = "\(layout.releasesDir)/.incoming-\(id)"
        do {
            try Files.makeDirectories(layout.releasesDir)
            try Files.removeTree(incoming)
            try Files.makeDirectories(incoming)
        } catch {
            throw StepFailure("\(error).")
        }
        let arguments = ["-xz", "--no-same-owner", "-C", incoming, "-f"]
        let result: CommandResult
        switch source {
        case .standardInput: result = await Commands.runReadingStandardInput(["tar"] + arguments + ["-"])
        case let .file(path): result = await Commands.run(["tar"] + arguments + [path])
        }
        do throws(StepFailure) {
            guard result.succeeded else {
                throw StepFailure("the release archive could not be unpacked (tar: \(result.complaint)); the upload was incomplete or not a gzip'd tar.")
            }
            try linkSharedDirectories(sharedDirs, into: incoming)
            guard rename(incoming, layout.releaseDir(id)) == 0 else {
                throw StepFailure("\(SystemCallError("move the unpacked release to", layout.releaseDir(id))).")
            }
        } catch {
            try? Files.removeTree(incoming)
            throw error
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
