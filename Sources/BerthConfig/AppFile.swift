import BerthCore
import Foundation

/// Reads `berth.yml`, the app file. See `docs/berth-yml.md` for its format.
public enum AppFile {
    /// Reads and validates the app file; also checks that `release.path` and every env file exist
    /// and that env files parse. Every problem found is reported at once.
    public static func load(path: String) throws(ConfigErrors) -> LoadedApp {
        // Read one byte past the limit, so that YAMLLimits says where the file passes it.
        let text = try readText(path, what: "the app file", at: SourceLocation(file: path), limit: YAMLLimits.maxBytes + 1)
        let (config, sources) = try read(yaml: text, file: path)
        let app = LoadedApp(config: config, file: path, directory: LoadedApp.directory(of: path), sources: sources)
        try app.checkFiles()
        return app
    }

    /// Pure: parse and validate YAML text (no file system access). `file` is used in error locations.
    public static func parse(yaml: String, file: String) throws(ConfigErrors) -> AppConfig {
        try read(yaml: yaml, file: file).config
    }

    static func read(yaml: String, file: String) throws(ConfigErrors) -> (config: AppConfig, sources: SourceMap) {
        let root: ConfigNode?
        do {
            root = try YAMLReader.read(yaml, file: file)
        } catch {
            throw ConfigErrors([error])
        }
        let diagnostics = Diagnostics()
        let section = AppFileSection(root, file: file, diagnostics)
        try diagnostics.throwIfAny()
        return (section.config, section.sourceMap)
    }

    /// The UTF-8 text of a file, at most `limit` bytes of it (a longer file comes back cut, decoded
    /// leniently, for the caller to report); errors point at `location` and call the file `what`.
    /// `regularFile`: refuse FIFOs, sockets and block devices (a FIFO named in a hostile app file would
    /// never answer); character devices such as `/dev/null` are read, and `limit` ends `/dev/zero`.
    static func readText(_ path: String, what: String, at location: SourceLocation, limit: Int,
                         regularFile: Bool = false) throws(ConfigErrors) -> String {
        func fail(_ message: String) -> ConfigErrors {
            ConfigErrors([ConfigError(location: location, message: message)])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw fail("cannot read \(what): there is no file at '\(path)'")
        }
        if isDirectory.boolValue { throw fail("cannot read \(what): '\(path)' is a directory") }
        if regularFile {
            var info = stat()
            guard stat(path, &info) == 0, [S_IFREG, S_IFCHR].contains(info.st_mode & S_IFMT) else {
                throw fail("cannot read \(what): '\(path)' is not a regular file")
            }
        }
        let unreadable = fail("cannot read \(what): '\(path)' is not readable; check its permissions")
        guard let handle = FileHandle(forReadingAtPath: path) else { throw unreadable }
        defer { try? handle.close() }
        var data = Data()
        do {
            while data.count < limit, let chunk = try handle.read(upToCount: min(64 << 10, limit - data.count)),
                  !chunk.isEmpty {
                data.append(chunk)
            }
        } catch {
            throw unreadable
        }
        if data.count >= limit { return String(decoding: data, as: UTF8.self) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw fail("cannot read \(what): '\(path)' is not UTF-8 text")
        }
        return text
    }
}

/// A validated app file and where it lives, so relative paths in it can be resolved.
public struct LoadedApp: Sendable {
    public let config: AppConfig
    /// The app file's path as given.
    public let file: String
    /// Absolute directory of the app file; relative paths in it resolve here.
    public let directory: String
    let sources: SourceMap

    /// For tests and tools that build a config in code: errors found later point at the whole file.
    public init(config: AppConfig, file: String, directory: String) {
        let whole = SourceLocation(file: file)
        self.init(config: config, file: file, directory: directory,
                  sources: SourceMap(releasePath: whole, environments: whole))
    }

    init(config: AppConfig, file: String, directory: String, sources: SourceMap) {
        self.config = config
        self.file = file
        self.directory = directory
        self.sources = sources
    }

    /// Absolute path of `release.path`.
    public func releaseDirectory() -> String {
        resolve(config.release.path)
    }

    /// An absolute path for a path written in the app file (relative ones resolve in `directory`).
    public func resolve(_ path: String) -> String {
        let base = URL(fileURLWithPath: directory, isDirectory: true)
        return URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL.path
    }

    /// How messages name a file written in the app file: relative to where the app file was named
    /// from (`Examples/hello/.env.production`), so it can be opened from the same place.
    public func displayPath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let folder = (file as NSString).deletingLastPathComponent
        return folder.isEmpty ? path : "\(folder)/\(path)"
    }

    /// The settings of an environment: its env files merged in order. A later file wins for a name
    /// set twice; each name keeps the position where it first appeared.
    public func settings(for env: String) throws(ConfigErrors) -> [EnvVar] {
        guard let environment = config.environment(named: env) else {
            let known = config.environments.map(\.name).joined(separator: ", ")
            throw ConfigErrors([ConfigError(location: sources.environments,
                                            message: "there is no environment '\(env)' in the app file; choose one of: \(known)")])
        }
        let locations = sources.envFiles[env] ?? []
        var errors: [ConfigError] = []
        var lists: [[EnvVar]] = []
        for (index, path) in environment.envFiles.enumerated() {
            let location = index < locations.count ? locations[index] : SourceLocation(file: file)
            let absolute = resolve(path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
                errors.append(ConfigError(location: location, message:
                    "env file '\(path)' of environment '\(env)' does not exist (looked for \(absolute))"))
                continue
            }
            if isDirectory.boolValue {
                errors.append(ConfigError(location: location, message:
                    "env file '\(path)' of environment '\(env)' is a directory (\(absolute))"))
                continue
            }
            do {
                let text = try AppFile.readText(absolute, what: "env file '\(path)'", at: location,
                                                limit: DotEnv.maxBytes + 1, regularFile: true)
                if text.utf8.count > DotEnv.maxBytes {
                    errors.append(ConfigError(location: location, message:
                        "env file '\(path)' of environment '\(env)' is larger than \(YAMLLimits.describe(bytes: DotEnv.maxBytes)), the most an env file may have; keep large files out of the environment"))
                    continue
                }
                lists.append(try DotEnv.parse(text, file: displayPath(path)))
            } catch {
                errors.append(contentsOf: error.errors)
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return DotEnv.merge(lists)
    }

    /// Where an environment's settings come from, for problems with their sum (its first `env_file`,
    /// else where `environments:` is written).
    public func settingsLocation(env: String) -> SourceLocation {
        sources.envFiles[env]?.first ?? sources.environments
    }

    /// `release.path` is a directory and every environment's env files exist and parse.
    func checkFiles() throws(ConfigErrors) {
        var errors: [ConfigError] = []
        var isDirectory: ObjCBool = false
        let release = releaseDirectory()
        if !FileManager.default.fileExists(atPath: release, isDirectory: &isDirectory) {
            errors.append(ConfigError(location: sources.releasePath, message:
                "release path '\(config.release.path)' does not exist (looked for \(release))"))
        } else if !isDirectory.boolValue {
            errors.append(ConfigError(location: sources.releasePath, message:
                "release path '\(config.release.path)' is not a directory (\(release))"))
        }
        for environment in config.environments {
            do {
                _ = try settings(for: environment.name)
            } catch {
                for problem in error.errors where !errors.contains(problem) { errors.append(problem) }
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
    }

    static func directory(of file: String) -> String {
        URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent().path
    }
}
