import BerthCore
import Testing
@testable import BerthConfig

@Suite struct ServicesSectionTests {
    @Test func aServiceWithAPortGetsTheDefaultHealthCheck() throws {
        let services = try config(top: """
            services:
              web:
                command: python3 server.py --port ${PORT}
                role: web
                port: 8000
              worker:
                command: python3 worker.py
                role: web
                stop_timeout: 1m
            """).services
        #expect(services == [
            ServiceConfig(name: "web", command: "python3 server.py --port ${PORT}", role: "web", port: 8000,
                          health: HealthCheck(path: "/health", intervalMs: 100, timeoutMs: 2_000, attempts: 100),
                          proxied: false, stopTimeoutMs: 10_000),
            ServiceConfig(name: "worker", command: "python3 worker.py", role: "web", port: nil, health: nil,
                          proxied: false, stopTimeoutMs: 60_000),
        ])
    }

    @Test func commandAndRoleAreRequired() {
        #expect(problems(top: "services:\n  web:\n    port: 8000\n") == [
            "berth.yml:3:5: missing required key 'command' in service 'web'",
            "berth.yml:3:5: missing required key 'role' in service 'web'",
        ])
    }

    @Test func theCommandIsOneNonEmptyLine() {
        #expect(problems(top: "services:\n  web:\n    command: \"\"\n    role: web\n") == [
            "berth.yml:3:14: 'command' must not be empty",
        ])
        #expect(problems(top: "services:\n  web:\n    command: |\n      cd app\n      ./run\n    role: web\n") == [
            "berth.yml:3:14: 'command' must be a single line",
        ])
        #expect(problems(top: "services:\n  web:\n    command: \"run\\0\"\n    role: web\n") == [
            "berth.yml:3:14: 'command' must not contain NUL characters",
        ])
        #expect(problems(top: "services:\n  web:\n    command: [python3, server.py]\n    role: web\n") == [
            "berth.yml:3:14: expected a command for 'command', found a list",
        ])
    }

    @Test func serviceNamesAreSafeNames() {
        #expect(problems(top: "services:\n  web.api:\n    command: run\n    role: web\n") == [
            "berth.yml:2:3: 'web.api' is not a valid service name; use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit",
        ])
    }

    @Test func theRoleIsAName() {
        #expect(problems(top: "services:\n  web:\n    command: run\n    role: Web\n") == [
            "berth.yml:4:11: 'Web' is not a valid role name; use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit",
        ])
        #expect(problems(top: "services:\n  web:\n    command: run\n    role: [web]\n") == [
            "berth.yml:4:11: expected a role name for 'role', found a list",
        ])
    }

    @Test func thePortIsBetween1024And65534() {
        #expect(problems(top: "services:\n  web: {command: run, role: web, port: 80}\n") == [
            "berth.yml:2:40: 'port' must be between 1024 and 65534, found 80",
        ])
        #expect(problems(top: "services:\n  web: {command: run, role: web, port: 65535}\n") == [
            "berth.yml:2:40: 'port' must be between 1024 and 65534, found 65535",
        ])
        #expect(problems(top: "services:\n  web: {command: run, role: web, port: http}\n") == [
            "berth.yml:2:40: expected a number for 'port', found 'http'",
        ])
    }

    /// Blue listens on `port`, green on `port + 1`: two services need ports at least 2 apart.
    @Test func slotPortsOfTwoServicesMustNotOverlap() throws {
        #expect(problems(top: """
            services:
              web: {command: run, role: web, port: 8000}
              api: {command: run, role: web, port: 8001}
              admin: {command: run, role: web, port: 7999}
              jobs: {command: run, role: web, port: 8000}
            """) == [
            "berth.yml:3:40: service 'api' uses ports 8001 and 8002, which overlap ports 8000 and 8001 of service 'web'; keep service ports at least 2 apart",
            "berth.yml:4:42: service 'admin' uses ports 7999 and 8000, which overlap ports 8000 and 8001 of service 'web'; keep service ports at least 2 apart",
            "berth.yml:5:41: service 'jobs' uses ports 8000 and 8001, which overlap ports 8000 and 8001 of service 'web'; keep service ports at least 2 apart",
        ])
        let services = try config(top: """
            services:
              web: {command: run, role: web, port: 8000}
              api: {command: run, role: web, port: 8002}
            """).services
        #expect(services.map(\.port) == [8000, 8002])
    }

    @Test func stopTimeoutIsADuration() throws {
        let services = try config(top: "services:\n  web: {command: run, role: web, stop_timeout: 2500ms}\n").services
        #expect(services[0].stopTimeoutMs == 2_500)
        #expect(problems(top: "services:\n  web: {command: run, role: web, stop_timeout: soon}\n") == [
            "berth.yml:2:48: expected a duration such as 250ms, 2s, 1.5s or 1m for 'stop_timeout', found 'soon'",
        ])
    }

    @Test func healthNeedsAPort() {
        #expect(problems(top: """
            services:
              worker:
                command: python3 worker.py
                role: web
                health:
                  path: /health
            """) == [
            "berth.yml:5:5: service 'worker' has a health check but no port; add 'port', or remove 'health'",
        ])
    }

    @Test func unknownKeysSuggestTheClosest() {
        #expect(problems(top: "services:\n  web:\n    comand: run\n    command: run\n    role: web\n    replicas: 2\n") == [
            "berth.yml:3:5: unknown key 'comand' in service 'web'; did you mean 'command'?",
            "berth.yml:6:5: unknown key 'replicas' in service 'web'; allowed keys: command, role, port, stop_timeout, health, user, sandbox, hardening, smoke",
        ])
    }

    @Test func theSectionNeedsAtLeastOneService() {
        #expect(problems(top: "services: {}\n") == ["berth.yml:1:11: 'services' must define at least one service"])
        #expect(problems(top: "services:\n") == [
            "berth.yml:1:10: expected a mapping of service names to services for 'services', found nothing",
        ])
    }

    @Test func userSandboxAndHardeningAreRead() throws {
        let services = try config(top: """
            services:
              web:
                command: run
                role: web
                user: root
                sandbox: no
                hardening:
                  PrivateTmp: yes
                  CapabilityBoundingSet:
                  SystemCallFilter: "@system-service @resources"
            """).services
        #expect(services.first?.user == "root")
        #expect(services.first?.sandbox == false)
        #expect(services.first?.hardening == [UnitDirective("PrivateTmp", "yes"), UnitDirective("CapabilityBoundingSet", ""),
                                              UnitDirective("SystemCallFilter", "@system-service @resources")])
    }

    @Test func badUsersAndDirectivesPointAtTheirValue() {
        #expect(problems(top: """
            services:
              web:
                command: run
                role: web
                user: Www Data
                hardening:
                  User: root
                  protect_home: yes
                  PrivateTmp: "yes\\nExecStartPre=/bin/sh"
                  ProtectHome: [a]
            """) == [
            "berth.yml:5:11: 'user' must be a user name of lowercase letters, digits, '_' or '-' (at most 32), found 'Www Data'",
            "berth.yml:7:7: 'User' is set by Berth and cannot be changed in hardening; use 'user', 'command' or 'stop_timeout' instead",
            "berth.yml:8:7: 'protect_home' is not a systemd directive name; write it as in a unit file, e.g. 'ProtectHome'",
            "berth.yml:9:19: the value of 'PrivateTmp' must be one line, not ending in a backslash",
            "berth.yml:10:20: expected a value such as 'yes' or 'read-only' for 'ProtectHome', found a list",
        ])
    }
}
