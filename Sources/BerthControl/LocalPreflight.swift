import BerthConfig
import BerthCore
import BerthTransport
import Foundation

/// The deploying machine's part of pre-flight: the settings the app requires, and (with
/// `preflight.git: clean`) the app folder's git checkout.
public enum LocalPreflight {
    public static func findings(app: LoadedApp, env: String, settings: [EnvVar]) async -> [PreflightFinding] {
        var found = requiredSettings(app: app, env: env, settings: settings)
        if app.config.preflight?.gitClean == true { found += await git(app.directory) }
        return found
    }

    /// `preflight.required`, else the keys of `.env.example` beside the app file.
    static func requiredSettings(app: LoadedApp, env: String, settings: [EnvVar]) -> [PreflightFinding] {
        let files = app.config.environment(named: env)?.envFiles ?? []
        if let required = app.config.preflight?.required {
            return Preflight.missingSettings(required, in: settings, files: files, source: "preflight.required")
        }
        let example = app.directory + "/.env.example"
        guard FileManager.default.fileExists(atPath: example) else { return [] }
        do {
            let text = try String(contentsOfFile: example, encoding: .utf8)
            let keys = try DotEnv.parse(text, file: ".env.example").map(\.name)
            return Preflight.missingSettings(keys, in: settings, files: files, source: ".env.example")
        } catch {
            return [PreflightFinding(check: "env", message: "cannot read .env.example: \(error)", fix: "fix it, or list the keys under preflight.required")]
        }
    }

    /// Uncommitted changes, and commits of the upstream not merged yet (as last fetched).
    static func git(_ directory: String) async -> [PreflightFinding] {
        guard let status = try? await ProcessRunner.run(["git", "-C", directory, "status", "--porcelain", "--", "."]), status.succeeded else {
            return [PreflightFinding(check: "git", message: "\(directory) is not in a git checkout", fix: "commit the app to git, or set preflight.git: false")]
        }
        var found: [PreflightFinding] = []
        let changed = status.stdout.split(separator: "\n")
        if !changed.isEmpty {
            let shown = changed.prefix(3).map { String($0.dropFirst(3)) }.joined(separator: ", ")
            found.append(PreflightFinding(check: "git", message: "\(changed.count) uncommitted change(s) in the app's folder (\(shown)\(changed.count > 3 ? ", …" : ""))",
                                          fix: "commit or stash them, so the release is what git holds"))
        }
        if let counts = try? await ProcessRunner.run(["git", "-C", directory, "rev-list", "--left-right", "--count", "HEAD...@{upstream}"]),
           counts.succeeded {
            let numbers = counts.stdout.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
            if numbers.count == 2, numbers[1] > 0 {
                found.append(PreflightFinding(check: "git", message: "the branch is \(numbers[1]) commit(s) behind its upstream",
                                              fix: "pull (or rebase) first"))
            }
        }
        return found
    }
}

extension LocalPreflight {
    /// The unpacked size of the release (its regular files), for the disk check.
    public static func releaseBytes(_ app: LoadedApp) throws -> Int {
        let files = try ReleaseFiles.list(app)
        let root = app.releaseDirectory()
        var total = 0
        for member in files.members {
            var info = stat()
            if lstat(root + "/" + member, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { total += Int(info.st_size) }
        }
        return total
    }
}
