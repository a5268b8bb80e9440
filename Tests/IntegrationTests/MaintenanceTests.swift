import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Maintenance mode through a real nginx: the page with 503 and Retry-After while the services
/// keep running; status shows it; a deploy refuses while it is on; off serves the app again.
extension Integration {
    @Suite(.serialized) struct MaintenanceTests {
        @Test func nginxServesThePageWith503AndRetryAfterWhileTheServicesRun() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let name = DeployTests.freshName("maint")
            let app = try AppWorkspace.make(appName: name, hosts: ["h1"], port: DeployTests.freshPort(), domain: "\(name).test", extraYAML: """
                maintenance:
                  page: maintenance.html
                  retry_after: 2m
                """)
            defer { app.remove() }
            defer { CrashConsistencyTests.removeApp(app, on: "h1", testbed) }
            try "<h1>Back at noon</h1>\n".write(toFile: app.directory + "/maintenance.html", atomically: true, encoding: .utf8)
            let address = testbed.address(of: "h1")
            let layout = HostLayout(app: name, env: "production")
            func get(_ path: String = "/") throws -> ProcessOutput {
                try RunningProcess.start(["curl", "-s", "-i", "--max-time", "5", "-H", "Host: \(app.domain)", "http://\(address)\(path)"]).wait()
            }

            try app.setVersion("1.0.0")
            #expect(try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig).status == 0)
            let on = try berth.run(["maintenance", "on"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(on.status == 0, "\(on.combined)")
            for path in ["/", "/health", "/anything/else"] {
                let answer = try get(path).stdout
                #expect(answer.hasPrefix("HTTP/1.1 503"), "\(path): \(answer)")
                #expect(answer.contains("Retry-After: 120"), "\(path): \(answer)")
                #expect(answer.contains("<h1>Back at noon</h1>"), "\(path): \(answer)")
            }
            let units = try testbed.run(on: "h1", "systemctl is-active \(layout.unitName(service: "web", slot: .blue)) \(layout.unitName(service: "worker", slot: .blue))")
            #expect(units.stdout == "active\nactive\n", "the services keep running: \(units.combined)")
            let status = try berth.run(["status"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(status.stdout.contains("on since"), "\(status.stdout)")

            try app.setVersion("2.0.0")
            let refused = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(refused.status == 12, "\(refused.combined)")
            #expect(refused.stdout.contains("maintenance mode is on since"), "\(refused.stdout)")

            let off = try berth.run(["maintenance", "off"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(off.status == 0, "\(off.combined)")
            #expect(try Curl.version(address, host: app.domain) == "1.0.0")
            #expect(try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig).status == 0)
            #expect(try Curl.version(address, host: app.domain) == "2.0.0")
        }
    }
}
