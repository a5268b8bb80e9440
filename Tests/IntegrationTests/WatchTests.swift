import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The watch window on a real host, under load through nginx: a release that passes its health
/// gate and goes bad a few seconds after the switch is switched back to the old slot within the
/// window, with no failed request; a release that stays good is kept, and only then is the old
/// slot stopped.
extension Integration {
    @Suite(.serialized) struct WatchTests {
        @Test func aReleaseGoingBadAfterTheSwitchIsSwitchedBackWithinTheWindow() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let app = try AppWorkspace.make(appName: DeployTests.freshName("watch"), hosts: ["h1"], port: DeployTests.freshPort(),
                                            domain: "\(DeployTests.freshName("watch")).test", extraYAML: """
                watch:
                  for: 12s
                  interval: 300ms
                  failures: 3
                """)
            defer { app.remove() }
            defer { CrashConsistencyTests.removeApp(app, on: "h1", testbed) }
            let address = testbed.address(of: "h1")
            let layout = HostLayout(app: app.appName, env: "production")

            try app.setVersion("1.0.0")
            let first = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 0, "\(first.combined)")

            // Healthy at the gate, its /health answers 503 from 4 s after it started; its pages
            // keep serving, so the load sees no failure while the window notices.
            try "4\n".write(toFile: app.directory + "/app/FAIL_HEALTH_AFTER", atomically: true, encoding: .utf8)
            try app.setVersion("2.0.0-goes-bad")
            let (bad, loads) = try CrashConsistencyTests.underLoad([address], host: app.domain) {
                try berth.run(["deploy", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            }
            #expect(bad.status == 1, "\(bad.combined)")
            #expect(bad.stdout.contains("failed its watch window"), "\(bad.stdout)")
            #expect(bad.stdout.contains("through nginx got 503"), "\(bad.stdout)")
            for load in loads { #expect(load.failed == 0, "watch switch back: \(load)") }
            #expect(try Curl.version(address, host: app.domain) == "1.0.0")
            let green = layout.unitName(service: "web", slot: .green)
            let blue = layout.unitName(service: "web", slot: .blue)
            #expect(try testbed.run(on: "h1", "systemctl is-active \(green) || true").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "inactive")
            #expect(try testbed.run(on: "h1", "systemctl is-active \(blue)").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "active")
            #expect(try testbed.run(on: "h1", "test -e \(layout.intentFile) && echo left || echo gone").stdout.contains("gone"))
            let history = try berth.run(["history", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            let hosts = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]]
            let entry = (hosts?.first?["entries"] as? [[String: Any]])?.first
            #expect(entry?["result"] as? String == "rolled-back", "\(history.stdout)")
            #expect((entry?["switchedBack"] as? NSNumber)?.boolValue == true, "\(history.stdout)")
            let table = try berth.run(["history"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(table.stdout.contains("rolled-back (watch)"), "\(table.stdout)")

            // A release that stays good passes the window; the old slot stops only after it.
            try FileManager.default.removeItem(atPath: app.directory + "/app/FAIL_HEALTH_AFTER")
            try app.setVersion("3.0.0")
            let started = Date()
            let (good, goodLoads) = try CrashConsistencyTests.underLoad([address], host: app.domain) {
                try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            }
            #expect(good.status == 0, "\(good.combined)")
            #expect(Date().timeIntervalSince(started) >= 12, "the deploy should have waited out the window")
            for load in goodLoads { #expect(load.failed == 0, "watched deploy: \(load)") }
            #expect(try Curl.version(address, host: app.domain) == "3.0.0")
            #expect(try testbed.run(on: "h1", "systemctl is-active \(blue) || true").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "inactive")
        }
    }
}
