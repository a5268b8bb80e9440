import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The switch survives crashes on real hosts: the host engine is killed (SIGKILL, through its test
/// fault hook) at every step boundary in turn, and a host's power is cut at every step boundary in
/// turn; after each, the host serves (after a boot too) and the next deploy, under load from
/// new-connection and keep-alive clients, loses no request. Also: a full disk at `record`
/// (simulated by the hook), a removed and a corrupt manifest, and a long request held open through
/// the drain of an engine that died.
extension Integration {
    @Suite(.serialized) struct CrashConsistencyTests {
        @Test func aKilledEngineAtEveryStepBoundaryLosesNoRequestOnTheNextDeploy() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let app = try Self.app(on: "h1")
            defer { app.remove() }
            defer { Self.removeApp(app, on: "h1", testbed) }
            let address = testbed.address(of: "h1")
            try app.setVersion("1.0.0")
            let first = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 0, "\(first.combined)")

            for boundary in ActivationSteps.names {
                try app.setVersion("killed-\(boundary)")
                try Self.fault("after:\(boundary)", app: app, on: "h1", testbed)
                let killed = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
                #expect(killed.status != 0, "the engine was killed after \(boundary): \(killed.combined)")
                #expect(killed.stdout.contains("test fault hook: killing the engine (SIGKILL) after '\(boundary)'"), "\(killed.combined)")
                #expect(try Curl.version(address, host: app.domain) != nil, "h1 serves after a kill after \(boundary)")

                try app.setVersion("after-\(boundary)")
                let (next, loads) = try Self.underLoad([address], host: app.domain) {
                    try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
                }
                #expect(next.status == 0, "deploy after a kill after \(boundary): \(next.combined)")
                for load in loads { #expect(load.failed == 0, "kill after \(boundary): \(load)\n\(next.stdout)") }
                #expect(try Curl.version(address, host: app.domain) == "after-\(boundary)")
            }

            // A full disk at record (the manifest write fails, simulated by the hook): the host
            // reports failure, and the next deploy still knows which slot serves.
            try app.setVersion("full-disk")
            try Self.fault("fail:record", app: app, on: "h1", testbed)
            let full = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(full.status != 0 && full.stdout.contains("No space left on device"), "\(full.combined)")
            try app.setVersion("after-full-disk")
            var (next, loads) = try Self.underLoad([address], host: app.domain) {
                try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            }
            #expect(next.status == 0, "\(next.combined)")
            #expect(next.stdout.contains("the records of this host lag behind what serves"), "\(next.stdout)")
            for load in loads { #expect(load.failed == 0, "after a full disk at record: \(load)") }

            // A removed manifest.
            let layout = HostLayout(app: app.appName, env: "production")
            #expect(try testbed.run(on: "h1", "rm \(layout.manifestFile)").status == 0)
            try app.setVersion("after-removed")
            (next, loads) = try Self.underLoad([address], host: app.domain) {
                try berth.run(["deploy", "--label", "after-removed"], in: app.directory, sshConfig: testbed.sshConfig)
            }
            #expect(next.status == 0 && next.stdout.contains("manifest.json is missing"), "\(next.combined)")
            for load in loads { #expect(load.failed == 0, "after the manifest was removed: \(load)") }

            // A corrupt manifest: status answers with the host's own account and a note; the
            // next deploy repairs it and says so, in its output and in the history.
            #expect(try testbed.run(on: "h1", "printf '{\"app\": tru' > \(layout.manifestFile)").status == 0)
            let status = try berth.run(["status", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(status.status == 0, "\(status.combined)")
            let row = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])?.first ?? [:]
            #expect(row["reachable"] as? Bool == true, "\(status.stdout)")
            #expect((row["release"] as? [String: Any])?["label"] as? String == "after-removed", "\(status.stdout)")
            #expect((row["message"] as? String)?.contains("manifest.json could not be read") == true, "\(status.stdout)")
            try app.setVersion("after-corrupt")
            (next, loads) = try Self.underLoad([address], host: app.domain) {
                try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            }
            #expect(next.status == 0 && next.stdout.contains("manifest.json could not be read"), "\(next.combined)")
            for load in loads { #expect(load.failed == 0, "after the manifest was corrupted: \(load)") }
            let history = try berth.run(["history", "--json", "--limit", "2"], in: app.directory, sshConfig: testbed.sshConfig)
            let entries = (try? JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])?.first?["entries"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["kind"] as? String } == ["deploy", "repair"], "\(history.stdout)")
        }

        /// The reproduction of issue 10: a long request keeps an old nginx worker draining, the
        /// engine dies in the drain, and the next deploy under load must neither stop the slot
        /// nginx routes to nor cut the long request.
        @Test func anEngineKilledDuringTheDrainOfALongRequestLosesNothing() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let app = try Self.app(on: "h1")
            defer { app.remove() }
            defer { Self.removeApp(app, on: "h1", testbed) }
            let address = testbed.address(of: "h1")
            try app.setVersion("1.0.0")
            #expect(try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig).status == 0)

            let slow = try RunningProcess.start(["curl", "-sS", "--max-time", "40", "-o", "/dev/null", "-w", "%{http_code}",
                                                 "-H", "Host: \(app.domain)", "http://\(address)/slow/6"])
            usleep(500_000)
            try app.setVersion("2.0.0")
            try Self.fault("after:switch", app: app, on: "h1", testbed)
            let killed = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(killed.stdout.contains("killing the engine (SIGKILL) after 'switch'"), "\(killed.combined)")

            try app.setVersion("3.0.0")
            let (next, loads) = try Self.underLoad([address], host: app.domain) {
                try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            }
            #expect(next.status == 0, "\(next.combined)")
            #expect(!next.stdout.contains("still ran from an earlier deploy"), "the routed slot must not be stopped: \(next.stdout)")
            for load in loads { #expect(load.failed == 0, "\(load)\n\(next.stdout)") }
            let long = slow.wait()
            #expect(long.stdout == "200", "the long request held through the drain must complete: \(long.combined)")
            #expect(try Curl.version(address, host: app.domain) == "3.0.0")
        }

        /// A power cut while the engine is paused at each step boundary in turn: the host boots
        /// serving (the release of the slot its nginx site routes to, from that slot's running
        /// units: before the switch the old release, from the switch on the new one), and the next
        /// deploy, under load, loses no request, repairs the records where they lag, and leaves
        /// them telling the truth.
        @Test func aPowerCutAtEveryStepBoundaryBootsServingAndTheNextDeployLosesNoRequest() throws {
            let testbed = try FleetAccess.ensure(hosts: 2)
            let berth = try BerthCLI.locate()
            let app = try Self.app(on: "h2")
            defer { app.remove() }
            defer { Self.removeApp(app, on: "h2", testbed) }
            defer { _ = try? testbed.ensureUp(hosts: 2) }
            let address = testbed.address(of: "h2")
            try app.setVersion("1.0.0")
            let first = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 0, "\(first.combined)")
            var serving = "1.0.0"
            var timings: [String] = []

            for boundary in ActivationSteps.names {
                let watch = Date()
                try app.setVersion("cut-\(boundary)")
                try Self.fault("pause:\(boundary)", app: app, on: "h2", testbed)
                let deploy = try berth.start(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
                let paused = RunningProcess.waitUntil(seconds: 60) { deploy.stdoutSoFar.contains("paused after '\(boundary)'") }
                #expect(paused, "the engine should pause after \(boundary): \(deploy.stdoutSoFar)")
                try testbed.crash("h2")
                deploy.signal(SIGKILL)
                _ = deploy.wait()
                let cut = Date()
                try testbed.boot("h2")
                let booted = try Self.waitForBoot("h2", testbed)
                #expect(booted, "h2 should finish booting after a power cut after \(boundary)")
                let up = Date()

                // The host serves: the release of the slot nginx routes to, from that slot's
                // running units. The switch is where the new release starts to serve.
                let switched = ActivationSteps.names.firstIndex(of: boundary)! >= ActivationSteps.names.firstIndex(of: "switch")!
                let expected = switched ? "cut-\(boundary)" : serving
                let answer = Self.waitForAnswer(address, host: app.domain, seconds: 10)
                let truth = try Self.hostTruth(app, on: "h2", testbed)
                #expect(answer?.version == expected, "h2 should serve \(expected) after a power cut after \(boundary): \(String(describing: answer)); \(truth)")
                if let routed = truth.routed, let answer {
                    #expect(answer.slot == routed.rawValue, "after a power cut after \(boundary), the answer should come from the \(routed.rawValue) slot nginx routes to: \(answer); \(truth)")
                    #expect(answer.release == truth.release[routed], "after a power cut after \(boundary), the answer should come from the release of the routed slot's link: \(answer); \(truth)")
                    #expect(truth.running[routed] == true && truth.enabled[routed] == true,
                            "after a power cut after \(boundary), the routed \(routed.rawValue) slot should run and be enabled for boot: \(truth)")
                } else {
                    Issue.record("after a power cut after \(boundary), h2 should route to a slot and answer: \(String(describing: answer)); \(truth)")
                }
                let checked = Date()

                try app.setVersion("after-cut-\(boundary)")
                let (next, loads) = try Self.underLoad([address], host: app.domain) {
                    try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
                }
                #expect(next.status == 0, "deploy after a power cut after \(boundary): \(next.combined)")
                for load in loads { #expect(load.failed == 0, "power cut after \(boundary): \(load)\n\(next.stdout)") }
                #expect(try Curl.version(address, host: app.domain) == "after-cut-\(boundary)")
                // The deploy lock the engine held when the power went is a stale record now.
                #expect(next.stdout.contains("took over a stale lock"), "after a power cut after \(boundary): \(next.stdout)")
                // From the intent to the drain's end the records lag behind the host; before the
                // intent and after the record they tell the truth and nothing needs repair.
                let lagging = ["intent", "switch", "after-switch", "drain", "watch", "stop-old"].contains(boundary)
                #expect(next.stdout.contains("repaired this host's records") == lagging,
                        "after a power cut after \(boundary), a repair is \(lagging ? "" : "not ")expected: \(next.stdout)")
                let after = try Self.hostTruth(app, on: "h2", testbed)
                #expect(after.routed != nil && after.manifestSlot == after.routed && !after.intentLeft
                        && after.enabled[after.routed!] == true && after.enabled[after.routed!.other] == false
                        && after.running[after.routed!.other] == false,
                        "after the deploy that followed a power cut after \(boundary), the records should tell the truth: \(after)")
                serving = "after-cut-\(boundary)"
                timings.append(String(format: "%@ %.1f+%.1f+%.1f+%.1f s", boundary, cut.timeIntervalSince(watch), up.timeIntervalSince(cut),
                                      checked.timeIntervalSince(up), Date().timeIntervalSince(checked)))
            }
            print("power cut cycles (pause + boot + check + deploy): \(timings.joined(separator: ", "))")
        }

        // MARK: Helpers

        static func app(on host: String) throws -> AppWorkspace {
            try AppWorkspace.make(appName: DeployTests.freshName("crash"), hosts: [host], port: DeployTests.freshPort(),
                                  domain: "\(DeployTests.freshName("crash")).test")
        }

        /// Stops and removes what `app` left on `host` (its units, links, site and state), so the
        /// fleet does not collect running test apps.
        static func removeApp(_ app: AppWorkspace, on host: String, _ testbed: Testbed) {
            let layout = HostLayout(app: app.appName, env: "production")
            let services = ["web", "worker"]
            let units = services.flatMap { service in Slot.allCases.map { layout.unitName(service: service, slot: $0) } }
            let paths = [layout.appDir, layout.nginxSiteFile] + services.map { layout.templateUnitFile(service: $0) }
                + units.map { "\(layout.systemdDir)/multi-user.target.wants/\($0)" }
            _ = try? testbed.run(on: host, "systemctl stop \(units.joined(separator: " ")); rm -rf \(paths.joined(separator: " ")); rmdir \((layout.appDir as NSString).deletingLastPathComponent) 2>/dev/null; systemctl reset-failed \(units.joined(separator: " ")) 2>/dev/null; systemctl daemon-reload; systemctl reload nginx")
        }

        /// Waits until `host`'s systemd has finished starting up (`running`, or `degraded` when
        /// some unit failed: leftovers of other tests may; the caller checks its own units).
        static func waitForBoot(_ host: String, _ testbed: Testbed) throws -> Bool {
            let state = try testbed.run(on: host, "systemctl is-system-running --wait", timeout: 60)
            return ["running", "degraded"].contains(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        /// What the app answers at `/`: its version, slot and release id.
        struct Answer: CustomStringConvertible {
            var version: String?
            var slot: String?
            var release: String?
            var description: String { "version \(version ?? "-"), slot \(slot ?? "-"), release \(release?.prefix(12) ?? "-")" }
        }

        /// The first answer of `host` at `address` within `seconds` (units are active before the
        /// app listens; nginx may answer 502 for that moment).
        static func waitForAnswer(_ address: String, host: String, seconds: Double) -> Answer? {
            var answer: Answer?
            _ = RunningProcess.waitUntil(seconds: seconds) {
                guard let output = try? RunningProcess.start(["curl", "-s", "--max-time", "5", "-H", "Host: \(host)", "http://\(address)/"]).wait(),
                      let json = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
                      let version = json["version"] as? String else { return false }
                answer = Answer(version: version, slot: json["slot"] as? String, release: json["release"] as? String)
                return true
            }
            return answer
        }

        /// What `host` itself says about `app`: the slot its nginx site routes to, each slot's
        /// release (its link), whether its units run and are enabled for boot, the manifest's
        /// slot and whether an intent record is left.
        struct HostTruth: CustomStringConvertible {
            var routed: Slot?
            var release: [Slot: String] = [:]
            var running: [Slot: Bool] = [:]
            var enabled: [Slot: Bool] = [:]
            var manifestSlot: Slot?
            var intentLeft = false
            var description: String {
                let slots = Slot.allCases.map { slot in
                    "\(slot.rawValue): release \(release[slot]?.prefix(12) ?? "-"), \(running[slot] == true ? "running" : "not running"), \(enabled[slot] == true ? "enabled" : "not enabled")"
                }
                return "nginx routes to \(routed?.rawValue ?? "no slot"); \(slots.joined(separator: "; ")); manifest names \(manifestSlot?.rawValue ?? "no slot")\(intentLeft ? "; an intent is left" : "")"
            }
        }

        static func hostTruth(_ app: AppWorkspace, on host: String, _ testbed: Testbed) throws -> HostTruth {
            let layout = HostLayout(app: app.appName, env: "production")
            let services = ["web", "worker"]
            var truth = HostTruth()
            let site = try testbed.run(on: host, "cat \(layout.nginxSiteFile)")
            truth.routed = site.status == 0 ? NginxSite.routedSlot(in: site.stdout) : nil
            for slot in Slot.allCases {
                let link = try testbed.run(on: host, "readlink \(layout.slotLink(slot))")
                truth.release[slot] = link.status == 0 ? (link.stdout.trimmingCharacters(in: .whitespacesAndNewlines) as NSString).lastPathComponent : nil
                let units = services.map { layout.unitName(service: $0, slot: slot) }
                truth.running[slot] = try testbed.run(on: host, "systemctl is-active --quiet \(units.joined(separator: " "))").status == 0
                let links = units.map { "test -L \(layout.systemdDir)/multi-user.target.wants/\($0)" }.joined(separator: " && ")
                truth.enabled[slot] = try testbed.run(on: host, links).status == 0
            }
            let manifest = try testbed.run(on: host, "cat \(layout.manifestFile)")
            let json = try? JSONSerialization.jsonObject(with: Data(manifest.stdout.utf8)) as? [String: Any]
            truth.manifestSlot = (json?["activeSlot"] as? String).flatMap(Slot.init(rawValue:))
            truth.intentLeft = try testbed.run(on: host, "test -e \(layout.intentFile)").status == 0
            return truth
        }

        /// Arms the engine's test fault hook for the next activation of `app` on `host`.
        static func fault(_ fault: String, app: AppWorkspace, on host: String, _ testbed: Testbed) throws {
            let file = HostLayout(app: app.appName, env: "production").engineFaultFile
            let written = try testbed.run(on: host, "printf '%s\\n' '\(fault)' > \(file)")
            guard written.status == 0 else { throw TestSetupError("could not arm the fault hook on \(host): \(written.combined)") }
        }

        /// Runs `body` while new-connection and keep-alive clients load the hosts.
        static func underLoad(_ addresses: [String], host: String, _ body: () throws -> ProcessOutput) throws
            -> (ProcessOutput, [LoadResult])
        {
            let fresh = try LoadGenerator.start(addresses: addresses, hostHeader: host, mode: "new")
            let kept = try LoadGenerator.start(addresses: addresses, hostHeader: host, mode: "keepalive")
            let output = try body()
            usleep(300_000)
            return (output, [try fresh.stop(), try kept.stop()])
        }
    }
}
