import BerthCore
import Testing
@testable import BerthConfig

@Suite struct SmokeSectionTests {
    @Test func httpAndCommandChecksParse() throws {
        let service = try #require(try config(top: """
            services:
              web:
                command: python3 server.py
                role: web
                port: 8000
                smoke:
                  - path: /api/status
                    host: shop.example.com
                    contains: ok
                    json: { status: ok, db.ready: true, count: 3, gone: null }
                    max_latency: 500ms
                  - method: HEAD
                    path: /
                    status: 204
                  - command: ./selfcheck
                    timeout: 30s
            """).services.first)
        #expect(service.smoke == [
            SmokeCheck(path: "/api/status", host: "shop.example.com", contains: "ok",
                       json: [JSONExpectation(field: "status", value: .string("ok")), JSONExpectation(field: "db.ready", value: .bool(true)),
                              JSONExpectation(field: "count", value: .number(3)), JSONExpectation(field: "gone", value: .null)],
                       maxLatencyMs: 500),
            SmokeCheck(method: "HEAD", path: "/", status: 204),
            SmokeCheck(command: "./selfcheck", timeoutMs: 30_000),
        ])
    }

    @Test func badChecksSayWhatAndWhere() {
        #expect(problems(top: """
            services:
              web:
                command: run
                role: web
                port: 8000
                smoke:
                  - path: /a
                    command: ./x
                  - command: ./y
                    status: 200
                  - method: FETCH
                    path: /b
                  - path: /c
                    host: "evil\\r\\nX-Injected: 1"
                  - contains: ok
            """) == [
            "berth.yml:7:9: a smoke check is either a 'command' or an HTTP check with 'path', not both",
            "berth.yml:10:9: 'status' applies to HTTP smoke checks; a command check has only 'command' and 'timeout'",
            "berth.yml:11:17: 'method' must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, found 'FETCH'",
            "berth.yml:14:15: 'host' must be a single line",
            "berth.yml:15:9: a smoke check of service 'web' needs 'path' (an HTTP check) or 'command'",
        ])
    }

    @Test func aServiceWithoutAPortHasCommandChecksOnly() {
        #expect(problems(top: "services:\n  web:\n    command: run\n    role: web\n  worker:\n    command: work\n    role: web\n    smoke:\n      - path: /health\n") == [
            "berth.yml:9:15: service 'worker' has no port, so its smoke checks can only be commands; add 'port', or use 'command'",
        ])
    }
}

@Suite struct HooksSectionTests {
    @Test func everyPointTakesACommandAListOrMappings() throws {
        let hooks = try config(top: """
            hooks:
              before_deploy: ./check
              after_release:
                - python3 manage.py collectstatic --noinput
                - command: ./compress
                  timeout: 2m
                  user: root
              after_deploy: [./tell, ./log]
            """).hooks
        #expect(hooks.beforeDeploy == [Hook(command: "./check")])
        #expect(hooks.afterRelease == [Hook(command: "python3 manage.py collectstatic --noinput"),
                                       Hook(command: "./compress", timeoutMs: 120_000, user: "root")])
        #expect(hooks.afterDeploy.map(\.command) == ["./tell", "./log"])
        #expect(hooks.onHosts == HooksConfig(afterRelease: hooks.afterRelease))
    }

    @Test func unknownPointsAndLocalUsersAreErrors() {
        #expect(problems(top: "hooks:\n  before_switsh: ./x\n  before_deploy:\n    command: ./y\n    user: root\n") == [
            "berth.yml:2:3: unknown key 'before_switsh' in hooks; did you mean 'before_switch'?",
            "berth.yml:5:11: 'before_deploy' hooks run on the deploying machine as you; 'user' applies to host hooks only",
        ])
    }

    @Test func plansCarryTheHooksConfigAndTheSmokeChecks() throws {
        let app = try config(top: """
            hooks:
              before_deploy: ./local
              before_switch: ./remote
            services:
              web:
                command: run
                role: web
                port: 8000
                smoke:
                  - command: ./selfcheck
            """)
        let planner = Planner(app: app)
        let host = try #require(app.hosts.first)
        let plan = try planner.deployPlan(env: "production", host: host, release: ReleaseRef(id: "a", label: "a", createdAt: ""),
                                          settings: [], requestedBy: Requester(user: "u", machine: "m", pid: 1, command: "c"))
        #expect(plan.hooks == HooksConfig(beforeSwitch: [Hook(command: "./remote")]))
        #expect(plan.services.first?.smoke == [SmokeCheck(command: "./selfcheck")])
    }
}

@Suite struct WatchSectionTests {
    @Test func aDurationOrAMappingAndAnEnvironmentCanTurnItOff() throws {
        let short = try config(top: "watch: 30s\n")
        #expect(short.watch == WatchConfig(durationMs: 30_000, intervalMs: 1_000, failures: 3))
        let app = try config(top: """
            watch: {for: 2m, interval: 2s, failures: 5}
            environments:
              production:
                hosts: [web1]
              staging:
                hosts: [web1]
                port_offset: 100
                watch: false
              canary:
                hosts: [web1]
                port_offset: 200
                watch: 10s
            """)
        #expect(app.watch == WatchConfig(durationMs: 120_000, intervalMs: 2_000, failures: 5))
        let planner = Planner(app: app)
        #expect(planner.watch(in: try planner.environment("production")) == app.watch)
        #expect(planner.watch(in: try planner.environment("staging")) == nil)
        #expect(planner.watch(in: try planner.environment("canary")) == WatchConfig(durationMs: 10_000))
    }

    @Test func badValuesSayWhatAndWhere() {
        #expect(problems(top: "watch: false\n") == [
            "berth.yml:1:8: 'watch' takes a duration such as 30s (leave it out for no watch window)",
        ])
        #expect(problems(top: "watch: {for: 1s, interval: 2s, failures: 0, every: 1s}\n") == [
            "berth.yml:1:28: the watch interval (2000 ms) is longer than the window (1000 ms); make it shorter",
            "berth.yml:1:42: 'failures' must be between 1 and 100, found 0",
            "berth.yml:1:45: unknown key 'every' in watch; allowed keys: for, interval, failures",
        ])
    }
}

@Suite struct MigrateSectionTests {
    @Test func aCommandOrAMappingWithItsRollback() throws {
        let short = try config(top: "migrate: python3 manage.py migrate --noinput\n")
        #expect(short.migrate == MigrateConfig(run: Hook(command: "python3 manage.py migrate --noinput", timeoutMs: 600_000)))
        let app = try config(top: """
            migrate:
              command: sqlx migrate run
              role: web
              timeout: 2m
              user: root
            migrate_rollback: sqlx migrate revert --target-version "$BERTH_MIGRATE_TARGET"
            hosts:
              web1:
                address: 10.0.0.5
                roles: [web]
              web2:
                address: 10.0.0.6
                roles: [web]
              jobs:
                address: 10.0.0.7
                roles: [jobs]
            services:
              web:
                command: python3 server.py
                role: web
                port: 8000
              queue:
                command: python3 worker.py
                role: jobs
            environments:
              production:
                hosts: [jobs, web2, web1]
            """)
        #expect(app.migrate == MigrateConfig(run: Hook(command: "sqlx migrate run", timeoutMs: 120_000, user: "root"), role: "web",
                                             rollback: Hook(command: #"sqlx migrate revert --target-version "$BERTH_MIGRATE_TARGET""#,
                                                            timeoutMs: 600_000)))
        let planner = Planner(app: app)
        #expect(try planner.migrationHosts(in: "production").map(\.name) == ["web2", "web1"])
        let requester = Requester(user: "u", machine: "m", pid: 1, command: "berth")
        let release = ReleaseRef(id: String(repeating: "a", count: 64), label: "1", createdAt: "")
        let host = try #require(app.host(named: "web2"))
        let plan = try planner.deployPlan(env: "production", host: host, release: release, settings: [], requestedBy: requester)
        #expect(plan.migrate == nil, "only the host the deploying machine picks migrates")
        #expect(planner.migrating(plan).migrate == app.migrate?.run)
        #expect(try planner.publishRequest(env: "production", release: release, settings: [], keys: [], requestedBy: requester) == nil,
                "no release store here")
        let undo = try #require(try planner.migrateRollbackPlan(env: "production", host: host, target: "20240101", settings: [],
                                                                requestedBy: requester))
        #expect(undo.kind == .migrateRollback && undo.migrate == app.migrate?.rollback && undo.migrateTarget == "20240101")
        #expect(undo.release == nil && undo.hooks == nil && undo.catchUp == nil)
    }

    @Test func badValuesSayWhatAndWhere() {
        #expect(problems(top: "migrate_rollback: undo\n") == [
            "berth.yml:1:1: 'migrate_rollback' undoes what 'migrate' does, and there is no 'migrate'; add 'migrate' or remove 'migrate_rollback'",
        ])
        #expect(problems(top: "migrate: {command: run, role: db}\n") == [
            "berth.yml:1:31: no host of environment 'production' has role 'db', where the migration runs; give one of its hosts that role or set 'role' in migrate",
        ])
        #expect(problems(top: "migrate: {run: x}\n") == [
            "berth.yml:1:10: missing required key 'command' in migrate",
            "berth.yml:1:11: unknown key 'run' in migrate; allowed keys: command, role, timeout, user",
        ])
    }
}

@Suite struct PreflightSectionTests {
    @Test func everyKeyParses() throws {
        let app = try config(top: "preflight: {disk_free: 1.5G, git: clean, required: [SECRET_KEY, DATABASE_URL], reach: [DATABASE_URL]}\n")
        #expect(app.preflight == PreflightConfig(diskFreeBytes: 1_610_612_736, gitClean: true, required: ["SECRET_KEY", "DATABASE_URL"],
                                                 reach: ["DATABASE_URL"]))
        #expect(try config(top: "preflight: {disk_free: 500M, git: false}\n").preflight == PreflightConfig(diskFreeBytes: 500 << 20))
        #expect(try config(top: "preflight: {disk_free: 2048}\n").preflight?.diskFreeBytes == 2048)
    }

    @Test func badValuesSayWhatAndWhere() {
        #expect(problems(top: "preflight: {disk_free: lots, git: dirty, required: [9LIVES]}\n") == [
            "berth.yml:1:24: expected a size such as 500M, 5G or 1.5G for 'disk_free', found 'lots'",
            "berth.yml:1:35: 'git' takes 'clean' (the app's folder must be committed and not behind its upstream) or false",
            "berth.yml:1:53: '9LIVES' is not an env var name (letters, digits and '_', not starting with a digit)",
        ])
    }
}
