import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Pre-flight on a real host: every check fails on a host made to fail it (settings left out, a
/// dirty git tree, the disk threshold, another site broken, the port taken, a database that does
/// not answer), all are listed at once with their fixes, and no host changes; `--force` deploys
/// past them and the history says so.
extension Integration {
    @Suite(.serialized) struct PreflightTests {
        @Test func everyFailedCheckIsListedAtOnceAndNothingChanges() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let port = DeployTests.freshPort()
            let name = DeployTests.freshName("preflight")
            let app = try AppWorkspace.make(appName: name, hosts: ["h1"], port: port, domain: "\(name).test", extraYAML: """
                preflight:
                  disk_free: 100000G
                  git: clean
                """)
            let broken = "/etc/nginx/conf.d/zz-broken-\(name).conf"
            var squatter: String?
            defer {
                app.remove()
                if let squatter { _ = try? testbed.run(on: "h1", "kill \(squatter)") }
                _ = try? testbed.run(on: "h1", "rm -f \(broken); systemctl reload nginx")
                CrashConsistencyTests.removeApp(app, on: "h1", testbed)
            }
            let layout = HostLayout(app: name, env: "production")
            let production = app.directory + "/.env.production"
            let settings = try String(contentsOfFile: production, encoding: .utf8)
            try "GREETING=\nSENTRY_DSN=\n".write(toFile: app.directory + "/.env.example", atomically: true, encoding: .utf8)
            try (settings + "DATABASE_URL=postgres://app:pw-secret-1@127.0.0.1:1/app\n").write(toFile: production, atomically: true, encoding: .utf8)
            let git = "git -C \(app.directory) -c user.name=t -c user.email=t@example.com"
            let committed = try RunningProcess.start(["/bin/sh", "-c", "\(git) init -q && \(git) add -A && \(git) commit -qm one && echo changed >> \(app.directory)/app/VERSION"]).wait()
            try #require(committed.status == 0, "\(committed.combined)")
            let made = try testbed.run(on: "h1", """
                printf 'sevrer { listen 80; }\\n' > \(broken)
                setsid python3 -m http.server \(port) --bind 127.0.0.1 >/dev/null 2>&1 < /dev/null & echo $!
                """)
            squatter = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(RunningProcess.waitUntil(seconds: 10) { (try? testbed.run(on: "h1", "ss -ltnH 'sport = :\(port)'"))?.stdout.isEmpty == false })

            let check = try berth.run(["check"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(check.status == 12, "\(check.combined)")
            let out = check.stdout
            for expected in ["SENTRY_DSN (required by .env.example) is not set", "uncommitted change(s) in the app's folder",
                             "free on the file system of", "nginx -t fails with the sites this host has now",
                             "port \(port) of the blue slot of 'web'", "is held by python3",
                             "DATABASE_URL names 127.0.0.1:1, which this host cannot reach (connection refused)"] {
                #expect(out.contains(expected), "missing '\(expected)' in: \(out)")
            }
            #expect(out.components(separatedBy: "fix: ").count - 1 == 6, "one fix per failed check: \(out)")
            #expect(!out.contains("pw-secret-1"), "a setting's value was printed: \(out)")
            #expect(try testbed.run(on: "h1", "test -e \(layout.appDir) && echo changed || echo untouched").stdout.contains("untouched"))

            let deploy = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(deploy.status == 12, "\(deploy.combined)")
            #expect(deploy.stderr.contains("6 pre-flight check(s) failed"), "\(deploy.combined)")
            #expect(try testbed.run(on: "h1", "test -e \(layout.appDir) && echo changed || echo untouched").stdout.contains("untouched"))

            // Fix what would break the deploy; the disk threshold and the database stay failing,
            // and --force goes past them, on the record.
            if let squatter { _ = try testbed.run(on: "h1", "kill \(squatter)") }
            squatter = nil
            _ = try testbed.run(on: "h1", "rm -f \(broken)")
            try (settings + "SENTRY_DSN=https://key@sentry.example/1\nDATABASE_URL=postgres://app:pw-secret-1@127.0.0.1:1/app\n").write(toFile: production, atomically: true, encoding: .utf8)
            _ = try RunningProcess.start(["/bin/sh", "-c", "\(git) commit -qam two"]).wait()
            let forced = try berth.run(["deploy", "--force"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(forced.status == 0, "\(forced.combined)")
            #expect(forced.stdout.contains("2 check(s) failed; deploying anyway (--force)"), "\(forced.stdout)")
            #expect(try Curl.version(testbed.address(of: "h1"), host: app.domain) != nil)
            let history = try berth.run(["history", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            let hosts = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]]
            let entry = (hosts?.first?["entries"] as? [[String: Any]])?.first
            let recorded = entry?["forced"] as? [String] ?? []
            #expect(recorded.count == 2 && recorded.contains { $0.hasPrefix("h1: disk: ") } && recorded.contains { $0.hasPrefix("h1: reach: ") },
                    "\(history.stdout)")
        }
    }
}
