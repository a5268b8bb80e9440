import BerthTestSupport
import Foundation
import Testing

/// A deploy to several hosts when one is switched off: an optional host is skipped and reported,
/// a required one fails the deploy; the next deploy completes what was skipped.
extension Integration {
    @Suite(.serialized) struct OfflineHostTests {
        @Test func anOfflineOptionalHostIsSkippedAndTheNextDeployCompletesIt() throws {
            let testbed = try FleetAccess.ensure(hosts: 2)
            let berth = try BerthCLI.locate()
            let hook = try WebhookReceiver.start()
            defer { hook.stop() }
            let app = try AppWorkspace.make(appName: DeployTests.freshName("offline"), hosts: ["h1", "h2"],
                                            port: DeployTests.freshPort(), domain: "\(DeployTests.freshName("offline")).test",
                                            optional: ["h2"],
                                            extraYAML: "notify:\n  webhook: \(hook.url)\n  command: cat > notice.json\n")
            defer { app.remove() }
            try testbed.crash("h2")
            defer { _ = try? testbed.ensureUp(hosts: 2) }

            let first = try berth.run(["deploy", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 10, "optional hosts skipped: exit 10. \(first.combined)")
            let summary = try Self.summary(first.stdout)
            #expect(summary["h1"]?["state"] as? String == "deployed", "\(summary)")
            #expect(summary["h2"]?["state"] as? String == "skipped", "\(summary)")
            #expect((summary["h2"]?["message"] as? String)?.contains("offline") == true, "\(summary)")
            #expect(try Curl.version(testbed.address(of: "h1"), host: app.domain) == "1.0.0")

            // The webhook and the command both heard which host was offline.
            let posted = try #require(hook.posts().first, "the webhook got no POST")
            #expect(posted["offline"] as? [String] == ["h2"], "\(posted)")
            #expect(posted["exitCode"] as? Int == 10, "\(posted)")
            #expect((posted["text"] as? String)?.contains("offline: h2") == true, "\(posted)")
            let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: app.directory + "/notice.json")))
            #expect((written as? [String: Any])?["command"] as? String == "deploy")

            try testbed.boot("h2")
            let second = try berth.run(["deploy", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(second.status == 0, "\(second.combined)")
            let after = try Self.summary(second.stdout)
            #expect(after["h1"]?["state"] as? String == "unchanged", "\(after)")
            #expect(after["h2"]?["state"] as? String == "deployed", "\(after)")
            #expect(try Curl.version(testbed.address(of: "h2"), host: app.domain) == "1.0.0")
        }

        @Test func anOfflineRequiredHostFailsTheDeployButNotTheOthers() throws {
            let testbed = try FleetAccess.ensure(hosts: 2)
            let berth = try BerthCLI.locate()
            let app = try AppWorkspace.make(appName: DeployTests.freshName("required"), hosts: ["h1", "h2"],
                                            port: DeployTests.freshPort(), domain: "\(DeployTests.freshName("required")).test")
            defer { app.remove() }
            try testbed.cut("h2")
            defer { try? testbed.heal("h2") }

            let output = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(output.status == 6, "a required host unreachable: exit 6. \(output.combined)")
            #expect(output.stdout.contains("unreachable"), "\(output.stdout)")
            #expect(output.stdout.contains("cannot reach h2"), "\(output.stdout)")
            #expect(try Curl.version(testbed.address(of: "h1"), host: app.domain) == "1.0.0")
        }

        /// The `--json` summary line's host reports, by host name.
        static func summary(_ stdout: String) throws -> [String: [String: Any]] {
            let line = stdout.split(separator: "\n").last { $0.contains(#""type":"summary""#) } ?? ""
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            let hosts = object["hosts"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: hosts.map { ($0["host"] as? String ?? "?", $0) })
        }
    }
}

extension Integration.OfflineHostTests {
    /// The network of a host is cut while it activates a release: the host ends fully on the old
    /// or fully on the new release (never half), and the next deploy completes it.
    @Test func aHostCutOffMidDeployEndsWholeAndTheNextDeployCompletesIt() throws {
        let testbed = try FleetAccess.ensure(hosts: 2)
        let berth = try BerthCLI.locate()
        let app = try AppWorkspace.make(appName: Integration.DeployTests.freshName("cut"), hosts: ["h1", "h2"],
                                        port: Integration.DeployTests.freshPort(), domain: "\(Integration.DeployTests.freshName("cut")).test")
        defer { app.remove() }
        try app.setVersion("1.0.0")
        let first = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
        #expect(first.status == 0, "\(first.combined)")

        // v2 takes 2 s to become ready; cut h2 while its engine waits for the health check.
        try app.setVersion("2.0.0")
        try app.setStartDelay(2)
        let deploy = try berth.start(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
        let started = RunningProcess.waitUntil(seconds: 30) {
            deploy.stdoutSoFar.split(separator: "\n").contains { $0.hasPrefix("h2") && $0.contains("start") }
        }
        #expect(started, "h2 should reach its start step: \(deploy.stdoutSoFar)")
        try testbed.cut("h2")
        let output = deploy.wait()
        try testbed.heal("h2")
        #expect(output.status != 0, "h2 could not report back: \(output.combined)")
        #expect(output.stdout.contains("h1") && output.stdout.contains("deployed"), "\(output.stdout)")

        // Whole on one release: nginx, the engine's manifest and the units agree, and no lock is left.
        let served = try Curl.version(testbed.address(of: "h2"), host: app.domain)
        #expect(served == "1.0.0" || served == "2.0.0", "h2 serves one whole release: \(String(describing: served))")
        var settled = false
        for _ in 0..<100 where !settled {
            let status = try berth.run(["status", "--json", "--host", "h2"], in: app.directory, sshConfig: testbed.sshConfig)
            let host = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])?.first
            let lock = (host?["lock"] as? [String: Any])?["state"] as? String
            settled = lock == "free" && host?["healthy"] as? Bool == true
            if !settled { usleep(200_000) }
        }
        #expect(settled, "h2's engine finishes its phase and leaves a healthy release and a free lock")

        try app.setStartDelay(nil)
        let next = try berth.run(["deploy", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
        #expect(next.status == 0, "\(next.combined)")
        #expect(try Curl.version(testbed.address(of: "h2"), host: app.domain) == "2.0.0")
    }
}
