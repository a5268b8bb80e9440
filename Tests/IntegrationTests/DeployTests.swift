import BerthTestSupport
import Foundation
import Synchronization
import Testing

/// Berth's core promise on real hosts: deploys, failed deploys and rollbacks under continuous load
/// through each host's nginx, with not one failed request; and a deploy that dies mid-way.
extension Integration {
    @Suite(.serialized) struct DeployTests {
        static let hosts = ["h1", "h2"]

        /// A name no earlier run used, so state left on a long-lived fleet cannot leak into a test.
        static func freshName(_ prefix: String) -> String {
            "\(prefix)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        }

        /// A blue/green port pair: distinct for every app of this test run (consecutive pairs from one
        /// counter), and from a random start so an earlier run on a long-lived fleet is unlikely to hold it.
        static func freshPort() -> Int {
            portCounter.withLock { next in
                defer { next += 2 }
                return next
            }
        }

        private static let portCounter = Mutex(20_000 + 2 * Int.random(in: 0..<4_000))

        /// Boots (or reuses) the shared fleet and returns the hosts' addresses and ssh config.
        static func fleet() throws -> (addresses: [String], sshConfig: String) {
            let fleet = try FleetAccess.ensure(hosts: hosts.count)
            return (hosts.map { fleet.address(of: $0) }, fleet.sshConfig)
        }

        @Test func deployFailedDeployAndRollbackUnderLoadLoseNoRequest() throws {
            let (addresses, sshConfig) = try Self.fleet()
            let berth = try BerthCLI.locate()
            let app = try AppWorkspace.make(appName: Self.freshName("zdt"), hosts: Self.hosts, port: Self.freshPort(),
                                            domain: "\(Self.freshName("zdt")).test")
            let domain = app.domain
            defer { app.remove() }

            // v1: the first deploy also installs the engine where it is missing.
            try app.setVersion("1.0.0")
            let first = try berth.run(["deploy", "--label", "1.0.0"], in: app.directory, sshConfig: sshConfig)
            #expect(first.status == 0, "\(first.combined)")
            for address in addresses { #expect(try Curl.version(address, host: domain) == "1.0.0") }

            // v2 under load from new-connection and keep-alive clients.
            try app.setVersion("2.0.0")
            var (output, loads) = try underLoad(addresses, host: domain) {
                try berth.run(["deploy", "--label", "2.0.0"], in: app.directory, sshConfig: sshConfig)
            }
            #expect(output.status == 0, "\(output.combined)")
            for load in loads {
                #expect(load.failed == 0, "\(load)")
                #expect(load.versions["1.0.0", default: 0] > 0 && load.versions["2.0.0", default: 0] > 0,
                        "traffic should move from 1.0.0 to 2.0.0 while the clients run: \(load)")
            }
            for address in addresses { #expect(try Curl.version(address, host: domain) == "2.0.0") }

            // v3 never becomes healthy: each host rolls back by itself and v2 keeps serving.
            try app.setVersion("3.0.0")
            try app.setFailingHealth(true)
            (output, loads) = try underLoad(addresses, host: domain) {
                try berth.run(["deploy", "--label", "3.0.0"], in: app.directory, sshConfig: sshConfig)
            }
            #expect(output.status == 1, "a failed health check must fail the deploy: \(output.combined)")
            #expect(output.stdout.contains("rolled-back"), "\(output.stdout)")
            #expect(output.stdout.contains("last journal lines"), "the journal of the failed unit is shown: \(output.stdout)")
            for load in loads {
                #expect(load.failed == 0, "\(load)")
                #expect(Set(load.versions.keys) == ["2.0.0"], "only v2 may answer: \(load)")
            }
            try app.setFailingHealth(false)

            // Rollback to the release before v2, under load.
            (output, loads) = try underLoad(addresses, host: domain) {
                try berth.run(["rollback"], in: app.directory, sshConfig: sshConfig)
            }
            #expect(output.status == 0, "\(output.combined)")
            for load in loads {
                #expect(load.failed == 0, "\(load)")
                #expect(load.versions["1.0.0", default: 0] > 0, "\(load)")
            }
            for address in addresses { #expect(try Curl.version(address, host: domain) == "1.0.0") }

            // Status and history tell the same story, as JSON.
            let status = try berth.run(["status", "--json"], in: app.directory, sshConfig: sshConfig)
            #expect(status.status == 0, "\(status.combined)")
            let hosts = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(hosts.count == 2)
            for host in hosts {
                #expect((host["release"] as? [String: Any])?["label"] as? String == "1.0.0", "\(host)")
                #expect(host["healthy"] as? Bool == true, "\(host)")
            }
            let history = try berth.run(["history", "--json"], in: app.directory, sshConfig: sshConfig)
            let entries = (try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])?
                .first?["entries"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["result"] as? String } == ["deployed", "rolled-back", "deployed", "deployed"],
                    "\(history.stdout)")
            #expect(entries.first?["kind"] as? String == "rollback")

            // Deploying what already runs changes nothing.
            let again = try berth.run(["deploy", "--label", "2.0.0", "--json"], in: app.directory, sshConfig: sshConfig)
            #expect(again.status == 0, "\(again.combined)")
        }

        @Test func aKilledDeployLeavesTheOldReleaseServingAndTheNextDeploySucceeds() throws {
            let (addresses, sshConfig) = try Self.fleet()
            let berth = try BerthCLI.locate()
            let app = try AppWorkspace.make(appName: Self.freshName("killed"), hosts: ["h1"], port: Self.freshPort(),
                                            domain: "\(Self.freshName("killed")).test")
            let domain = app.domain
            defer { app.remove() }
            try app.setVersion("1.0.0")
            let first = try berth.run(["deploy"], in: app.directory, sshConfig: sshConfig)
            #expect(first.status == 0, "\(first.combined)")

            // v2 takes 20 s to become ready: kill berth while the host waits for its health check,
            // then kill the engine on the host too (the deploy dies as if its machine lost power).
            try app.setVersion("2.0.0")
            try app.setStartDelay(20)
            let load = try LoadGenerator.start(addresses: [addresses[0]], hostHeader: domain, mode: "new")
            let deploy = try berth.start(["deploy"], in: app.directory, sshConfig: sshConfig)
            let reachedHealth = RunningProcess.waitUntil(seconds: 30) { deploy.stdoutSoFar.contains("start") }
            #expect(reachedHealth, "the deploy should reach its start step: \(deploy.stdoutSoFar)")
            deploy.signal(SIGKILL)
            _ = deploy.wait()
            let killed = try FleetAccess.ensure(hosts: 1).run(on: "h1", "pkill -KILL -f '[b]erth-engine-.* deploy' ; sleep 0.2; pgrep -f '[b]erth-engine-.* deploy' || echo gone")
            #expect(killed.stdout.contains("gone"), "\(killed)")
            usleep(500_000)
            let result = try load.stop()
            #expect(result.failed == 0, "the old release must keep serving: \(result)")
            #expect(Set(result.versions.keys) == ["1.0.0"], "\(result)")
            #expect(try Curl.version(addresses[0], host: domain) == "1.0.0")

            let lock = try berth.run(["lock", "status"], in: app.directory, sshConfig: sshConfig)
            #expect(lock.stdout.contains("stale"), "\(lock.combined)")

            // The next deploy takes over the stale lock, cleans the half-started slot and succeeds.
            try app.setStartDelay(nil)
            let next = try berth.run(["deploy"], in: app.directory, sshConfig: sshConfig)
            #expect(next.status == 0, "\(next.combined)")
            #expect(next.stdout.contains("stale"), "the takeover is reported: \(next.stdout)")
            #expect(try Curl.version(addresses[0], host: domain) == "2.0.0")
            let after = try berth.run(["lock", "status"], in: app.directory, sshConfig: sshConfig)
            #expect(after.stdout.contains("free"), "\(after.combined)")
        }

        @Test func aBadAppFileTouchesNoHost() throws {
            let (_, sshConfig) = try Self.fleet()
            let berth = try BerthCLI.locate()
            let app = try AppWorkspace.make(appName: Self.freshName("broken"), hosts: ["h1"], port: 8400, domain: "broken.test")
            defer { app.remove() }
            let yaml = try String(contentsOfFile: app.directory + "/berth.yml", encoding: .utf8)
                .replacingOccurrences(of: "      attempts: 120", with: "      atempts: 120")
            try yaml.write(toFile: app.directory + "/berth.yml", atomically: true, encoding: .utf8)
            let output = try berth.run(["deploy"], in: app.directory, sshConfig: sshConfig)
            #expect(output.status == 2, "\(output.combined)")
            #expect(output.stderr.contains("berth.yml:"), "the error names the file and line: \(output.stderr)")
            #expect(output.stderr.contains("atempts"), "\(output.stderr)")
            let remote = try FleetAccess.ensure(hosts: 1).run(on: "h1", "test -e /var/lib/berth/apps/\(app.appName) && echo touched || echo untouched")
            #expect(remote.stdout.contains("untouched"))
        }

        /// Runs `body` while new-connection and keep-alive clients load every host, and returns
        /// what both saw.
        func underLoad(_ addresses: [String], host: String, _ body: () throws -> ProcessOutput) throws
            -> (ProcessOutput, [LoadResult])
        {
            let fresh = try LoadGenerator.start(addresses: addresses, hostHeader: host, mode: "new")
            let kept = try LoadGenerator.start(addresses: addresses, hostHeader: host, mode: "keepalive")
            let output = try body()
            usleep(300_000)  // a little traffic after the switch, on the new release
            return (output, [try fresh.stop(), try kept.stop()])
        }
    }
}

/// `curl` through a host's nginx.
enum Curl {
    static func version(_ address: String, host: String, path: String = "/") throws -> String? {
        let output = try RunningProcess.start(["curl", "-s", "--max-time", "5", "-H", "Host: \(host)", "http://\(address)\(path)"]).wait()
        let json = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        return json?["version"] as? String
    }
}
