import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Smoke checks and hooks on real hosts, under load through nginx from new-connection and
/// keep-alive clients: a release that fails its smoke check never gets a request from nginx, a
/// failing before_switch hook aborts with the old release serving, and hooks run in order with their
/// output in the history.
extension Integration {
    @Suite(.serialized) struct GateTests {
        static let smoke = """
              attempts: 120
            smoke:
              - path: /smoke
                json: { status: ok }
                max_latency: 2s
              - command: test -e VERSION && test -n "$PORT"
        """

        static func app() throws -> AppWorkspace {
            let app = try AppWorkspace.make(appName: DeployTests.freshName("gate"), hosts: ["h1"], port: DeployTests.freshPort(),
                                            domain: "\(DeployTests.freshName("gate")).test", extraYAML: """
                hooks:
                  before_deploy: echo "local before $BERTH_ENV" > before-deploy.txt
                  after_release: echo "after_release $BERTH_SLOT $(id -un)"
                  before_switch:
                    - command: test ! -e REFUSE_SWITCH || { echo "switch refused"; exit 4; }
                      timeout: 20s
                  after_switch: echo after_switch
                  after_deploy: cat > after-deploy.json
                """)
            let file = app.directory + "/berth.yml"
            let yaml = try String(contentsOfFile: file, encoding: .utf8)
            try yaml.replacingOccurrences(of: "      attempts: 120\n", with: Self.smoke + "\n")
                .write(toFile: file, atomically: true, encoding: .utf8)
            try "1\n".write(toFile: app.directory + "/app/LOG_REQUESTS", atomically: true, encoding: .utf8)
            return app
        }

        @Test func aReleaseFailingItsSmokeCheckNeverGetsARequestAndHooksRunInOrder() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let app = try Self.app()
            defer { app.remove() }
            defer { CrashConsistencyTests.removeApp(app, on: "h1", testbed) }
            let address = testbed.address(of: "h1")
            let layout = HostLayout(app: app.appName, env: "production")

            try app.setVersion("1.0.0")
            let first = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 0, "\(first.combined)")
            #expect(try Curl.version(address, host: app.domain) == "1.0.0")
            // The hooks of the deploying machine ran, the last with the result on stdin.
            #expect((try? String(contentsOfFile: app.directory + "/before-deploy.txt", encoding: .utf8)) == "local before production\n")
            let notice = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: app.directory + "/after-deploy.json"))) as? [String: Any]
            #expect(notice?["exitCode"] as? Int == 0 && notice?["environment"] as? String == "production", "\(String(describing: notice))")
            // The host hooks ran in order, as the environment's account, with their output in the history.
            let history = try berth.run(["history", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            let hosts = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]]
            let entry = (hosts?.first?["entries"] as? [[String: Any]])?.first
            let hooks = entry?["hooks"] as? [[String: Any]] ?? []
            #expect(hooks.map { $0["point"] as? String } == ["after_release", "before_switch", "after_switch"], "\(history.stdout)")
            #expect((hooks.first?["output"] as? [String]) == ["after_release blue \(layout.serviceUser)"], "\(history.stdout)")
            #expect(first.stdout.contains("smoke") , "\(first.stdout)")

            // A release that is healthy but fails its smoke check: the deploy stops before the
            // switch; nginx never sends it a request (its own request log has only the checks).
            try app.setVersion("2.0.0-broken")
            try "1\n".write(toFile: app.directory + "/app/FAIL_SMOKE", atomically: true, encoding: .utf8)
            let (broken, loads) = try CrashConsistencyTests.underLoad([address], host: app.domain) {
                try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            }
            #expect(broken.status == 1, "\(broken.combined)")
            #expect(broken.combined.contains("failed its smoke check GET /smoke: expected status 200, got 500"), "\(broken.combined)")
            for load in loads { #expect(load.failed == 0, "smoke failure: \(load)") }
            #expect(try Curl.version(address, host: app.domain) == "1.0.0")
            let log = try testbed.run(on: "h1", "cat \(layout.sharedDir)/media/requests-2.0.0-broken.log").stdout
            let lines = log.split(separator: "\n").map(String.init)
            #expect(!lines.isEmpty, "the broken release should have logged the checks it got")
            #expect(lines.allSatisfy { $0.hasSuffix(" berth-health") || $0.hasSuffix(" berth-smoke") },
                    "only the health and smoke checks may reach a release that failed its smoke check: \(log)")
            let served = try testbed.run(on: "h1", "cat \(layout.sharedDir)/media/requests-1.0.0.log").stdout
            #expect(served.split(separator: "\n").contains { !$0.hasSuffix(" berth-health") && !$0.hasSuffix(" berth-smoke") },
                    "the serving release got the load")

            // A failing before_switch hook aborts, the old release serving.
            try FileManager.default.removeItem(atPath: app.directory + "/app/FAIL_SMOKE")
            try "1\n".write(toFile: app.directory + "/app/REFUSE_SWITCH", atomically: true, encoding: .utf8)
            try app.setVersion("3.0.0-refused")
            let (refused, refusedLoads) = try CrashConsistencyTests.underLoad([address], host: app.domain) {
                try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            }
            #expect(refused.status == 1, "\(refused.combined)")
            #expect(refused.combined.contains("the before_switch hook"), "\(refused.combined)")
            #expect(refused.combined.contains("switch refused"), "\(refused.combined)")
            for load in refusedLoads { #expect(load.failed == 0, "refused switch: \(load)") }
            #expect(try Curl.version(address, host: app.domain) == "1.0.0")

            // A failing before_deploy hook stops the deploy before any host is contacted.
            try FileManager.default.removeItem(atPath: app.directory + "/app/REFUSE_SWITCH")
            let yaml = try String(contentsOfFile: app.directory + "/berth.yml", encoding: .utf8)
            try yaml.replacingOccurrences(of: "before_deploy: echo", with: "before_deploy: exit 9; echo")
                .write(toFile: app.directory + "/berth.yml", atomically: true, encoding: .utf8)
            try app.setVersion("4.0.0")
            let stopped = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(stopped.status == 11, "\(stopped.combined)")
            #expect(try testbed.run(on: "h1", "ls \(layout.releasesDir) | wc -l").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "3",
                    "no release may reach the host after a failed before_deploy hook")
            try yaml.write(toFile: app.directory + "/berth.yml", atomically: true, encoding: .utf8)
            let good = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(good.status == 0, "\(good.combined)")
            #expect(try Curl.version(address, host: app.domain) == "4.0.0")
        }
    }
}
