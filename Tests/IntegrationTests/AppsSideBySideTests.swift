import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Several apps and environments on one real host (h1), deployed with the real `berth`: each keeps
/// its own units, site and ports, and a deploy that would take another's domain or port is refused
/// before anything starts, naming both sides.
extension Integration {
    @Suite(.serialized) struct AppsSideBySideTests {
        let berth: BerthCLI
        let testbed: Testbed
        let address: String

        init() throws {
            berth = try BerthCLI.locate()
            testbed = try FleetAccess.ensure(hosts: 1)
            address = testbed.address(of: "h1")
        }

        /// An app of its own on h1 in environment `env`, serving version `version` on `domain`.
        func app(_ name: String, env: String, domain: String, port: Int = DeployTests.freshPort(), version: String) throws -> AppWorkspace {
            let app = try AppWorkspace.make(appName: name, hosts: ["h1"], port: port, domain: domain, environment: env)
            try app.setVersion(version)
            return app
        }

        func deploy(_ app: AppWorkspace, env: String) throws -> ProcessOutput {
            try berth.run(["deploy", "-e", env], in: app.directory, sshConfig: testbed.sshConfig)
        }

        func sh(_ command: String) throws -> ProcessOutput { try testbed.run(on: "h1", command) }

        /// Stops and removes everything Berth put on h1 for these app environments (under old-style
        /// names too, for a run against an earlier engine).
        func remove(_ pairs: [(String, String)]) {
            for (app, env) in pairs {
                let layout = HostLayout(app: app, env: env), legacy = LegacyNames(layout: layout).unitPrefix(service: "")
                _ = try? sh("""
                    systemctl stop '\(app).\(env).*' '\(legacy)*' 2>/dev/null; \
                    rm -rf \(layout.appDir) /etc/systemd/system/\(app).\(env).* /etc/systemd/system/multi-user.target.wants/\(app).\(env).* \
                    /etc/systemd/system/\(legacy)* /etc/systemd/system/multi-user.target.wants/\(legacy)* \
                    \(layout.nginxSiteFile) \(LegacyNames(layout: layout).nginxSiteFile); systemctl daemon-reload; systemctl reload nginx
                    """)
            }
        }

        /// Nothing of `app` in `env` was written or started on h1: no unit file, no running unit,
        /// no site, no release, no history.
        func expectNothingOf(_ app: String, env: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let layout = HostLayout(app: app, env: env)
            let found = try sh("""
                ls /etc/systemd/system | grep -F '\(app).\(env).'; \
                systemctl list-units --all --plain --no-legend '\(app).\(env).*'; \
                ls \(layout.nginxSiteFile) \(layout.releasesDir) \(layout.historyFile) \(layout.manifestFile) 2>/dev/null; true
                """)
            #expect(found.stdout.isEmpty, "the refused deploy left this on h1: \(found.stdout)", sourceLocation: sourceLocation)
        }

        /// Reproduced: app `shop` with environment `prod-eu` and app `shop-prod` with environment
        /// `eu` shared `shop-prod-eu-web@.service` and `berth-shop-prod-eu.conf`; deploying the
        /// second stopped the first's unit and answered its domain.
        @Test func appsWhoseNamesRunTogetherBothServeTheirOwnDomain() throws {
            let shop = DeployTests.freshName("shop")
            let first = try app(shop, env: "prod-eu", domain: "\(shop).test", version: "first-1.0")
            let second = try app("\(shop)-prod", env: "eu", domain: "eu.\(shop).test", version: "second-1.0")
            defer { first.remove(); second.remove(); remove([(shop, "prod-eu"), ("\(shop)-prod", "eu")]) }

            let one = try deploy(first, env: "prod-eu")
            #expect(one.status == 0, "\(one.combined)")
            let two = try deploy(second, env: "eu")
            #expect(two.status == 0, "\(two.combined)")
            #expect(try Curl.version(address, host: first.domain) == "first-1.0")
            #expect(try Curl.version(address, host: second.domain) == "second-1.0")
            let units = [HostLayout(app: shop, env: "prod-eu"), HostLayout(app: "\(shop)-prod", env: "eu")]
                .flatMap { layout in ["web", "worker"].map { layout.unitName(service: $0, slot: .blue) } }
            let active = try sh("systemctl is-active \(units.joined(separator: " "))")
            #expect(active.stdout == "active\nactive\nactive\nactive\n", "\(units): \(active.combined)")

            // A new release of the first moves only the first.
            try first.setVersion("first-2.0")
            let again = try deploy(first, env: "prod-eu")
            #expect(again.status == 0, "\(again.combined)")
            #expect(try Curl.version(address, host: first.domain) == "first-2.0")
            #expect(try Curl.version(address, host: second.domain) == "second-1.0")
            #expect(try sh("systemctl is-active \(units[2]) \(units[3])").stdout == "active\nactive\n")
        }

