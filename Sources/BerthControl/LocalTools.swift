import BerthTransport
import Foundation

/// Small helpers around standard tools on the controller (sha256sum, tar, gzip, git).
enum LocalTools {
    static func sha256(of path: String) async throws -> String {
        let result = try await ProcessRunner.run(["sha256sum", "--", path])
        guard result.succeeded, let digest = result.stdout.split(separator: " ").first, digest.count == 64 else {
            throw ControlError.toolFailed(tool: "sha256sum", reason: result.stderr)
        }
        return String(digest)
    }

    static func cacheDirectory(_ sub: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"]
            ?? (NSHomeDirectory() + "/.cache")
        let dir = "\(base)/berth/\(sub)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func isoNow() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}
