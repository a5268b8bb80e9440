import BerthTestSupport
import Foundation
import Testing

/// Rolling deploys: batches are health-gated, and a failed batch stops the rollout so later hosts
/// never leave the old release — while every host's nginx keeps answering.
extension Integration {
    @Suite(.serialized) struct RolloutTests {
        @Test func aReleaseThatFailsOnTheFirstHostStopsTheRollout() throws {
            let testbed = try FleetAccess.ensure(hosts: 4)
            let berth = try BerthCLI.locate()
            let hosts = ["h1", "h2", "h3", "h4"]
            let app = try AppWorkspace.make(appName: DeployTests.freshName("rollout"), hosts: hosts,
                                            port: DeployTests.freshPort(), domain: "\(DeployTests.freshName("rollout")).test",
                                            extraYAML: "rollout:\n  batch: 1\n  pause: 100ms\n")
            defer { app.remove() }
            let addresses = hosts.map { testbed.address(of: $0) }

            try app.setVersion("1.0.0")
            let first = try berth.run(["deploy", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 0, "\(first.combined)")
            let batches = try OfflineHostTests.summary(first.stdout).mapValues { $0["batch"] as? Int }
            #expect(batches == ["h1": 1, "h2": 2, "h3": 3, "h4": 4], "one host per batch, in order: \(batches)")

            try app.setVersion("2.0.0")
            try app.setFailingHealth(true)
            let load = try LoadGenerator.start(addresses: addresses, hostHeader: app.domain, mode: "new", concurrency: 1)
            let second = try berth.run(["deploy", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            let seen = try load.stop()
            #expect(second.status == 1, "\(second.combined)")
            let states = try OfflineHostTests.summary(second.stdout).mapValues { $0["state"] as? String }
            #expect(states == ["h1": "rolled-back", "h2": "not-started", "h3": "not-started", "h4": "not-started"], "\(states)")
            #expect(seen.failed == 0, "\(seen)")
            #expect(Set(seen.versions.keys) == ["1.0.0"], "no host may leave the old release: \(seen)")
            for address in addresses { #expect(try Curl.version(address, host: app.domain) == "1.0.0") }
        }
    }
}
