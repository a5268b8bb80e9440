import BerthCore
import BerthEngine
import Foundation
import Testing

/// The two ends of catch-up that need no network: what a deploy installs on a host, and what the
/// release store keeps. The ssh between them is proven on the testbed (IntegrationTests/CatchUpTests).
@Suite struct CatchUpSetupTests {
    static let source = CatchUpSource(address: "10.0.0.5", port: 22, path: "/srv/store", waitMs: 5_000,
                                      webhook: "http://hooks.test/x")

    @Test func aDeployInstallsTheBootUnitAKeyAndTheSettings() async throws {
        let host = try Host()
        host.catchUp = Self.source
        #expect(try await host.deploy("1.0.0") == 0)
        let key = try #require(host.events.events.first { $0.event == .catchUpKey }?.publicKey)
        #expect(key.hasPrefix("ssh-ed25519 ") && key.hasSuffix(" berth-catchup:hello/production/h1"))
        #expect(host.read(host.layout.catchUpUnitFile) == CatchUpUnit(layout: host.layout).render(waitMs: 5_000))
        #expect(host.link("\(host.layout.systemdDir)/multi-user.target.wants/\(host.layout.catchUpUnitName)") == host.layout.catchUpUnitFile)
        let settings = try JSONDecoder().decode(CatchUpSettings.self, from: Data(contentsOf: URL(fileURLWithPath: host.layout.catchUpSettingsFile)))
        #expect(settings == CatchUpSettings(app: "hello", env: "production", host: "h1", root: host.layout.root,
                                            systemdDir: host.layout.systemdDir, nginxDir: host.layout.nginxDir, source: Self.source))
        let mode = try FileManager.default.attributesOfItem(atPath: host.layout.catchUpDir)[.posixPermissions] as? Int
        #expect(mode == 0o700)

        // The same release again: the key stays, nothing is rewritten, systemd is not reloaded.
        host.system.log = []
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(host.outcome?.result == .unchanged)
        #expect(host.events.events.first { $0.event == .catchUpKey }?.publicKey == key)
        #expect(!host.system.log.contains("daemon-reload"), "\(host.system.log)")

        // Learnt on first use until a deploy pins the store's key; then only that key counts.
        #expect(!FileManager.default.fileExists(atPath: host.layout.catchUpKnownHostsFile))
        host.catchUp?.hostKeys = ["ssh-ed25519 AAAAC3pinned"]
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(host.read(host.layout.catchUpKnownHostsFile) == "berth-release-store ssh-ed25519 AAAAC3pinned\n")

        // Without a release store the unit, its link and the key go away.
        host.catchUp = nil
        #expect(try await host.deploy("2.0.0") == 0)
        #expect(!FileManager.default.fileExists(atPath: host.layout.catchUpUnitFile))
        #expect(!FileManager.default.fileExists(atPath: host.layout.catchUpDir))
        #expect(!host.events.events.contains { $0.event == .catchUpKey })
    }

    @Test func aCatchUpPlanIsAcceptedOnlyAsOne() throws {
        let host = try Host()
        var plan = host.plan(.deploy, Samples.release("abc"))
        plan.kind = .catchUp
        #expect(throws: EngineError.self) { try PlanCheck.validate(plan, command: .deploy) }
        try PlanCheck.validate(plan, kind: .catchUp)
        plan.catchUp = CatchUpSource(address: "-oProxyCommand=x", path: "/srv/store", waitMs: 0)
        #expect(throws: EngineError.self) { try PlanCheck.validate(plan, kind: .catchUp) }
        plan.catchUp = CatchUpSource(address: "10.0.0.5", path: "/srv/store dir", waitMs: 0)
        #expect(throws: EngineError.self) { try PlanCheck.validate(plan, kind: .catchUp) }
        plan.catchUp = CatchUpSource(address: "10.0.0.5", path: "/srv/store", waitMs: 0, hostKeys: ["ssh-ed25519 AAAA\n* ssh-rsa B"])
        #expect(throws: EngineError.self) { try PlanCheck.validate(plan, kind: .catchUp) }
    }
}

@Suite struct CatchUpStoreTests {
    let dir: TemporaryDirectory
    let store: CatchUpStore
    let host: Host

    init() throws {
        dir = try TemporaryDirectory("berth-store-tests")
        store = CatchUpStore(layout: StoreLayout(path: "\(dir.path)/store", app: "hello", env: "production"),
                             authorizedKeysFile: "\(dir.path)/ssh/authorized_keys")
        host = try Host()
    }

    func request(_ release: ReleaseRef, hosts: [String] = ["h1", "h2"], keys: [HostKey] = [], keep: Int = 2) -> PublishRequest {
        let plans = hosts.map { name -> DeployPlan in
            var plan = host.plan(.deploy, release)
            plan.host = name
            return plan
        }
        return PublishRequest(app: "hello", env: "production", path: "\(dir.path)/store", release: release, plans: plans,
                              keys: keys, keep: keep, requestedBy: Samples.requester, root: "/var/lib/berth")
    }

