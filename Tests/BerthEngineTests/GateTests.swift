import BerthCore
import BerthEngine
import Foundation
import Testing

/// The smoke step and the host hooks, in whole activations with `FakeSystem`.
@Suite struct GateTests {
    static let web = ServicePlan(name: "web", command: "python3 server.py", port: 47010, health: nil, proxied: true,
                                 stopTimeoutMs: 10_000, smoke: [SmokeCheck(command: "./selfcheck --strict", timeoutMs: 3000)])

    @Test func aFailingSmokeCommandUndoesTheDeployAndNginxNeverSwitches() async throws {
        let host = try Host()
        host.services = [Self.web]
        #expect(try await host.deploy("1.0.0") == 0)
        let site = host.read(host.layout.nginxSiteFile)
        host.system.jobResults["./selfcheck --strict"] = CommandResult(status: 3, output: "", errorOutput: "db: hi there is not ready")
        #expect(try await host.deploy("2.0.0") != 0)
        let outcome = try #require(host.outcome)
        #expect(outcome.result == .rolledBack)
        #expect(outcome.message == "hello.production.web@green.service failed its smoke check command './selfcheck --strict': exited with status 3: db: *** is not ready.")
        #expect(host.stepLines.contains("smoke failed"))
        #expect(!host.stepLines.contains { $0.hasPrefix("switch") })
        #expect(host.read(host.layout.nginxSiteFile) == site)
        #expect(!host.system.active.contains("hello.production.web@green.service"))
        #expect(try host.manifest()?.current?.id == host.id("1.0.0"))
    }

    @Test func smokeCommandsRunInTheNewReleaseAsTheServiceWithItsEnvFiles() async throws {
        let host = try Host()
        host.services = [Self.web]
        #expect(try await host.deploy("1.0.0") == 0)
        let job = try #require(host.system.jobs.first)
        let layout = host.layout
        #expect(job.user == layout.serviceUser)
        #expect(job.workingDirectory == layout.releaseDir(host.id("1.0.0")))
        #expect(job.environmentFiles == [layout.envFile, layout.instanceEnvFile(service: "web", slot: .blue)])
        #expect(job.timeoutMs == 3000)
        #expect(job.facts.contains(EnvVar(name: "BERTH_SLOT", value: "blue")))
        #expect(!job.argv.joined(separator: " ").contains("hi there"), "a setting reached argv")
        #expect(host.stepLines.contains("smoke done"))
    }

    @Test func hooksRunInOrderAroundTheSwitchAndTheirOutputIsInTheHistory() async throws {
        let host = try Host()
        host.hooks = HooksConfig(afterRelease: [Hook(command: "collect"), Hook(command: "compress")],
                               beforeSwitch: [Hook(command: "check --deploy")], afterSwitch: [Hook(command: "warm")])
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(host.system.log.filter { $0.hasPrefix("job ") } == ["job collect", "job compress", "job check --deploy", "job warm"])
        let lines = host.stepLines
        let order = ["after-release done", "start done", "health done", "smoke skipped", "before-switch done",
                     "intent done", "switch done", "after-switch done", "drain done"]
        #expect(order.compactMap { lines.firstIndex(of: $0) } == Array(order.compactMap { lines.firstIndex(of: $0) }).sorted())
        #expect(order.allSatisfy(lines.contains))
        // The new slot starts only after its after_release hooks.
        let log = host.system.log
        #expect(log.firstIndex(of: "job compress")! < log.firstIndex { $0.hasPrefix("start ") }!)
        let entry = try #require(try StateStore(layout: host.layout).history(limit: 1).first)
        #expect(entry.hooks?.map(\.point) == ["after_release", "after_release", "before_switch", "after_switch"])
        #expect(entry.hooks?.first?.output == ["ran collect"])
        #expect(host.outcome?.hooks?.count == 4)
    }

