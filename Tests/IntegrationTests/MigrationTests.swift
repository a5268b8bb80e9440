import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Where and when the migration runs across a fleet: once, on the first reachable host of its
/// role, which deploys alone before the others start; on the next host of the role when the first
/// is offline; and a failed migration starts no other host.
extension Integration {
    @Suite(.serialized) struct MigrationTests {
        @Test func theMigrationRunsOnceOnTheFirstReachableHostBeforeTheOthersStart() throws {
            let testbed = try FleetAccess.ensure(hosts: 2)
            let berth = try BerthCLI.locate()
            let app = try AppWorkspace.make(appName: DeployTests.freshName("migrate"), hosts: ["h1", "h2"], port: DeployTests.freshPort(),
                                            domain: "\(DeployTests.freshName("migrate")).test", optional: ["h1"], extraYAML: """
                migrate:
                  command: test ! -e FAIL_MIGRATE && echo "$BERTH_HOST $(cat VERSION)" >> media/migrations.log
                  timeout: 30s
                """)
            defer { app.remove() }
            defer { for host in ["h1", "h2"] { CrashConsistencyTests.removeApp(app, on: host, testbed) } }
            let layout = HostLayout(app: app.appName, env: "production")
            let log = "\(layout.sharedDir)/media/migrations.log"
            func migrations(on host: String) throws -> String {
                try testbed.run(on: host, "cat \(log) 2>/dev/null || true").stdout
            }

            try app.setVersion("1.0.0")
            let first = try berth.run(["deploy", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 0, "\(first.combined)")
            #expect(try migrations(on: "h1") == "h1 1.0.0\n")
            #expect(try migrations(on: "h2") == "")
            // h1 had switched before h2 started: h1's step events all come before h2's first.
            let lines = first.stdout.split(separator: "\n")
            let lastOfH1 = lines.lastIndex { $0.contains(#""type":"event""#) && $0.contains(#""host":"h1""#) && $0.contains(#""step":"switch""#) }
            let firstOfH2 = lines.firstIndex { $0.contains(#""host":"h2""#) && $0.contains(#""type":"event""#) }
            #expect(lastOfH1 != nil && firstOfH2 != nil && lastOfH1! < firstOfH2!, "\(first.stdout)")

            // With h1 off, the next host of the role migrates.
            try testbed.cut("h1")
            try app.setVersion("2.0.0")
            let offline = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            try testbed.heal("h1")
            #expect(offline.status == 10, "\(offline.combined)")
            #expect(try migrations(on: "h2") == "h2 2.0.0\n")
            #expect(try Curl.version(testbed.address(of: "h2"), host: app.domain) == "2.0.0")

            // A failed migration (on h1, first again) starts no other host.
            try "1\n".write(toFile: app.directory + "/app/FAIL_MIGRATE", atomically: true, encoding: .utf8)
            try app.setVersion("3.0.0")
            let failed = try berth.run(["deploy", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(failed.status == 1, "\(failed.combined)")
            let hosts = try OfflineHostTests.summary(failed.stdout)
            #expect(hosts["h1"]?["state"] as? String == "rolled-back", "\(hosts)")
            #expect(hosts["h2"]?["state"] as? String == "not-started", "\(hosts)")
            #expect((hosts["h2"]?["message"] as? String)?.contains("the migration on h1 failed") == true, "\(hosts)")
            #expect(try Curl.version(testbed.address(of: "h1"), host: app.domain) == "1.0.0")
            #expect(try Curl.version(testbed.address(of: "h2"), host: app.domain) == "2.0.0")
            #expect(try migrations(on: "h1") == "h1 1.0.0\n")
        }
    }
}
