import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Catch-up on boot: a host that was off during a deploy brings itself to the desired release when
/// it boots, from the release store, with nobody running `berth`; a host that cannot reach the
/// store keeps its last good release and says so in its journal.
extension Integration {
    @Suite(.serialized) struct CatchUpTests {
        /// The documented bound (docs/catch-up.md) from the host's boot to the new release serving.
        static let catchUpLimitSeconds = 30.0

        struct Fixture {
            let testbed: Testbed
            let berth: BerthCLI
            let app: AppWorkspace
            let hook: WebhookReceiver

            static func make(_ prefix: String, wait: String) throws -> Fixture {
                let testbed = try FleetAccess.ensure(hosts: 3)
                let hook = try WebhookReceiver.start(bindAddress: Testbed.bridgeAddress, lifetime: 300)
                let name = DeployTests.freshName(prefix)
                let app = try AppWorkspace.make(appName: name, hosts: ["h1", "h2", "h3"], port: DeployTests.freshPort(),
                                                domain: "\(name).test", optional: ["h3"], extraYAML: """
                    release_store:
                      host: h1
                      address: \(testbed.address(of: "h1"))
                      wait: \(wait)
                    notify:
                      webhook: \(hook.url)
                    """)
                return Fixture(testbed: testbed, berth: try BerthCLI.locate(), app: app, hook: hook)
            }

            func deploy(_ version: String) throws -> ProcessOutput {
                try app.setVersion(version)
                return try berth.run(["deploy", "--json", "--label", version], in: app.directory, sshConfig: testbed.sshConfig)
            }

            func status() throws -> [String: [String: Any]] {
                let output = try berth.run(["status", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
                let hosts = (try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]]) ?? []
                return Dictionary(uniqueKeysWithValues: hosts.map { ($0["host"] as? String ?? "?", $0) })
            }

            func served(on host: String) throws -> String? {
                try Curl.version(testbed.address(of: host), host: app.domain)
            }

            var unit: String { HostLayout(app: app.appName, env: "production").catchUpUnitName }

            func cleanUp() {
                _ = try? testbed.ensureUp(hosts: 3)
                hook.stop()
                app.remove()
            }
        }

        @Test func anOptionalHostThatWasOffCatchesUpByItselfWhenItBoots() throws {
            let fixture = try Fixture.make("catchup", wait: "30s")
            defer { fixture.cleanUp() }
            let first = try fixture.deploy("1.0.0")
            #expect(first.status == 0, "\(first.combined)")
            let before = try fixture.status()
            #expect((before["h3"]?["desired"] as? [String: Any])?["label"] as? String == "1.0.0", "\(before)")
            #expect(before["h3"]?["drift"] as? Bool == false, "\(before)")

            // h3 is off while 2.0.0 is deployed: skipped, pending.
            try fixture.testbed.crash("h3")
            let second = try fixture.deploy("2.0.0")
            #expect(second.status == 10, "\(second.combined)")
            let summary = try OfflineHostTests.summary(second.stdout)
            #expect(summary["h3"]?["state"] as? String == "skipped", "\(summary)")
            #expect(try fixture.served(on: "h2") == "2.0.0")
            let pending = try fixture.status()
            #expect(pending["h3"]?["reachable"] as? Bool == false, "\(pending)")
            #expect((pending["h3"]?["desired"] as? [String: Any])?["label"] as? String == "2.0.0", "\(pending)")

            // Every host pinned the store's key as this machine knows it: no trust on first use.
            let storeKey = try String(contentsOfFile: fixture.testbed.directory + "/known_hosts", encoding: .utf8)
                .split(separator: "\n").first { $0.hasPrefix("h1,") }?.split(separator: " ").dropFirst().joined(separator: " ")
            let pinned = try fixture.testbed.run(on: "h2", "cat /var/lib/berth/apps/\(fixture.app.appName)/production/catch-up/known_hosts")
            #expect(storeKey != nil && pinned.stdout == "berth-release-store \(storeKey ?? "?")\n", "\(pinned.stdout)")

            // It boots, and with nobody running berth it serves 2.0.0.
            let booted = Date()
            try fixture.testbed.boot("h3")
            var served: String?
            while Date().timeIntervalSince(booted) < Self.catchUpLimitSeconds {
                served = try fixture.served(on: "h3")
                if served == "2.0.0" { break }
                usleep(200_000)
            }
            let seconds = Date().timeIntervalSince(booted)
            #expect(served == "2.0.0", "h3 should serve 2.0.0 within \(Self.catchUpLimitSeconds) s of its boot; it serves \(served ?? "nothing")")
            print("catch-up: h3 served the new release \(String(format: "%.1f", seconds)) s after its boot")

            // The same activation as a deploy, recorded as a catch-up; status shows no drift. The
            // engine records it after the drain and the stop of the old slot, a while after the
            // new release first serves: wait for the entry rather than read the history once.
            var historyText = ""
            var entries: [[String: Any]] = []
            _ = RunningProcess.waitUntil(seconds: 20) {
                let history = try? fixture.berth.run(["history", "--json", "--host", "h3", "--limit", "1"],
                                                     in: fixture.app.directory, sshConfig: fixture.testbed.sshConfig)
                historyText = history?.combined ?? historyText
                entries = ((try? JSONSerialization.jsonObject(with: Data((history?.stdout ?? "").utf8)) as? [[String: Any]])?.first?["entries"]
                    as? [[String: Any]]) ?? []
                if entries.first?["kind"] as? String == "catch-up" { return true }
                usleep(500_000)
                return false
            }
            #expect(entries.first?["kind"] as? String == "catch-up", "\(historyText)")
            #expect(entries.first?["result"] as? String == "deployed", "\(historyText)")
            let steps = (entries.first?["steps"] as? [[String: Any]] ?? []).compactMap { $0["step"] as? String }
            #expect(steps.contains("health") && steps.contains("switch"), "health-gated like a deploy: \(steps)")
            let after = try fixture.status()
            #expect(after["h3"]?["drift"] as? Bool == false, "\(after)")

            // The webhook heard of the catch-up from h3 itself.
            var notice: [String: Any]?
            _ = RunningProcess.waitUntil(seconds: 10) {
                notice = fixture.hook.posts().first { $0["command"] as? String == "catch-up" }
                return notice != nil
            }
            #expect((notice?["hosts"] as? [[String: Any]])?.first?["host"] as? String == "h3", "\(String(describing: notice))")
            #expect((notice?["hosts"] as? [[String: Any]])?.first?["state"] as? String == "deployed", "\(String(describing: notice))")
            #expect(notice?["label"] as? String == "2.0.0", "\(String(describing: notice))")
            #expect(fixture.hook.posts().contains { ($0["offline"] as? [String]) == ["h3"] }, "the deploy's notice named h3 offline")

            // A rollback of every host makes its release the desired one again.
            let rollback = try fixture.berth.run(["rollback"], in: fixture.app.directory, sshConfig: fixture.testbed.sshConfig)
            #expect(rollback.status == 0, "\(rollback.combined)")
            let rolledBack = try fixture.status()
            for host in ["h1", "h2", "h3"] {
                #expect((rolledBack[host]?["desired"] as? [String: Any])?["label"] as? String == "1.0.0", "\(rolledBack)")
                #expect(rolledBack[host]?["drift"] as? Bool == false, "\(rolledBack)")
            }
        }