    @Test func aFailingBeforeSwitchHookAbortsBeforeAnyTrafficMoves() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        let site = host.read(host.layout.nginxSiteFile)
        host.hooks = HooksConfig(beforeSwitch: [Hook(command: "refuse", timeoutMs: 2000)])
        host.system.jobResults["refuse"] = CommandResult(status: 1, output: "not today", errorOutput: "")
        #expect(try await host.deploy("2.0.0") != 0)
        #expect(host.outcome?.result == .rolledBack)
        #expect(host.outcome?.message == "the before_switch hook 'refuse' exited with status 1: not today")
        #expect(host.read(host.layout.nginxSiteFile) == site)
        #expect(!host.system.active.contains("hello.production.web@green.service"))
        let entry = try #require(try StateStore(layout: host.layout).history(limit: 1).first)
        #expect(entry.result == .rolledBack)
        #expect(entry.hooks?.first?.status == 1)
    }

    @Test func aFailingAfterSwitchHookIsAWarningTheReleaseServes() async throws {
        let host = try Host()
        host.hooks = HooksConfig(afterSwitch: [Hook(command: "warm")])
        host.system.jobResults["warm"] = CommandResult(status: 2, output: "", errorOutput: "cache down")
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(host.outcome?.result == .deployed)
        #expect(host.warnings.contains { $0.contains("the after_switch hook 'warm' exited with status 2: cache down") })
    }

    @Test func withoutChecksOrHooksTheGateStepsAreSkipped() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        for name in ["after-release", "smoke", "before-switch", "after-switch"] {
            #expect(host.stepLines.contains("\(name) skipped"))
        }
        #expect(host.system.jobs.isEmpty)
    }
}

/// The migration step and `migrate-rollback`, with `FakeSystem`.
@Suite struct MigrationTests {
    @Test func theMigrationRunsInTheNewReleaseBeforeItStartsAndAFailureLeavesTheOldOneServing() async throws {
        let host = try Host()
        host.migrate = Hook(command: "python3 manage.py migrate", timeoutMs: 60_000)
        #expect(try await host.deploy("1.0.0") == 0)
        let job = try #require(host.system.jobs.first)
        #expect(job.workingDirectory == host.layout.releaseDir(host.id("1.0.0")))
        #expect(job.user == host.layout.serviceUser && job.timeoutMs == 60_000)
        #expect(job.environmentFiles == [host.layout.envFile])
        #expect(job.unit.hasPrefix("hello.production.migrate-"))
        let log = host.system.log
        #expect(log.firstIndex(of: "job python3 manage.py migrate")! < log.firstIndex { $0.hasPrefix("start ") }!)
        #expect(host.stepLines.contains("migrate done"))
        #expect(host.outcome?.hooks?.map(\.point) == ["migrate"])

        let site = host.read(host.layout.nginxSiteFile)
        host.system.jobResults["python3 manage.py migrate"] = CommandResult(
            status: 1, output: "Applying notes.0003_broken...", errorOutput: "django.db.utils.ProgrammingError: column exists")
        #expect(try await host.deploy("2.0.0") != 0)
        #expect(host.outcome?.result == .rolledBack)
        #expect(host.outcome?.message == "the migration 'python3 manage.py migrate' exited with status 1: Applying notes.0003_broken... / django.db.utils.ProgrammingError: column exists")
        #expect(host.stepLines.contains("migrate failed"))
        #expect(!host.stepLines.contains { $0.hasPrefix("start") })
        #expect(host.read(host.layout.nginxSiteFile) == site)
        #expect(try host.manifest()?.current?.id == host.id("1.0.0"))
        let entry = try #require(try StateStore(layout: host.layout).history(limit: 1).first)
        #expect(entry.hooks?.first?.point == "migrate" && entry.hooks?.first?.status == 1)
    }

    @Test func migrateRollbackRunsInTheServingReleaseWithTheTargetAndChangesNothingElse() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        let before = host.system.log.count
        var plan = host.plan(.migrateRollback, nil)
        plan.migrate = Hook(command: "python3 manage.py migrate notes \"$BERTH_MIGRATE_TARGET\"", timeoutMs: 10_000)
        plan.migrateTarget = "0001"
        #expect(try await host.run(.migrateRollback, plan) == 0)
        let job = try #require(host.system.jobs.last)
        #expect(job.workingDirectory == host.layout.releaseDir(host.id("1.0.0")))
        #expect(job.facts.contains(EnvVar(name: "BERTH_MIGRATE_TARGET", value: "0001")))
        #expect(job.unit.hasPrefix("hello.production.migrate-rollback-"))
        #expect(host.system.log[before...].allSatisfy { $0.hasPrefix("job ") }, "only the job may run: \(host.system.log[before...])")
        #expect(host.outcome?.result == .unchanged)
        let entry = try #require(try StateStore(layout: host.layout).history(limit: 1).first)
        #expect(entry.kind == .migrateRollback && entry.hooks?.first?.point == "migrate_rollback")

