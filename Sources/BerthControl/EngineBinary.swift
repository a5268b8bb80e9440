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
        let sha = try await LocalTools.sha256(of: path)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let compressed = "\(try LocalTools.cacheDirectory("engine"))/berth-engine-\(sha).gz"
        if !FileManager.default.fileExists(atPath: compressed) {
            let result = try await ProcessRunner.run(["sh", "-c", "gzip -c -6 < \"$1\" > \"$2.tmp\" && mv \"$2.tmp\" \"$2\"",
                                                      "gzip-engine", path, compressed])
            guard result.succeeded else { throw ControlError.toolFailed(tool: "gzip", reason: result.stderr) }
        }
        return EngineBinary(path: path, sha256: sha, bytes: bytes, compressedPath: compressed)
    }
}
