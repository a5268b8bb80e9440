import BerthCore
import BerthTransport
import Foundation

/// The static host engine on the controller, found once per run, with what it takes to install it.
public struct EngineBinary: Sendable {
    public let path: String
    public let sha256: String
    public let bytes: Int
    /// gzip'd copy in the controller's cache: what travels to a host that lacks this engine.
    public let compressedPath: String

    /// `BERTH_ENGINE`, else `../lib/berth/berth-engine` from the running `berth` (how `scripts/build`
    /// installs them), else `berth-engine` beside it.
    public static func locate(executable: String = CommandLine.arguments[0]) async throws -> EngineBinary {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["BERTH_ENGINE"] { candidates.append(explicit) }
        let dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent().path
        candidates += ["\(dir)/../lib/berth/berth-engine", "\(dir)/berth-engine"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ControlError.engineNotFound(searched: candidates)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let bytes = attributes[.size] as? Int ?? 0
        let sha = try await cachedDigest(of: path, attributes: attributes)
        let compressed = "\(try LocalTools.cacheDirectory("engine"))/berth-engine-\(sha).gz"
        if !FileManager.default.fileExists(atPath: compressed) {
            let result = try await ProcessRunner.run(["sh", "-c", "gzip -c -6 < \"$1\" > \"$2.tmp\" && mv \"$2.tmp\" \"$2\"",
                                                      "gzip-engine", path, compressed])
            guard result.succeeded else { throw ControlError.toolFailed(tool: "gzip", reason: result.stderr) }
        }
        return EngineBinary(path: path, sha256: sha, bytes: bytes, compressedPath: compressed)
    }

    /// Hashing 15 MB costs ~90 ms of CPU on every command; the digest is cached by the file's
    /// identity (device, inode, size, modification time), which changes whenever the file does.
    private static func cachedDigest(of path: String, attributes: [FileAttributeKey: Any]) async throws -> String {
        let identity = [
            attributes[.systemNumber].map { "\($0)" } ?? "",
            attributes[.systemFileNumber].map { "\($0)" } ?? "",
            attributes[.size].map { "\($0)" } ?? "",
            (attributes[.modificationDate] as? Date).map { String($0.timeIntervalSince1970) } ?? "",
        ].joined(separator: "-")
        let cacheFile = "\(try LocalTools.cacheDirectory("engine"))/digest-\(identity)"
        if let cached = try? String(contentsOfFile: cacheFile, encoding: .utf8), cached.count == 64 {
            return cached
        }
        let digest = try await LocalTools.sha256(of: path)
        try? digest.write(toFile: cacheFile, atomically: true, encoding: .utf8)
        return digest
    }
}