        host.system.jobResults[plan.migrate!.command] = CommandResult(status: 2, output: "", errorOutput: "no such migration")
        #expect(try await host.run(.migrateRollback, plan) != 0)
        #expect(host.outcome?.result == .failed)
        #expect(host.outcome?.message?.contains("no such migration") == true)
    }

    @Test func aMigrateRollbackPlanWithoutItsCommandIsRefused() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(try await host.run(.migrateRollback, host.plan(.migrateRollback, nil)) == 2)
    }
}

/// The watch window after the switch, in whole activations with `FakeSystem`.
@Suite struct WatchTests {
    static let green = "hello.production.web@green.service"
    static let blue = "hello.production.web@blue.service"

    @Test func aReleaseThatFailsInTheWindowIsSwitchedBackToTheStillRunningOldSlot() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        let site = host.read(host.layout.nginxSiteFile)
        let unit = host.read(host.layout.templateUnitFile(service: "web"))
        host.watch = WatchConfig(durationMs: 2_000, intervalMs: 10, failures: 2)
        // The health gate asks once; the watch window's rounds see it dead.
        host.system.failsAfterStateChecks[Self.green] = 1
        #expect(try await host.deploy("2.0.0") != 0)
        let outcome = try #require(host.outcome)
        #expect(outcome.result == .rolledBack)
        #expect(outcome.switchedBack == true)
        #expect(outcome.message?.hasPrefix("release \(ReleaseRef.shortID(host.id("2.0.0"))) failed its watch window (the watch window saw 2 failed round(s) of checks in a row") == true)
        #expect(outcome.message?.contains("\(Self.green) is failed (signal)") == true)
        #expect(outcome.message?.hasSuffix("traffic was switched back to 1.0.0 in the blue slot.") == true)
        let lines = host.stepLines
        #expect(lines.contains("switch done") && lines.contains("watch failed"))
        #expect(!lines.contains { $0.hasPrefix("stop-old") || $0.hasPrefix("record") })
        #expect(host.read(host.layout.nginxSiteFile) == site)
        #expect(host.read(host.layout.templateUnitFile(service: "web")) == unit)
        #expect(host.system.active.contains(Self.blue))
        #expect(!host.system.active.contains(Self.green))
        #expect(!FileManager.default.fileExists(atPath: host.layout.intentFile))
        #expect(try host.manifest()?.current?.id == host.id("1.0.0"))
        let entry = try #require(try StateStore(layout: host.layout).history(limit: 1).first)
        #expect(entry.result == .rolledBack && entry.switchedBack == true)
        #expect(entry.steps.map(\.step).contains("watch"))
        // The next deploy finds a host in order: nothing to repair.
        host.system.failsAfterStateChecks = [:]
        host.watch = nil
        #expect(try await host.deploy("3.0.0") == 0)
        #expect(!host.warnings.contains { $0.contains("repair") })
    }

    @Test func aReleaseThatKeepsRunningPassesTheWindowAndOnlyThenIsTheOldSlotStopped() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        host.watch = WatchConfig(durationMs: 60, intervalMs: 10, failures: 2)
        #expect(try await host.deploy("2.0.0") == 0)
        #expect(host.outcome?.result == .deployed && host.outcome?.switchedBack == nil)
        let lines = host.stepLines
        let order = ["switch done", "drain done", "watch done", "stop-old done", "record done"]
        #expect(order.allSatisfy(lines.contains))
        #expect(order.map { lines.firstIndex(of: $0)! } == order.map { lines.firstIndex(of: $0)! }.sorted())
        let watched = try #require(host.outcome?.steps.first { $0.step == "watch" })
        #expect(watched.ms >= 60)
        #expect(!host.system.active.contains(Self.blue))
    }

    @Test func aFirstDeployHasNothingToSwitchBackToSoItIsNotWatched() async throws {
        let host = try Host()
        host.watch = WatchConfig(durationMs: 5_000)
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(host.stepLines.contains("watch skipped"))
    }

    @Test func routedServicesAreCheckedThroughNginxOthersOnTheirSlotPort() {
        let health = HealthCheck(path: "/health", intervalMs: 50, timeoutMs: 700, attempts: 3)
        let web = ServicePlan(name: "web", command: "x", port: 8000, health: health, proxied: true, stopTimeoutMs: 1000)
        let api = ServicePlan(name: "api", command: "x", port: 8010, health: health, proxied: false, stopTimeoutMs: 1000)
        let worker = ServicePlan(name: "worker", command: "x", port: nil, health: nil, proxied: false, stopTimeoutMs: 1000)
        let plan = DeployPlan(kind: .deploy, app: "hello", env: "production", host: "h1", release: nil,
                              services: [web, api, worker],
                              proxy: ProxyConfig(listen: 8080, sites: [ProxySite(domains: ["hello.test", "www.hello.test"], service: "web")]),
                              environment: [], keepReleases: 5, sharedDirs: [], requestedBy: Samples.requester)
        #expect(WatchWindow.checks(plan: plan, services: plan.services, slot: .green) == [
            .throughNginx(service: "web", port: 8080, host: "hello.test", path: "/health", timeoutMs: 700),
            .direct(service: "api", port: 8011, path: "/health", timeoutMs: 700),
            .running(unit: "hello.production.web@green.service"),
            .running(unit: "hello.production.api@green.service"),
            .running(unit: "hello.production.worker@green.service"),
        ])
    }
}