        /// Reproduced: nginx keeps the first of two servers with one `server_name` on one `listen`
        /// and only warns; `nginx -t` passed, Berth reported success and the second app's domain
        /// served the first app.
        @Test func aDomainAnotherSiteServesIsRefusedBeforeAnythingStarts() throws {
            let owner = DeployTests.freshName("owner")
            let first = try app(owner, env: "production", domain: "\(owner).test", version: "owner-1.0")
            let intruder = DeployTests.freshName("intruder")
            let second = try app(intruder, env: "production", domain: first.domain, version: "intruder-1.0")
            let handMade = "/etc/nginx/conf.d/\(DeployTests.freshName("hand")).conf"
            let hand = DeployTests.freshName("hand")
            let third = try app(DeployTests.freshName("thirdapp"), env: "production", domain: "\(hand).test", version: "third-1.0")
            defer {
                first.remove(); second.remove(); third.remove()
                _ = try? sh("rm -f \(handMade); systemctl reload nginx")
                remove([(owner, "production"), (intruder, "production"), (third.appName, "production")])
            }

            #expect(try deploy(first, env: "production").status == 0)
            let refused = try deploy(second, env: "production")
            #expect(refused.status == 12, "pre-flight finds the conflict: \(refused.combined)")
            let site = HostLayout(app: owner, env: "production").nginxSiteFile
            #expect(refused.combined.contains("\(first.domain) on port 80 is already served by \(site) (Berth app '\(owner)', environment 'production'), so nothing was changed; give \(intruder) (production) another domain in berth.yml or remove that site"),
                    "\(refused.combined)")
            #expect(try Curl.version(address, host: first.domain) == "owner-1.0")
            try expectNothingOf(intruder, env: "production")