    @discardableResult
    func publish(_ request: PublishRequest, archive: String) async throws(EngineError) -> CollectingSink {
        let events = CollectingSink()
        try await store.publish(request, archive: .file(archive), events: events)
        return events
    }

    @Test func aPublishedReleaseBecomesTheDesiredOneWithItsArchiveAndPlans() async throws {
        defer { dir.remove() }
        let release = host.release("1.0.0")
        let events = try await publish(request(release), archive: try host.archive("1.0.0"))
        #expect(events.events.first?.event == .releaseNeeded && events.events.first?.present == false)
        let desired = try #require(try store.desired())
        #expect(events.events.last?.desired == desired)
        #expect(desired.release == release && desired.hosts == ["h1", "h2"] && desired.kept == [release])
        #expect(FileManager.default.contentsEqual(atPath: store.layout.archive(release.id), andPath: try host.archive("1.0.0")))
        for name in ["h1", "h2"] {
            let path = store.layout.planFile(host: name)
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
            let plan = try JSONDecoder().decode(DeployPlan.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(plan.host == name && plan.release == release && plan.environment == host.environment)
        }
        #expect(try FileManager.default.attributesOfItem(atPath: store.layout.envDir)[.posixPermissions] as? Int == 0o700)

        // Publishing it again needs no archive.
        let again = try await publish(request(release), archive: "/nonexistent")
        #expect(again.events.first?.present == true)
    }

    @Test func olderArchivesArePrunedToKeepAndARollbackIsResolvedById() async throws {
        defer { dir.remove() }
        let v1 = host.release("1.0.0")
        let v2 = host.release("2.0.0")
        let v3 = host.release("3.0.0")
        try await publish(request(v1), archive: try host.archive("1.0.0"))
        try await publish(request(v2), archive: try host.archive("2.0.0"))
        try await publish(request(v3, hosts: ["h1"]), archive: try host.archive("3.0.0"))
        #expect(try store.desired()?.kept == [v3, v2])
        #expect(!FileManager.default.fileExists(atPath: store.layout.archive(v1.id)))
        #expect(!FileManager.default.fileExists(atPath: store.layout.planFile(host: "h2")), "h2 left the environment")

        // A rollback names the release by id only; the store knows the rest.
        try await publish(request(ReleaseRef(id: v2.id, label: v2.id, createdAt: ""), hosts: ["h1"]), archive: "/nonexistent")
        #expect(try store.desired()?.release == v2)
    }

    @Test func withoutAWholeArchiveTheDesiredReleaseStaysAsItWas() async throws {
        defer { dir.remove() }
        let v1 = host.release("1.0.0")
        try await publish(request(v1), archive: try host.archive("1.0.0"))
        let truncated = "\(dir.path)/truncated.tar.gz"
        let whole = try Data(contentsOf: URL(fileURLWithPath: try host.archive("2.0.0")))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: truncated))
        await #expect(throws: EngineError.self) {
            try await publish(request(host.release("2.0.0")), archive: truncated)
        }
        #expect(try store.desired()?.release == v1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.layout.archivesDir) == ["\(v1.id).tar.gz"])
    }

    @Test func eachHostKeyGetsOneForcedCommandLineAndOtherLinesStay() async throws {
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: "\(dir.path)/ssh", withIntermediateDirectories: true)
        try "ssh-ed25519 AAAAoperator alice@laptop\n".write(toFile: "\(dir.path)/ssh/authorized_keys", atomically: true, encoding: .utf8)
        let release = host.release("1.0.0")
        try await publish(request(release, keys: [HostKey(host: "h1", publicKey: "ssh-ed25519 AAAAfirst berth-catchup:hello/production/h1")]),
                          archive: try host.archive("1.0.0"))
        try await publish(request(release, keys: [HostKey(host: "h1", publicKey: "ssh-ed25519 AAAAsecond berth-catchup:hello/production/h1"),
                                                  HostKey(host: "h2", publicKey: "ssh-ed25519 AAAAthird berth-catchup:hello/production/h2")]),
                          archive: "/nonexistent")
        let lines = try String(contentsOfFile: "\(dir.path)/ssh/authorized_keys", encoding: .utf8).split(separator: "\n")
        let serve = "/var/lib/berth/engine/berth-engine serve-store \(dir.path)/store hello production"
        #expect(lines == [
            "ssh-ed25519 AAAAoperator alice@laptop",
            #"restrict,command="\#(serve) h1" ssh-ed25519 AAAAsecond berth-catchup:hello/production/h1"#,
            #"restrict,command="\#(serve) h2" ssh-ed25519 AAAAthird berth-catchup:hello/production/h2"#,
        ])

        // h2 leaves the environment: its key can no longer read anything.
        try await publish(request(release, hosts: ["h1"]), archive: "/nonexistent")
        let after = try String(contentsOfFile: "\(dir.path)/ssh/authorized_keys", encoding: .utf8).split(separator: "\n")
        #expect(after == Array(lines.prefix(2)))
    }
}