@Suite struct SmokeJudgeTests {
    static func answer(_ status: Int, _ body: String, ms: Int = 5) -> HTTPProbe.Answer {
        HTTPProbe.Answer(result: .status(status, reason: "X"), body: Array(body.utf8), milliseconds: ms)
    }

    @Test func statusBodyJSONAndLatencyAreEachChecked() {
        var check = SmokeCheck(path: "/api", contains: "ok")
        #expect(SmokeGate.judge(check, Self.answer(200, "all ok")) == nil)
        #expect(SmokeGate.judge(check, Self.answer(503, "down")) == "expected status 200, got 503 X")
        #expect(SmokeGate.judge(check, Self.answer(200, "fine")) == "expected the body to contain \"ok\", got \"fine\"")
        check = SmokeCheck(path: "/api", json: [JSONExpectation(field: "db.ready", value: .bool(true)),
                                               JSONExpectation(field: "items.1", value: .number(2))])
        #expect(SmokeGate.judge(check, Self.answer(200, #"{"db": {"ready": true}, "items": [1, 2]}"#)) == nil)
        #expect(SmokeGate.judge(check, Self.answer(200, #"{"db": {"ready": false}, "items": [1, 2]}"#))
            == "expected JSON field db.ready to be true, got false")
        #expect(SmokeGate.judge(check, Self.answer(200, #"{"items": [1, 2]}"#))
            == "expected JSON field db.ready to be true, the body has no such field")
        #expect(SmokeGate.judge(check, Self.answer(200, "<html>")) == "expected a JSON body, got \"<html>\"")
        check = SmokeCheck(path: "/", maxLatencyMs: 100)
        #expect(SmokeGate.judge(check, Self.answer(200, "", ms: 101)) == "expected an answer within 100 ms, it took 101 ms")
        #expect(SmokeGate.judge(check, HTTPProbe.Answer(result: .refused, body: [], milliseconds: 1))
            == "expected status 200, got connection refused (after 1 ms)")
    }

    @Test func aRealAnswerIsSplitIntoStatusAndBody() {
        let reply = Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\r\n\r\nworld".utf8)
        let end = HTTPProbe.headerEnd(reply)
        #expect(end.map { String(decoding: reply[$0...], as: UTF8.self) } == "hello\r\n\r\nworld")
    }
}