            // A site someone wrote by hand in conf.d counts the same.
            let written = try sh("printf 'server {\\n    listen 80;\\n    server_name %s;\\n    return 200 hand;\\n}\\n' \(hand).test > \(handMade) && systemctl reload nginx")
            #expect(written.status == 0, "\(written.combined)")
            let refusedAgain = try deploy(third, env: "production")
            #expect(refusedAgain.status == 12, "\(refusedAgain.combined)")
            #expect(refusedAgain.combined.contains("\(hand).test on port 80 is already served by \(handMade) (not written by Berth), so nothing was changed"),
                    "\(refusedAgain.combined)")
            try expectNothingOf(third.appName, env: "production")
        }

        @Test func aPortAnotherProcessHoldsIsRefusedNamingTheProcess() throws {
            let port = DeployTests.freshPort()
            // A program that is not Berth's listens on the port the new slot needs.
            let started = try sh("setsid python3 -m http.server \(port) --bind 127.0.0.1 >/dev/null 2>&1 < /dev/null & echo $!")
            let pid = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(started.status == 0 && Int(pid) != nil, "\(started.combined)")
            let name = DeployTests.freshName("squatted")
            let app = try app(name, env: "production", domain: "\(name).test", port: port, version: "1.0")
            defer {
                if Int(pid) != nil { _ = try? sh("kill \(pid)") }
                app.remove()
                remove([(name, "production")])
            }
            #expect(RunningProcess.waitUntil(seconds: 10) { (try? sh("ss -ltnH 'sport = :\(port)'"))?.stdout.isEmpty == false })

            let refused = try deploy(app, env: "production")
            #expect(refused.status == 12, "pre-flight finds the conflict: \(refused.combined)")
            #expect(refused.combined.contains("port \(port) of the blue slot of 'web' (\(name) (production)) is held by python3 (pid \(pid), unit "),
                    "\(refused.combined)")
            try expectNothingOf(name, env: "production")
        }

        /// A host an earlier Berth deployed to (old-style names, no ownership record) moves to the
        /// new names with its next deploy: under load, without a failed request; afterwards its
        /// old units, boot links and site are gone. Needs a static engine built from a commit
        /// before the names changed (e.g. a8bc5c9) in BERTH_EARLIER_ENGINE.
        @Test(.enabled(if: ProcessInfo.processInfo.environment["BERTH_EARLIER_ENGINE"] != nil,
                       "set BERTH_EARLIER_ENGINE to an engine with the old names"))
        func aHostAnEarlierBerthDeployedMovesToTheNewNamesWithoutAFailedRequest() throws {
            let earlier = berth.with(engine: ProcessInfo.processInfo.environment["BERTH_EARLIER_ENGINE"] ?? "")
            let name = DeployTests.freshName("upgrade")
            let app = try app(name, env: "production", domain: "\(name).test", version: "1.0.0")
            let layout = HostLayout(app: name, env: "production"), legacy = LegacyNames(layout: layout)
            defer { app.remove(); remove([(name, "production")]) }

            let first = try earlier.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 0, "\(first.combined)")
            #expect(try sh("systemctl is-active \(legacy.unitName(service: "web", slot: .blue))").stdout == "active\n")

            try app.setVersion("2.0.0")
            let fresh = try LoadGenerator.start(addresses: [address], hostHeader: app.domain, mode: "new")
            let kept = try LoadGenerator.start(addresses: [address], hostHeader: app.domain, mode: "keepalive")
            let next = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            usleep(300_000)
            for load in [try fresh.stop(), try kept.stop()] {
                #expect(load.failed == 0, "\(load)")
                #expect(load.versions["1.0.0", default: 0] > 0 && load.versions["2.0.0", default: 0] > 0, "\(load)")
            }
            #expect(next.status == 0, "\(next.combined)")
            #expect(!next.stdout.contains(" ! "), "no warnings: \(next.combined)")
            #expect(try Curl.version(address, host: app.domain) == "2.0.0")
            #expect(try sh("systemctl is-active \(layout.unitName(service: "web", slot: .green)) \(layout.unitName(service: "worker", slot: .green))").stdout
                == "active\nactive\n")
            let left = try sh("ls /etc/systemd/system /etc/systemd/system/multi-user.target.wants /etc/nginx/conf.d | grep -F '\(legacy.unitPrefix(service: ""))'; ls \(legacy.nginxSiteFile) \(legacy.catchUpUnitFile) 2>/dev/null; systemctl list-units --plain --no-legend '\(legacy.unitPrefix(service: ""))*'; true")
            #expect(left.stdout.isEmpty, "old-style names left: \(left.stdout)")
            let status = try berth.run(["status", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            let hosts = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(hosts.first?["healthy"] as? Bool == true, "status reads the new names: \(status.stdout)")
        }

        /// Through the app file the only way to reach another app environment's units now is its
        /// ports: a deploy that would start on the idle slot's port of another is refused, and the
        /// other keeps both its slots.
        @Test func anotherAppEnvironmentsPortIsNeverTaken() throws {
            let owner = DeployTests.freshName("portowner")
            let port = DeployTests.freshPort()
            let first = try app(owner, env: "production", domain: "\(owner).test", port: port, version: "owner-1.0")
            let taker = DeployTests.freshName("porttaker")
            // Blue on the owner's green port: free now, needed by the owner's next deploy.
            let second = try app(taker, env: "production", domain: "\(taker).test", port: port + 1, version: "taker-1.0")
            defer { first.remove(); second.remove(); remove([(owner, "production"), (taker, "production")]) }

            #expect(try deploy(first, env: "production").status == 0)
            let refused = try deploy(second, env: "production")
            #expect(refused.status == 12, "pre-flight finds the conflict: \(refused.combined)")
            #expect(refused.combined.contains("port \(port + 1) (web, blue slot) of \(taker) (production) belongs to Berth app '\(owner)', environment 'production' (web, green slot), so nothing was changed"),
                    "\(refused.combined)")
            try expectNothingOf(taker, env: "production")

            try first.setVersion("owner-2.0")
            let next = try deploy(first, env: "production")
            #expect(next.status == 0, "the owner's green slot was kept free: \(next.combined)")
            #expect(try Curl.version(address, host: first.domain) == "owner-2.0")
        }
    }
}
