import BerthCore
import Testing

@Suite struct PlannerTests {
    static let app = AppConfig(
        name: "shop",
        release: ReleaseConfig(path: "app", keep: 3, shared: ["media"]),
        hosts: [
            HostConfig(name: "web1", address: "10.0.0.5", roles: ["web"]),
            HostConfig(name: "sched", address: "10.0.0.6", roles: ["scheduler"], optional: true),
        ],
        services: [
            ServiceConfig(name: "web", command: "python3 server.py", role: "web", port: 8000,
                          health: HealthCheck(), proxied: true),
            ServiceConfig(name: "scheduler", command: "python3 worker.py", role: "scheduler"),
        ],
        proxy: ProxyConfig(sites: [ProxySite(domains: ["shop.test"], service: "web")]),
        environments: [
            EnvironmentConfig(name: "production", hosts: ["web1", "sched"]),
            EnvironmentConfig(name: "staging", hosts: ["web1"], portOffset: 100,
                              proxy: ProxyConfig(listen: 8080, sites: [ProxySite(domains: ["staging.shop.test"], service: "web")])),
        ])
    let planner = Planner(app: PlannerTests.app)
    let release = ReleaseRef(id: "0123456789abcdef", label: "v1", createdAt: "2026-11-27T00:00:00Z")
    let me = Requester(user: "ci", machine: "runner", pid: 42, command: "berth deploy")

    @Test func hostsComeInTheEnvironmentsOrder() throws {
        #expect(try planner.hosts(in: "production").map(\.name) == ["web1", "sched"])
    }

    @Test func unknownEnvironmentSaysWhichExist() {
        #expect(throws: PlanError.unknownEnvironment("prod", known: ["production", "staging"])) {
            try planner.hosts(in: "prod")
        }
        #expect(PlanError.unknownEnvironment("prod", known: ["production", "staging"]).description
            == "there is no environment 'prod' in the app file; choose one of: production, staging.")
    }

    @Test func aHostRunsOnlyTheServicesOfItsRoles() throws {
        let plan = try planner.deployPlan(env: "production", host: Self.app.hosts[1], release: release, settings: [], requestedBy: me)
        #expect(plan.services.map(\.name) == ["scheduler"])
        #expect(plan.proxy == nil)
    }

    @Test func stagingShiftsPortsAndUsesItsOwnProxy() throws {
        let plan = try planner.deployPlan(env: "staging", host: Self.app.hosts[0], release: release,
                                          settings: [EnvVar(name: "A", value: "1")], requestedBy: me)
        #expect(plan.services.first?.port == 8100)
        #expect(plan.services.first?.port(in: .green) == 8101)
        #expect(plan.proxy == ProxyConfig(listen: 8080, sites: [ProxySite(domains: ["staging.shop.test"], service: "web")]))
        #expect(plan.environment == [EnvVar(name: "A", value: "1")])
        #expect(plan.keepReleases == 3)
        #expect(plan.sharedDirs == ["media"])
        #expect(plan.layout.appDir == "/var/lib/berth/apps/shop/staging")
    }

    @Test func rollbackWithoutReleaseMeansThePreviousOne() throws {
        let plan = try planner.rollbackPlan(env: "production", host: Self.app.hosts[0], to: nil, settings: [], requestedBy: me)
        #expect(plan.kind == .rollback)
        #expect(plan.release == nil)
    }
}

@Suite struct RolloutTests {
    let hosts = ["a", "b", "c", "d", "e"]

    @Test func countBatchesKeepTheHostOrder() {
        #expect(RolloutConfig(batch: .count(2)).batches(hosts) == [["a", "b"], ["c", "d"], ["e"]])
    }

    @Test func percentRoundsUpAndNeverGoesBelowOneHost() {
        #expect(RolloutConfig(batch: .percent(25)).batches(hosts) == [["a", "b"], ["c", "d"], ["e"]])
        #expect(RolloutConfig(batch: .percent(1)).batches(hosts).count == 5)
        #expect(RolloutConfig(batch: .percent(100)).batches(hosts) == [hosts])
    }

    @Test func withoutRolloutAllHostsGoInOneBatch() throws {
        #expect(try Planner(app: PlannerTests.app).batches(in: "production").map { $0.map(\.name) } == [["web1", "sched"]])
    }

    @Test func anEnvironmentsRolloutWinsOverTheApps() throws {
        var app = PlannerTests.app
        app.rollout = RolloutConfig(batch: .percent(100))
        app.environments[0].rollout = RolloutConfig(batch: .count(1))
        #expect(try Planner(app: app).batches(in: "production").map { $0.map(\.name) } == [["web1"], ["sched"]])
    }
}