/// The engine's pre-flight: every failed check at once, nothing changed.
@Suite struct PreflightRunTests {
    @Test func everyFailedCheckIsReportedAndNothingChanges() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        let log = host.system.log.count
        host.system.nginxComplaint = "unknown directive \"sevrer\" in /etc/nginx/conf.d/broken.conf:1"
        var plan = host.plan(.deploy, host.release("2.0.0"))
        plan.preflight = PreflightChecks(minimumFreeBytes: Int.max / 4,
                                         reach: [Endpoint(variable: "DATABASE_URL", host: "127.0.0.1", port: 1)])
        plan.environment.append(EnvVar(name: "DATABASE_URL", value: "postgres://u:pw@127.0.0.1:1/x"))
        #expect(try await host.run(.preflight, plan) == 0)
        let findings = try #require(host.events.events.last { $0.event == .preflight }?.findings)
        #expect(findings.map(\.check) == ["disk", "nginx", "reach"])
        #expect(findings.allSatisfy { $0.host == "h1" && !$0.fix.isEmpty })
        #expect(findings[1].message.contains("unknown directive"))
        #expect(findings[2].message == "DATABASE_URL names 127.0.0.1:1, which this host cannot reach (connection refused)")
        #expect(host.system.log.count == log + 1, "only nginx -t may run: \(host.system.log[log...])")
        #expect(try host.manifest()?.current?.id == host.id("1.0.0"))
    }

    @Test func aHostThatCanTakeTheDeployHasNoFindings() async throws {
        let host = try Host()
        var plan = host.plan(.deploy, host.release("1.0.0"))
        plan.preflight = PreflightChecks(minimumFreeBytes: 1)
        #expect(try await host.run(.preflight, plan) == 0)
        #expect(host.events.events.last { $0.event == .preflight }?.findings == [])
    }
}

/// Maintenance mode with `FakeSystem`: the site serves the page, services keep running, later
/// deploys keep it and pre-flight says so, off routes again.
@Suite struct MaintenanceTests {
    func plan(_ host: Host, on: Bool) -> DeployPlan {
        var plan = host.plan(.maintenance, nil)
        plan.maintenance = MaintenanceSwitch(on: on, page: on ? "<h1>back soon</h1>" : nil, retryAfterSeconds: 120)
        return plan
    }

    @Test func onServesThePageWith503WhileTheServicesRunAndOffRoutesAgain() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        let routed = host.read(host.layout.nginxSiteFile)
        #expect(try await host.run(.maintenance, plan(host, on: true)) == 0)
        let site = try #require(host.read(host.layout.nginxSiteFile))
        #expect(site.contains("return 503;") && site.contains("add_header Retry-After 120 always;"))
        #expect(site.contains("root \(host.layout.maintenanceDir);"))
        #expect(!site.contains("proxy_pass"))
        #expect(host.read(host.layout.maintenanceDir + "/" + NginxSite.maintenancePage) == "<h1>back soon</h1>")
        #expect(host.system.active.contains("hello.production.web@blue.service"))
        #expect(!host.system.log.contains { $0.hasPrefix("stop ") })

        try await host.status()
        #expect(host.events.events.last { $0.event == .state }?.maintenance?.retryAfterSeconds == 120)

        // Pre-flight says so; a deploy (forced past it) keeps the site in maintenance and is not watched.
        var check = host.plan(.deploy, host.release("2.0.0"))
        check.preflight = PreflightChecks(minimumFreeBytes: 1)
        #expect(try await host.run(.preflight, check) == 0)
        #expect(host.events.events.last { $0.event == .preflight }?.findings?.map(\.check) == ["maintenance"])
        host.watch = WatchConfig(durationMs: 5_000)
        #expect(try await host.deploy("2.0.0") == 0)
        #expect(host.stepLines.contains("watch skipped"))
        #expect(host.read(host.layout.nginxSiteFile)?.contains("return 503;") == true)

        #expect(try await host.run(.maintenance, plan(host, on: false)) == 0)
        let back = try #require(host.read(host.layout.nginxSiteFile))
        #expect(back.contains("proxy_pass") && !back.contains("return 503;"))
        #expect(back.contains("server 127.0.0.1:47011;") && routed?.contains("server 127.0.0.1:47010;") == true, "routes to the new green slot")
        #expect(!FileManager.default.fileExists(atPath: host.layout.maintenanceFile))
        let entry = try #require(try StateStore(layout: host.layout).history(limit: 1).first)
        #expect(entry.kind == .maintenance && entry.message?.hasPrefix("maintenance mode is off") == true)
    }

    @Test func nothingDeployedHasNoSiteToPutIntoMaintenance() async throws {
        let host = try Host()
        #expect(try await host.run(.maintenance, plan(host, on: true)) == 2)
        #expect(host.events.events.last { $0.event == .error }?.message?.contains("deploy first") == true)
    }
}
