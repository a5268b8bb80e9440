import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// What leaves the deploying machine: with `release: {path: .}` the release directory holds the
/// environment's env file, the app file, a `.berthignore`'d key and a `.git` folder; none of them
/// reaches the host's release directory or the release store's archive, and the app still serves.
extension Integration {
    @Suite(.serialized) struct ReleaseContentsTests {
        @Test func envFilesTheAppFileAndIgnoredFilesNeverReachAHostOrTheStore() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let name = DeployTests.freshName("secrets")
            let workspace = try AppWorkspace.make(appName: name, hosts: ["h1"], port: DeployTests.freshPort(),
                                                  domain: "\(name).test", extraYAML: """
                release_store:
                  host: h1
                  address: \(testbed.address(of: "h1"))
                """)
            defer { workspace.remove() }
            // The app file and its env file move into the release directory, which is `.` to the app file.
            let release = workspace.directory + "/app"
            let appFile = try String(contentsOfFile: workspace.directory + "/berth.yml", encoding: .utf8)
            #expect(appFile.contains("  path: app\n"))
            try appFile.replacingOccurrences(of: "  path: app\n", with: "  path: .\n")
                .write(toFile: release + "/berth.yml", atomically: true, encoding: .utf8)
            try FileManager.default.moveItem(atPath: workspace.directory + "/.env.production", toPath: release + "/.env.production")
            try "-----BEGIN PRIVATE KEY-----\n".write(toFile: release + "/deploy.key", atomically: true, encoding: .utf8)
            try "# keys stay on this machine\n*.key\n".write(toFile: release + "/.berthignore", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: release + "/.git", withIntermediateDirectories: true)
            try "ref: refs/heads/main\n".write(toFile: release + "/.git/HEAD", atomically: true, encoding: .utf8)
            try workspace.setVersion("1.0.0")

            let output = try berth.run(["deploy", "--json", "--label", "1.0.0"], in: release, sshConfig: testbed.sshConfig)
            #expect(output.status == 0, "\(output.combined)")
            let summaryLine = output.stdout.split(separator: "\n").last { $0.contains(#""type":"summary""#) } ?? ""
            let summary = try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any] ?? [:]
            let facts = summary["facts"] as? [String: Any] ?? [:]
            #expect(facts["leftOutFiles"] as? Int == 4, "env file, app file, deploy.key, .git/HEAD: \(facts)")
            let id = try #require(facts["release"] as? String, "\(summaryLine)")
            #expect(try Curl.version(testbed.address(of: "h1"), host: workspace.domain) == "1.0.0", "the app still serves")

            let never = [".env.production", "berth.yml", "deploy.key", ".git", "HEAD"]
            let onHost = try testbed.run(on: "h1", "cd \(HostLayout(app: name, env: "production").releaseDir(id)) && find . -mindepth 1")
            #expect(onHost.status == 0, "\(onHost.combined)")
            let hostFiles = onHost.stdout.split(separator: "\n").map { String($0.split(separator: "/").last ?? "") }
            #expect(hostFiles.contains("server.py"), "\(onHost.stdout)")
            #expect(hostFiles.filter(never.contains).isEmpty, "in the release directory on h1: \(onHost.stdout)")

            let archive = StoreLayout(path: ReleaseStoreConfig.defaultPath, app: name, env: "production").archive(id)
            let inStore = try testbed.run(on: "h1", "tar -tzf \(archive)")
            #expect(inStore.status == 0, "\(inStore.combined)")
            let storeFiles = inStore.stdout.split(separator: "\n").map { String($0.split(separator: "/").last ?? "") }
            #expect(storeFiles.contains("server.py"), "\(inStore.stdout)")
            #expect(storeFiles.filter(never.contains).isEmpty, "in the release store's archive: \(inStore.stdout)")
        }
    }
}