        @Test func aHostThatCannotReachTheStoreBootsIntoItsLastGoodReleaseAndSaysSo() throws {
            let fixture = try Fixture.make("nostore", wait: "3s")
            defer { fixture.cleanUp() }
            #expect(try fixture.deploy("1.0.0").status == 0)
            try fixture.testbed.crash("h3")
            #expect(try fixture.deploy("2.0.0").status == 10)

            // The store host (h1) is cut off while h3 boots.
            try fixture.testbed.cut("h1")
            var healed = false
            defer { if !healed { try? fixture.testbed.heal("h1") } }
            try fixture.testbed.boot("h3")
            var state = ""
            _ = RunningProcess.waitUntil(seconds: 40) {
                let show = try? fixture.testbed.run(on: "h3", "systemctl show -p ActiveState --value \(fixture.unit)", timeout: 10)
                state = show?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                return state == "failed"
            }
            #expect(state == "failed", "the catch-up unit ends failed when the store is unreachable")
            let journal = try fixture.testbed.run(on: "h3", "journalctl -b --no-pager -o cat -u \(fixture.unit)").stdout
            #expect(journal.contains("could not reach the release store"), "\(journal)")
            #expect(journal.contains("stays on release") && journal.contains("(1.0.0), its last good release"), "\(journal)")
            #expect(try fixture.served(on: "h3") == "1.0.0", "h3 serves its last good release")

            // Once the store is back, the next deploy completes h3 and leaves the others alone.
            try fixture.testbed.heal("h1")
            healed = true
            let status = try fixture.status()
            #expect(status["h3"]?["drift"] as? Bool == true, "\(status)")
            let next = try fixture.berth.run(["deploy", "--json"], in: fixture.app.directory, sshConfig: fixture.testbed.sshConfig)
            #expect(next.status == 0, "\(next.combined)")
            let summary = try OfflineHostTests.summary(next.stdout)
            #expect(summary["h1"]?["state"] as? String == "unchanged", "\(summary)")
            #expect(summary["h3"]?["state"] as? String == "deployed", "\(summary)")
            #expect(try fixture.served(on: "h3") == "2.0.0")

            // The store host itself reboots: the keys it authorized survive, and its own catch-up
            // (through the same forced command) finds it on the desired release.
            try fixture.testbed.crash("h1")
            try fixture.testbed.boot("h1")
            var result = ""
            _ = RunningProcess.waitUntil(seconds: 40) {
                let show = try? fixture.testbed.run(on: "h1", "systemctl show -p ActiveState,Result --value \(fixture.unit)", timeout: 10)
                // systemctl prints the values in its own order.
                result = (show?.stdout.split(separator: "\n").map(String.init) ?? []).sorted().joined(separator: " ")
                return result == "inactive success"
            }
            let ownJournal = try fixture.testbed.run(on: "h1", "journalctl -b --no-pager -o cat -u \(fixture.unit)").stdout
            #expect(result == "inactive success", "\(ownJournal)")
            #expect(ownJournal.contains("already on the desired release"), "\(ownJournal)")
            #expect(try fixture.served(on: "h1") == "2.0.0")
        }
    }
}
