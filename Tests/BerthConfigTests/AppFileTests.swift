import BerthCore
import Testing
@testable import BerthConfig

@Suite struct AppFileTests {
    @Test func theFullExampleBuildsEveryField() throws {
        let app = try AppFile.parse(yaml: try Fixture.text("valid.yml"), file: "berth.yml")
        #expect(app.name == "hello")
        #expect(app.release == ReleaseConfig(path: "app", build: "./build.sh", keep: 5, shared: ["media"]))
        #expect(app.hosts == [
            HostConfig(name: "web1", address: "10.0.0.5", user: "deploy", port: 22, roles: ["web", "scheduler"],
                       optional: false),
        ])
        #expect(app.services == [
            ServiceConfig(name: "web", command: "python3 server.py", role: "web", port: 8000,
                          health: HealthCheck(path: "/health", intervalMs: 100, timeoutMs: 2_000, attempts: 100),
                          proxied: true, stopTimeoutMs: 10_000),
            ServiceConfig(name: "worker", command: "python3 worker.py", role: "scheduler", port: nil, health: nil,
                          proxied: false, stopTimeoutMs: 10_000, user: "www-data", sandbox: true,
                          hardening: [UnitDirective("ProtectHome", "read-only")]),
        ])
        #expect(app.proxy == ProxyConfig(listen: 80, sites: [
            ProxySite(domains: ["hello.example.com", "www.hello.example.com"], service: "web"),
        ]))
        #expect(app.environments == [
            EnvironmentConfig(name: "production", hosts: ["web1"], envFiles: [".env.production"], portOffset: 0,
                              proxy: ProxyConfig(listen: 80, sites: [
                                  ProxySite(domains: ["staging.hello.example.com"], service: "web"),
                              ])),
        ])
    }

    /// The app file of `Examples/hello`, as the CLI's example writes it.
    @Test func theHelloExampleParses() throws {
        let app = try AppFile.parse(yaml: try Fixture.text("hello.yml"), file: "berth.yml")
        #expect(app.name == "hello")
        #expect(app.release == ReleaseConfig(path: "app", keep: 5, shared: ["media"]))
        #expect(app.hosts == [
            HostConfig(name: "h1", address: "h1", roles: ["web"]),
            HostConfig(name: "h2", address: "h2", roles: ["web"]),
        ])
        #expect(app.services.map(\.name) == ["web", "worker"])
        #expect(app.services[0].port == 8000)
        #expect(app.services[0].health?.path == "/health")
        #expect(app.services[0].proxied)
        #expect(app.services[1] == ServiceConfig(name: "worker", command: "python3 worker.py", role: "web"))
        #expect(app.proxy == ProxyConfig(listen: 80, sites: [ProxySite(domains: ["hello.test"], service: "web")]))
        #expect(app.environments == [
            EnvironmentConfig(name: "production", hosts: ["h1", "h2"], envFiles: [".env.production"]),
            EnvironmentConfig(name: "staging", hosts: ["h1"], envFiles: [".env.staging"], portOffset: 100,
                              proxy: ProxyConfig(sites: [ProxySite(domains: ["staging.hello.test"], service: "web")])),
        ])
    }

    @Test func mappingOrderIsKept() throws {
        let app = try config(top: """
            hosts:
              zeta: {address: z, roles: [web]}
              alpha: {address: a, roles: [web]}
            services:
              web: {command: run web, role: web, port: 8000}
              api: {command: run api, role: web, port: 9000}
              cron: {command: run cron, role: web}
            environments:
              prod: {hosts: [alpha]}
              beta: {hosts: [zeta, alpha], port_offset: 10}
            """)
        #expect(app.hosts.map(\.name) == ["zeta", "alpha"])
        #expect(app.services.map(\.name) == ["web", "api", "cron"])
        #expect(app.environments.map(\.name) == ["prod", "beta"])
        #expect(app.environments[1].hosts == ["zeta", "alpha"])
    }

    @Test func theProxyDefaultsToNoSitesOnPort80() throws {
        let app = try config(top: "app: hello")
        #expect(app.proxy == ProxyConfig(listen: 80, sites: []))
        #expect(app.services[0].proxied == false)
    }

    @Test func anEmptyFileSaysWhatItNeeds() {
        let expected = ["berth.yml:1:1: the app file is empty; it needs the keys app, release, hosts, services and environments"]
        #expect(problems("") == expected)
        #expect(problems("# only a comment\n") == expected)
    }

    @Test func theFileMustBeAMapping() {
        #expect(problems("- app\n- hello\n") == [
            "berth.yml:1:1: the app file must be a mapping with the keys app, release, hosts, services and environments, found a list",
        ])
    }

    @Test func missingTopLevelKeysPointAtTheFileStart() {
        #expect(problems("# hello\napp: hello\n") == [
            "berth.yml:2:1: missing required key 'release' at the top level",
            "berth.yml:2:1: missing required key 'hosts' at the top level",
            "berth.yml:2:1: missing required key 'services' at the top level",
            "berth.yml:2:1: missing required key 'environments' at the top level",
        ])
    }

    @Test func unknownTopLevelKeysSuggestTheClosest() {
        #expect(problems("app: hello\nservces: {}\n") == [
            "berth.yml:1:1: missing required key 'release' at the top level",
            "berth.yml:1:1: missing required key 'hosts' at the top level",
            "berth.yml:1:1: missing required key 'services' at the top level",
            "berth.yml:1:1: missing required key 'environments' at the top level",
            "berth.yml:2:1: unknown key 'servces' at the top level; did you mean 'services'?",
        ])
        #expect(problems(top: "version: 2\n") == [
            "berth.yml:1:1: unknown key 'version' at the top level; allowed keys: app, release, hosts, services, proxy, rollout, notify, release_store, environments, hooks, watch, migrate, migrate_rollback, preflight, maintenance",
        ])
    }

    @Test func theAppNameIsASafeName() throws {
        #expect(try config(top: "app: shop_2-eu").name == "shop_2-eu")
        let rule = "use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        #expect(problems(top: "app: Shop\n") == ["berth.yml:1:6: 'Shop' is not a valid app name; \(rule)"])
        #expect(problems(top: "app: ../etc\n") == ["berth.yml:1:6: '../etc' is not a valid app name; \(rule)"])
        #expect(problems(top: "app: -shop\n") == ["berth.yml:1:6: '-shop' is not a valid app name; \(rule)"])
        #expect(problems(top: "app: \"my app\"\n") == ["berth.yml:1:6: 'my app' is not a valid app name; \(rule)"])
        #expect(problems(top: "app: [hello]\n") == ["berth.yml:1:6: expected an app name for 'app', found a list"])
        #expect(problems(top: "app:\n") == ["berth.yml:1:5: expected an app name for 'app', found nothing"])
    }

    /// One run reports every problem, in file order, each at its own place.
    @Test func everyProblemIsReportedAtOnce() {
        #expect(problems("""
            app: Hello
            release:
              path: app
              keep: 0
            hosts:
              web1:
                adress: 10.0.0.5
                roles: [web]
            services:
              web:
                command: python3 server.py
                role: wbe
                port: 80
            environments:
              production:
                hosts: [web2]
            """) == [
            "berth.yml:1:6: 'Hello' is not a valid app name; use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit",
            "berth.yml:4:9: 'keep' must be between 1 and 100, found 0",
            "berth.yml:7:5: unknown key 'adress' in host 'web1'; did you mean 'address'?",
            "berth.yml:7:5: missing required key 'address' in host 'web1'",
            "berth.yml:12:11: no host has role 'wbe'; did you mean 'web'?",
            "berth.yml:13:11: 'port' must be between 1024 and 65534, found 80",
            "berth.yml:16:13: unknown host 'web2'; did you mean 'web1'?",
        ])
    }

    @Test func errorsPrintOnePerLine() throws {
        let error = try #require(throws: ConfigErrors.self) {
            try AppFile.parse(yaml: "app: hello\n", file: "shop/berth.yml")
        }
        #expect(error.description == """
            shop/berth.yml:1:1: missing required key 'release' at the top level
            shop/berth.yml:1:1: missing required key 'hosts' at the top level
            shop/berth.yml:1:1: missing required key 'services' at the top level
            shop/berth.yml:1:1: missing required key 'environments' at the top level
            """)
        #expect(error.errors[0] == ConfigError(location: SourceLocation(file: "shop/berth.yml", line: 1, column: 1),
                                               message: "missing required key 'release' at the top level"))
    }
}
