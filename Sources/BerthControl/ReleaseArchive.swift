import BerthConfig
import BerthCore
import BerthTransport
import Foundation

/// A release packed on the controller: a reproducible tar (sorted names, fixed times and owners),
/// gzip'd. Its id is the SHA-256 of the gzip'd tar, so the same files always give the same id and a host
/// that has it is never sent it again.
public struct ReleaseArchive: Sendable {
    public let ref: ReleaseRef
    /// The gzip'd tar, kept in the controller's cache by id.
    public let path: String

    /// The archive of release `id` if this machine packed it and still has it in its cache.
    public static func cached(id: String) -> String? {
        guard let cache = try? LocalTools.cacheDirectory("releases") else { return nil }
        let path = "\(cache)/\(id).tar.gz"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// What `ReleaseFiles` left out of it (env files, the app file, `.berthignore`'d and default excludes).
    public let leftOut: [ReleaseFiles.LeftOut]
    /// How many members (files, directories, links) it holds.
    public let members: Int

    /// Runs the build command (if any), then packs the app's release directory: the members
    /// `ReleaseFiles` lists, never its env files or the app file.
    public static func pack(app: LoadedApp, label: String?) async throws -> ReleaseArchive {
        let directory = app.releaseDirectory()
        if let build = app.config.release.build {
            // The build command is the user's own shell line from the app file, run locally on purpose.
            let result = try await ProcessRunner.run(["sh", "-c", build], workingDirectory: app.directory)
            guard result.succeeded else {
                throw ControlError.buildFailed(command: build, status: result.status,
                                               output: (result.stdout + result.stderr).suffixLines(20))
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ControlError.releaseDirectoryMissing(directory)
        }
        let files = try ReleaseFiles.list(app)
        let cache = try LocalTools.cacheDirectory("releases")
        let base = "\(cache)/.pack-\(getpid())-\(UUID().uuidString)"
        let tar = base + ".tar", list = base + ".list"
        defer {
            try? FileManager.default.removeItem(atPath: tar)
            try? FileManager.default.removeItem(atPath: list)
        }
        guard FileManager.default.createFile(atPath: list, contents: Data(ReleaseTar.memberList(files.members)),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw ControlError.packingFailed(directory: directory, reason: "could not write the member list \(list)")
        }
        let packed = try await ProcessRunner.run(ReleaseTar.create(archive: tar, directory: directory, memberList: list))
        guard packed.succeeded else { throw ControlError.packingFailed(directory: directory, reason: packed.stderr) }
        // The id is the full SHA-256 of the gzip'd tar that travels: a host checks the bytes it
        // receives against it (gzip -n writes no name or time, so equal files give equal bytes).
        let zipped = try await ProcessRunner.run(ReleaseTar.compress(tar))
        guard zipped.succeeded else { throw ControlError.packingFailed(directory: directory, reason: zipped.stderr) }
        defer { try? FileManager.default.removeItem(atPath: tar + ".gz") }
        let id = try await LocalTools.sha256(of: tar + ".gz")
        let archive = "\(cache)/\(id).tar.gz"
        if !FileManager.default.fileExists(atPath: archive) {
            try FileManager.default.moveItem(atPath: tar + ".gz", toPath: archive)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: archive)[.size] as? Int) ?? nil
        let git = await GitFacts.read(in: app.directory)
        let ref = ReleaseRef(id: id, label: label ?? git?.describe ?? ReleaseRef.shortID(id), gitSHA: git?.sha,
                             createdAt: LocalTools.isoNow(), archiveBytes: size)
        return ReleaseArchive(ref: ref, path: archive, leftOut: files.leftOut, members: files.members.count)
    }
}

/// The git commit of the app folder, when it is a git checkout.
struct GitFacts {
    let sha: String
    let describe: String

    static func read(in directory: String) async -> GitFacts? {
        guard let sha = try? await ProcessRunner.run(["git", "-C", directory, "rev-parse", "HEAD"]), sha.succeeded,
              let describe = try? await ProcessRunner.run(["git", "-C", directory, "describe", "--always", "--dirty"]),
              describe.succeeded
        else { return nil }
        return GitFacts(sha: sha.stdout.trimmed, describe: describe.stdout.trimmed)
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }

    func suffixLines(_ count: Int) -> String {
        split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
    }
}
