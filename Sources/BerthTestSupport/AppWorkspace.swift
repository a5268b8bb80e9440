import Foundation

/// A private copy of the example app in a temporary folder, with its own app file, so a test can
/// change versions and knobs without touching the repository or other tests.
public struct AppWorkspace: Sendable {
    public let directory: String
    public let appName: String
    /// The `server_name` nginx routes to the web service.
    public let domain: String

    /// An app folder a test prepared itself (e.g. a copy of another example).
    public init(directory: String, appName: String, domain: String) {
        self.directory = directory
        self.appName = appName
        self.domain = domain
    }

    /// Copies Examples/hello and writes a berth.yml for `appName` on the given hosts (ssh aliases),
    /// with one environment (`environment`, reading `.env.production`). Hosts in `optional` may be
    /// offline during a deploy.
    public static func make(appName: String, hosts: [String], port: Int, domain: String,
                            optional: Set<String> = [], environment: String = "production",
                            extraYAML: String = "") throws -> AppWorkspace {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-app-\(appName)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let source = Repository.root.appendingPathComponent("Examples/hello")
        try FileManager.default.copyItem(atPath: source.appendingPathComponent("app").path, toPath: directory + "/app")
        try FileManager.default.copyItem(atPath: source.appendingPathComponent(".env.production").path,
                                         toPath: directory + "/.env.production")
        let hostEntries = hosts.map { host in
            "  \(host):\n    address: \(host)\n    roles: [web]\n" + (optional.contains(host) ? "    optional: true\n" : "")
        }.joined()
        let yaml = """
        app: \(appName)
        release:
          path: app
          keep: 3
          shared: [media]
        hosts:
        \(hostEntries)services:
          web:
            command: python3 server.py
            role: web
            port: \(port)
            health:
              path: /health
              interval: 50ms
              timeout: 1s
              attempts: 120
          worker:
            command: python3 worker.py
            role: web
        proxy:
          domains:
            \(domain): web
        environments:
          \(environment):
            hosts: [\(hosts.joined(separator: ", "))]
            env_file: .env.production
        \(extraYAML)
        """
        try yaml.write(toFile: directory + "/berth.yml", atomically: true, encoding: .utf8)
        return AppWorkspace(directory: directory, appName: appName, domain: domain)
    }

    /// The version the app reports (`app/VERSION`); a new version is a new release.
    public func setVersion(_ version: String) throws {
        try (version + "\n").write(toFile: directory + "/app/VERSION", atomically: true, encoding: .utf8)
    }

    /// Makes the release's /health answer 503 (a release that must never get traffic), or not.
    public func setFailingHealth(_ failing: Bool) throws {
        try setFile("app/FAIL_HEALTH", failing ? "1\n" : nil)
    }

    /// Delays the app's readiness by `seconds` (nil: no delay).
    public func setStartDelay(_ seconds: Double?) throws {
        try setFile("app/START_DELAY", seconds.map { "\($0)\n" })
    }

    private func setFile(_ relative: String, _ content: String?) throws {
        let path = directory + "/" + relative
        if let content {
            try content.write(toFile: path, atomically: true, encoding: .utf8)
        } else if FileManager.default.fileExists(atPath: path) {
            try FileManager.default.removeItem(atPath: path)
        }
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
