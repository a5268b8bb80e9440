import BerthCore
import BerthEngine
import BerthTestSupport
import Foundation
import Testing

/// Whole deploys and rollbacks in a temporary root, with `FakeSystem` in place of systemd and nginx.
final class Host {
    let dir: TemporaryDirectory
    let system: FakeSystem
    var events = CollectingSink()
    let layout: HostLayout
    var environment = [EnvVar(name: "GREETING", value: "hi there")]
    /// The web service without its HTTP check (nothing listens here): it passes while "active".
    var services = [Samples.unprobedWeb, Samples.worker]
    var keep = 5
    var catchUp: CatchUpSource?
    var fault: EngineFault?
    var proxy: ProxyConfig? = Samples.proxy
    var hooks: HooksConfig?
    var watch: WatchConfig?
    var migrate: Hook?

    /// `sharing` another app environment's host: the same root, systemd and nginx directories.
    init(app: String = "hello", env: String = "production", sharing other: Host? = nil) throws {
        dir = try other?.dir ?? TemporaryDirectory()
        ownsDirectory = other == nil
        system = other?.system ?? FakeSystem()
        layout = HostLayout(root: "\(dir.path)/root", app: app, env: env,
                            systemdDir: "\(dir.path)/systemd", nginxDir: "\(dir.path)/nginx")
    }

    private let ownsDirectory: Bool

    deinit { if ownsDirectory { dir.remove() } }

    /// A release archive of the example app with `VERSION` set.
    func archive(_ version: String) throws -> String {
        let archive = "\(dir.path)/\(version).tar.gz"
        if FileManager.default.fileExists(atPath: archive) { return archive }
        let source = "\(dir.path)/src-\(version)"
        try FileManager.default.createDirectory(atPath: "\(source)/media", withIntermediateDirectories: true)
        let app = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Examples/hello/app").standardized.path
        for file in ["server.py", "worker.py"] {
            try FileManager.default.copyItem(atPath: "\(app)/\(file)", toPath: "\(source)/\(file)")
        }
        try version.write(toFile: "\(source)/VERSION", atomically: true, encoding: .utf8)
        try "shipped".write(toFile: "\(source)/media/in-release.txt", atomically: true, encoding: .utf8)
        try runProgram(["tar", "-czf", archive, "-C", source, "."])
        return archive
    }

    /// The release id of `archive(version)`: its SHA-256, as `berth` computes it.
    func id(_ version: String) -> String {
        let path = try! archive(version)
        return String(try! runProgram(["sha256sum", path]).stdout.prefix(64))
    }

    /// The release of `archive(version)`, labelled with its version.
    func release(_ version: String) -> ReleaseRef { Samples.release(id(version), label: version) }

    func plan(_ kind: DeployPlan.Kind, _ release: ReleaseRef?) -> DeployPlan {
        var plan = DeployPlan(kind: kind, app: layout.app, env: layout.env, host: "h1", release: release, services: services,
                              proxy: proxy, environment: environment, keepReleases: keep, sharedDirs: ["media"],
                              requestedBy: Samples.requester, root: layout.root, systemdDir: layout.systemdDir,
                              nginxDir: layout.nginxDir, catchUp: catchUp)
        plan.hooks = hooks
        plan.watch = watch
        plan.migrate = migrate
        return plan
    }

    @discardableResult
    func run(_ command: EngineCommand, _ plan: DeployPlan, archive: String? = nil) async throws -> Int32 {
        events = CollectingSink()
        var settings = EngineSettings()
        settings.releaseSource = .file(archive ?? "/nonexistent.tar.gz")
        settings.drainLimitMilliseconds = 1000
        settings.fault = fault
        let input = Array(try JSONEncoder().encode(plan))
        return await Engine(system: system, events: events, settings: settings).run(command.rawValue, input: input)
    }

    func deploy(_ version: String, id: String? = nil) async throws -> Int32 {
        try await run(.deploy, plan(.deploy, Samples.release(id ?? self.id(version), label: version)), archive: try archive(version))
    }

    /// `status`, with this host's unit and site directories.
    @discardableResult
    func status() async throws -> Int32 {
        events = CollectingSink()
        let query = StateQuery(app: "hello", env: "production", root: layout.root, systemdDir: layout.systemdDir, nginxDir: layout.nginxDir)
        return await Engine(system: system, events: events).run(EngineCommand.status.rawValue, input: Array(try JSONEncoder().encode(query)))
    }

    var outcome: DeployOutcome? { events.events.last { $0.event == .outcome }?.outcome }
    var stepLines: [String] {
        events.events.filter { $0.event == .step && $0.status != .started }.map { "\($0.step!) \($0.status!.rawValue)" }
    }
    var warnings: [String] { events.events.filter { $0.event == .warning }.compactMap(\.message) }

    func manifest() throws -> Manifest? { try StateStore(layout: layout).manifest() }
    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
    func link(_ path: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: path) }
}

@Suite struct ActivationTests {
    @Test func firstDeployStartsBlueAndRecordsEverything() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(host.stepLines == ["lock done", "release done", "env done", "units done", "migrate skipped", "after-release skipped",
                                   "start done", "health done", "smoke skipped", "before-switch skipped", "intent done",
                                   "switch done", "after-switch skipped", "drain done", "watch skipped", "stop-old done", "record done",
                                   "prune done"])
        #expect(host.events.events.contains { $0.event == .releaseNeeded && $0.present == false })
        let outcome = try #require(host.outcome)
        #expect(outcome.result == .deployed)
        #expect(outcome.slot == .blue)
        #expect(outcome.previousRelease == nil)
        // Timings are kept for the steps that ran: all but the gates this app has none of.
        let gates: Set = ["migrate", "after-release", "smoke", "before-switch", "after-switch", "watch"]
        #expect(outcome.steps.map(\.step) == ReleaseActivation.stepNames.filter { !gates.contains($0) })

        let layout = host.layout
        #expect(host.read("\(layout.releaseDir(host.id("1.0.0")))/VERSION") == "1.0.0")
        #expect(host.link("\(layout.releaseDir(host.id("1.0.0")))/media") == "\(layout.sharedDir)/media")
        #expect(host.link(layout.slotLink(.blue)) == layout.releaseDir(host.id("1.0.0")))
        #expect(host.link(layout.currentLink) == layout.releaseDir(host.id("1.0.0")))
        #expect(host.read(layout.envFile)?.contains(#"GREETING="hi there""#) == true)
        // Root's, readable by the group of the environment's own user, which the engine created.
        let account = try #require(host.system.accounts[layout.serviceUser])
        let attributes = try FileManager.default.attributesOfItem(atPath: layout.envFile)
        #expect(attributes[.posixPermissions] as? Int == 0o640)
        if geteuid() == 0 {
            #expect(attributes[.ownerAccountID] as? Int == 0)
            #expect(attributes[.groupOwnerAccountID] as? Int == Int(account.gid))
        }
        #expect(host.system.owned == ["\(layout.sharedDir)/media": layout.serviceUser])
        #expect(host.read(layout.instanceEnvFile(service: "web", slot: .blue))?.contains(#"PORT="47010""#) == true)
        #expect(host.read(layout.instanceEnvFile(service: "worker", slot: .blue))?.contains("PORT") == false)
        #expect(host.read(layout.templateUnitFile(service: "web")) == SystemdUnit(service: Samples.unprobedWeb, layout: layout).render())
        #expect(host.read(layout.nginxSiteFile)?.contains("server 127.0.0.1:47010;") == true)
        #expect(host.link("\(layout.systemdDir)/multi-user.target.wants/hello.production.web@blue.service")
            == layout.templateUnitFile(service: "web"))
        #expect(host.system.log == ["useradd \(layout.serviceUser)", "daemon-reload",
                                    "start hello.production.web@blue.service hello.production.worker@blue.service",
                                    "nginx -t", "nginx reload"])

        let manifest = try #require(try host.manifest())
        #expect(manifest.current?.id == host.id("1.0.0"))
        #expect(manifest.activeSlot == .blue)
        #expect(manifest.releases.map(\.id) == [host.id("1.0.0")])
        #expect(manifest.services == [Samples.unprobedWeb, Samples.worker])
        let history = try StateStore(layout: layout).history()
        #expect(history.map(\.result) == [.deployed])
        #expect(DeployLock.inspect(layout.lockFile) == LockInfo(state: .free))
    }

    @Test func secondDeployGoesGreenWithoutDaemonReloadAndRetiresBlue() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        host.system.log = []
        #expect(try await host.deploy("2.0.0") == 0)
        let outcome = try #require(host.outcome)
        #expect(outcome.slot == .green)
        #expect(outcome.previousRelease == host.id("1.0.0"))
        #expect(host.system.log == [
            "start hello.production.web@green.service hello.production.worker@green.service", "nginx -t", "nginx reload",
            "stop hello.production.web@blue.service hello.production.worker@blue.service",
        ])
        let layout = host.layout
        #expect(host.read(layout.nginxSiteFile)?.contains("server 127.0.0.1:47011;") == true)
        let wants = "\(layout.systemdDir)/multi-user.target.wants"
        #expect(host.link("\(wants)/hello.production.web@green.service") != nil)
        #expect(host.link("\(wants)/hello.production.web@blue.service") == nil)
        #expect(try host.manifest()?.releases.map(\.id) == [host.id("2.0.0"), host.id("1.0.0")])
        #expect(host.link(layout.currentLink) == layout.releaseDir(host.id("2.0.0")))
        #expect(host.system.active == ["hello.production.web@green.service", "hello.production.worker@green.service"])
    }

    @Test func deployingWhatRunsIsUnchangedAndTouchesNothing() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        host.system.log = []
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(host.outcome?.result == .unchanged)
        #expect(host.stepLines == ["lock done"] + ReleaseActivation.stepNames.dropFirst().map { "\($0) skipped" })
        #expect(host.events.events.contains { $0.event == .releaseNeeded && $0.present == true })
        #expect(host.system.log.isEmpty)

        // A changed setting is not "unchanged": the same release goes through green with the new env.
        host.environment.append(EnvVar(name: "NEW", value: "1"))
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(host.outcome?.result == .deployed)
        #expect(host.outcome?.slot == .green)
        #expect(host.events.events.contains { $0.event == .releaseNeeded && $0.present == true })
    }

    @Test func crashingReleaseIsRolledBackAndTheOldSlotKeepsServing() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        let site = host.read(host.layout.nginxSiteFile)
        let env = host.read(host.layout.envFile)
        host.system.log = []
        host.system.crashing = ["hello.production.worker@green.service"]
        host.environment = [EnvVar(name: "GREETING", value: "changed")]
        host.services[1].stopTimeoutMs = 2000  // the worker's unit changes too

        #expect(try await host.deploy("2.0.0") == 1)
        let outcome = try #require(host.outcome)
        #expect(outcome.result == .rolledBack)
        #expect(outcome.slot == .blue)
        #expect(outcome.message == "hello.production.worker@green.service stopped right after it started (exit-code); see its journal below.")
        #expect(outcome.journal == host.system.journalLines)
        #expect(host.stepLines.last == "health failed")
        #expect(host.read(host.layout.nginxSiteFile) == site)
        #expect(host.read(host.layout.envFile) == env)
        #expect(host.read(host.layout.templateUnitFile(service: "worker")) == SystemdUnit(service: Samples.worker, layout: host.layout).render())
        #expect(host.system.log == [
            "daemon-reload", "start hello.production.web@green.service hello.production.worker@green.service",
            "stop hello.production.web@green.service hello.production.worker@green.service", "daemon-reload",
        ])
        #expect(host.system.active == ["hello.production.web@blue.service", "hello.production.worker@blue.service"])
        #expect(try host.manifest()?.current?.id == host.id("1.0.0"))
        #expect(host.link(host.layout.currentLink) == host.layout.releaseDir(host.id("1.0.0")))
        #expect(try StateStore(layout: host.layout).history().map(\.result) == [.rolledBack, .deployed])
    }

    @Test func theJournalOfAFailedReleaseHasTheSecretsMasked() async throws {
        let host = try Host()
        host.environment = [EnvVar(name: "DATABASE_URL", value: "postgres://app:hunter22@db/shop"), EnvVar(name: "DEBUG", value: "on")]
        host.system.journalLines = ["could not connect to postgres://app:hunter22@db/shop", "debug is on"]
        host.system.crashing = ["hello.production.worker@blue.service"]
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.outcome?.journal == ["could not connect to ***", "debug is on"])
        #expect(try StateStore(layout: host.layout).history().first?.message?.contains("hunter22") == false)
    }

    @Test func aReleasePackedWithAPrivateUmaskIsReadableToItsServicesAndWritableByNone() async throws {
        let host = try Host()
        let source = "\(host.dir.path)/private-src"
        try FileManager.default.createDirectory(atPath: "\(source)/bin", withIntermediateDirectories: true)
        try "secret-ish".write(toFile: "\(source)/bin/app.py", atomically: true, encoding: .utf8)
        try "x".write(toFile: "\(source)/open.txt", atomically: true, encoding: .utf8)
        for (path, mode) in [(source, 0o700), ("\(source)/bin", 0o700), ("\(source)/bin/app.py", 0o600), ("\(source)/open.txt", 0o666)] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        let archive = "\(host.dir.path)/private.tar.gz"
        try runProgram(["tar", "-czf", archive, "-C", source, "."])
        let id = String(try runProgram(["sha256sum", archive]).stdout.prefix(64))
        #expect(try await host.run(.deploy, host.plan(.deploy, Samples.release(id)), archive: archive) == 0)

        let release = host.layout.releaseDir(id)
        func mode(_ path: String) throws -> Int? { try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int }
        #expect(try mode(release) == 0o755)
        #expect(try mode("\(release)/bin") == 0o755)
        #expect(try mode("\(release)/bin/app.py") == 0o644)
        #expect(try mode("\(release)/open.txt") == 0o644)
    }

    @Test func aUserNamedInTheAppFileMustExistAndIsNeverCreated() async throws {
        let host = try Host()
        host.services[1].user = "reports"
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.outcome?.message == "service worker runs as the user 'reports' ('user' in the app file), which does not exist on this host; create it, or remove 'user' to run as \(host.layout.serviceUser).")
        #expect(host.stepLines.last == "env failed")
        #expect(!host.system.log.contains("useradd reports"))

        host.system.accounts["reports"] = SystemAccount(name: "reports", uid: 1500, gid: 1500)
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(host.read(host.layout.templateUnitFile(service: "worker"))?.contains("User=reports\n") == true)
        #expect(host.read(host.layout.templateUnitFile(service: "web"))?.contains("User=\(host.layout.serviceUser)\n") == true)
    }

    @Test func whenEveryServiceRunsAsRootOnlyRootReadsTheEnvFile() async throws {
        let host = try Host()
        for index in host.services.indices { host.services[index].user = "root" }
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(try FileManager.default.attributesOfItem(atPath: host.layout.envFile)[.posixPermissions] as? Int == 0o600)
        #expect(!host.system.log.contains { $0.hasPrefix("useradd") })
        #expect(host.system.owned.isEmpty)
        #expect(host.read(host.layout.templateUnitFile(service: "web"))?.contains("User=") == false)
    }

    @Test func firstDeployThatFailsIsFailedNotRolledBack() async throws {
        let host = try Host()
        host.system.crashing = ["hello.production.web@blue.service"]
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.outcome?.result == .failed)
        #expect(try host.manifest() == nil)
    }

    @Test func siteThatNginxRejectsIsPutBack() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        let site = host.read(host.layout.nginxSiteFile)
        host.system.nginxComplaint = "nginx: [emerg] unknown directive \"bogus\""
        #expect(try await host.deploy("2.0.0") == 1)
        #expect(host.outcome?.result == .rolledBack)
        #expect(host.outcome?.message == #"nginx rejected the new site (nginx: [emerg] unknown directive "bogus"); the previous site is back and still serves."#)
        #expect(host.read(host.layout.nginxSiteFile) == site)
        #expect(!host.system.active.contains("hello.production.web@green.service"))
    }

    @Test func slotPortTakenByAnotherProcessStopsTheDeployBeforeItStarts() async throws {
        let host = try Host()
        let squatter = try SilentListener()
        host.services = [ServicePlan(name: "web", command: "python3 server.py", port: squatter.port, health: nil,
                                     proxied: true, stopTimeoutMs: 1000)]
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.outcome?.message == "port \(squatter.port) of the blue slot is taken by a process that is not hello.production.web@blue.service; free the port or give web another one.")
        #expect(!host.system.log.contains { $0.hasPrefix("start") })
    }

    @Test func brokenUploadLeavesNoRelease() async throws {
        let host = try Host()
        let garbage = "\(host.dir.path)/garbage.tar.gz"
        try "not a tarball".write(toFile: garbage, atomically: true, encoding: .utf8)
        let digest = String(try runProgram(["sha256sum", garbage]).stdout.prefix(64))
        #expect(try await host.run(.deploy, host.plan(.deploy, Samples.release(digest)), archive: garbage) == 1)
        #expect(host.outcome?.result == .failed)
        #expect(host.outcome?.message?.hasPrefix("the release archive could not be unpacked") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: host.layout.releasesDir).isEmpty)
    }

    @Test func rollbackReturnsToThePreviousRelease() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(try await host.deploy("2.0.0") == 0)
        #expect(try await host.run(.rollback, host.plan(.rollback, nil)) == 0)
        #expect(host.outcome?.result == .deployed)
        #expect(host.outcome?.release == host.id("1.0.0"))
        #expect(host.outcome?.slot == .blue)
        #expect(!host.events.events.contains { $0.event == .releaseNeeded })
        #expect(try host.manifest()?.releases.map(\.id) == [host.id("1.0.0"), host.id("2.0.0")])
        #expect(try StateStore(layout: host.layout).history(limit: 1).first?.kind == .rollback)

        // By label, and a second rollback returns to 2.0.0.
        #expect(try await host.run(.rollback, host.plan(.rollback, ReleaseRef(id: "2.0.0", label: "2.0.0", createdAt: ""))) == 0)
        #expect(host.outcome?.release == host.id("2.0.0"))
    }

    @Test func rollbackToAReleaseNotKeptSaysWhichAreKept() async throws {
        let host = try Host()
        #expect(try await host.run(.rollback, host.plan(.rollback, nil)) == 4)
        #expect(host.events.events.last?.message == "there is no earlier release on this host to roll back to; kept releases: none besides the current one.")
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(try await host.deploy("2.0.0") == 0)
        #expect(try await host.run(.rollback, host.plan(.rollback, ReleaseRef(id: "9.9.9", label: "9.9.9", createdAt: ""))) == 4)
        #expect(host.events.events.last?.message == "release '9.9.9' is not kept on this host; kept releases: \(ReleaseRef.shortID(host.id("1.0.0"))) (1.0.0).")
    }

    @Test func pruningKeepsTheNewestAndTheOtherSlot() async throws {
        let host = try Host()
        host.keep = 1
        for version in ["1.0.0", "2.0.0", "3.0.0"] { #expect(try await host.deploy(version) == 0) }
        // keep 1, but 2.0.0 stays: the green slot... the other slot still points at it.
        #expect(try host.manifest()?.releases.map(\.id) == [host.id("3.0.0"), host.id("2.0.0")])
        #expect(ReleaseStore(layout: host.layout).ids() == [host.id("2.0.0"), host.id("3.0.0")].sorted())
    }

    @Test func removedServiceIsStoppedAndItsFilesRemoved() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        host.services = [Samples.unprobedWeb]
        #expect(try await host.deploy("2.0.0") == 0)
        #expect(host.system.log.contains("stop hello.production.web@blue.service hello.production.worker@blue.service hello.production.worker@green.service"))
        #expect(!FileManager.default.fileExists(atPath: host.layout.templateUnitFile(service: "worker")))
        #expect(host.system.log.last == "daemon-reload")
    }

    @Test func lockHeldByAnotherEngineStopsTheDeploy() async throws {
        let host = try Host()
        try FileManager.default.createDirectory(atPath: host.layout.appDir, withIntermediateDirectories: true)
        let holder = try LockHolder(host.layout.lockFile)
        defer { holder.stop() }
        #expect(try await host.deploy("1.0.0") == 3)
        #expect(host.stepLines == ["lock failed"])
        #expect(host.events.events.last?.event == .error)
        #expect(host.events.events.last?.message?.hasPrefix("another deploy holds the lock") == true)
    }

    @Test func invalidPlansAreRejectedBeforeAnythingHappens() async throws {
        let host = try Host()
        var plan = host.plan(.deploy, Samples.release("../etc"))
        #expect(try await host.run(.deploy, plan) == 2)
        #expect(host.events.events.last?.message == "the deploy plan is invalid: release id '../etc' must be letters, digits, '.', '_' or '-'.")
        plan = host.plan(.deploy, Samples.release("ok"))
        plan.services.append(ServicePlan(name: "api", command: "api", port: 47011, health: nil, proxied: false, stopTimeoutMs: 1000))
        #expect(try await host.run(.deploy, plan) == 2)
        #expect(host.events.events.last?.message == "the deploy plan is invalid: services 'web' and 'api' both use port 47011 (each service takes its port and the next one, for the green slot).")
        #expect(!FileManager.default.fileExists(atPath: host.layout.appDir))
    }
}

@Suite struct StateStoreTests {
    @Test func manifestAndHistoryRoundTrip() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let layout = HostLayout(root: dir.path, app: "hello", env: "production")
        try FileManager.default.createDirectory(atPath: layout.appDir, withIntermediateDirectories: true)
        let store = StateStore(layout: layout)
        #expect(try store.manifest() == nil)
        let manifest = Manifest(app: "hello", env: "production", current: Samples.release("b"), activeSlot: .green,
                                releases: [Samples.release("b"), Samples.release("a")], services: [Samples.web],
                                updatedAt: "2025-01-01T00:00:00Z")
        try store.save(manifest)
        #expect(try store.manifest() == manifest)

        for index in 0..<3 {
            try store.append(HistoryEntry(kind: .deploy, release: Samples.release("r\(index)"), previousRelease: nil,
                                          result: .deployed, message: nil, requestedBy: Samples.requester,
                                          startedAt: "s", finishedAt: "f", steps: []))
        }
        let handle = try #require(FileHandle(forWritingAtPath: layout.historyFile))
        handle.seekToEndOfFile()
        handle.write(Data("{\"kind\":\"dep".utf8))  // a torn last line is skipped
        try handle.close()
        #expect(try store.history().map { $0.release?.id } == ["r2", "r1", "r0"])
        #expect(try store.history(limit: 2).map { $0.release?.id } == ["r2", "r1"])
    }

    @Test func unreadableManifestIsAnInternalErrorSayingWhatToDo() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let layout = HostLayout(root: dir.path, app: "hello", env: "production")
        try FileManager.default.createDirectory(atPath: layout.appDir, withIntermediateDirectories: true)
        try "{}".write(toFile: layout.manifestFile, atomically: true, encoding: .utf8)
        #expect(throws: EngineError.internal("\(layout.manifestFile) cannot be read (the key 'app' is missing at the top level); the next deploy rebuilds it from what serves")) {
            try StateStore(layout: layout).manifest()
        }
    }
}

/// Which slot serves comes from the host (nginx site, intent record, links), never from a manifest
/// that may lag; a crash at any step boundary leaves a host that boots serving and that the next
/// deploy repairs without stopping what nginx routes to.
@Suite struct CrashConsistencyTests {
    static let green = ["hello.production.web@green.service", "hello.production.worker@green.service"]
    static let blue = ["hello.production.web@blue.service", "hello.production.worker@blue.service"]

    /// The state a deploy of 2.0.0 leaves when it dies during its drain: nginx routes to green,
    /// blue still runs (its old workers may still carry requests), the manifest still says 1.0.0 in blue.
    static func killedDuringDrain() async throws -> (Host, Manifest) {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        let lagging = try #require(try host.manifest())
        #expect(try await host.deploy("2.0.0") == 0)
        try StateStore(layout: host.layout).save(lagging)
        try FileManager.default.removeItem(atPath: host.layout.currentLink)
        try FileManager.default.createSymbolicLink(atPath: host.layout.currentLink, withDestinationPath: host.layout.releaseDir(host.id("1.0.0")))
        host.system.active.formUnion(blue)
        host.system.log = []
        return (host, lagging)
    }

    /// Whether `units` were first stopped after nginx's last reload (i.e. once it routed elsewhere).
    static func stoppedOnlyAfterTheLastReload(_ units: [String], in log: [String]) -> Bool {
        guard let stop = firstStop(of: units, in: log), let reload = log.lastIndex(of: "nginx reload") else { return false }
        return stop > reload
    }

    /// Index of the first `stop` of one of `units` in the log, if any.
    static func firstStop(of units: [String], in log: [String]) -> Int? {
        log.firstIndex { $0.hasPrefix("stop") && units.contains(where: $0.contains) }
    }

    @Test func theNginxSiteWinsOverAManifestThatLags() async throws {
        let (host, _) = try await Self.killedDuringDrain()
        // status shows what serves, with a note, and writes nothing.
        #expect(try await host.status() == 0)
        let state = try #require(host.events.events.first { $0.event == .state })
        #expect(state.manifest?.activeSlot == .green && state.manifest?.current?.id == host.id("2.0.0"), "\(state)")
        #expect(state.message?.contains("manifest.json named \(ReleaseRef.shortID(host.id("1.0.0"))) (1.0.0) in the blue slot, but nginx routes to \(ReleaseRef.shortID(host.id("2.0.0"))) (2.0.0) in the green slot") == true, "\(String(describing: state.message))")
        #expect(try host.manifest()?.activeSlot == .blue)

        #expect(try await host.deploy("3.0.0") == 0)
        #expect(host.outcome?.slot == .blue, "3.0.0 goes to the slot nginx does not route to")
        #expect(host.outcome?.previousRelease == host.id("2.0.0"))
        #expect(host.read(host.layout.nginxSiteFile)?.contains("traffic goes to the blue slot") == true)
        #expect(host.warnings.contains { $0.hasPrefix("the records of this host lag behind what serves: manifest.json named \(ReleaseRef.shortID(host.id("1.0.0")))") }, "\(host.warnings)")
        let history = try StateStore(layout: host.layout).history()
        #expect(history.map(\.kind) == [.deploy, .repair, .deploy, .deploy], "\(history)")
        #expect(history[1].release?.id == host.id("2.0.0") && history[1].previousRelease == host.id("1.0.0"))
        #expect(try host.manifest()?.releases.map(\.id) == [host.id("3.0.0"), host.id("2.0.0"), host.id("1.0.0")])
    }

    @Test func aLeftoverUnitOnTheRoutedSlotIsNeverStopped() async throws {
        let (host, _) = try await Self.killedDuringDrain()
        #expect(try await host.deploy("3.0.0") == 0)
        let log = host.system.log
        // Green (routed) stops only after nginx moved to blue, i.e. after the last reload.
        let lastReload = try #require(log.lastIndex(of: "nginx reload"))
        let greenStop = try #require(Self.firstStop(of: Self.green, in: log), "\(log)")
        #expect(greenStop > lastReload, "the routed slot was stopped before the switch: \(log)")
        // Blue (not routed, but maybe still draining) stops only after a reload and its drain.
        let blueStop = try #require(Self.firstStop(of: Self.blue, in: log), "\(log)")
        #expect(log.firstIndex(of: "nginx reload").map { $0 < blueStop } == true, "\(log)")
        #expect(!host.warnings.contains { $0.contains("still ran from an earlier deploy") }, "\(host.warnings)")
        #expect(host.system.active == Set(Self.blue))
    }

    @Test func aMissingOrCorruptManifestIsRebuiltFromTheHost() async throws {
        // Corrupt: status still answers, with the host's own account; a deploy repairs it.
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        #expect(try await host.deploy("2.0.0") == 0)
        try "{\"app\": tru".write(toFile: host.layout.manifestFile, atomically: true, encoding: .utf8)
        #expect(try await host.status() == 0)
        let state = try #require(host.events.events.first { $0.event == .state })
        #expect(state.manifest?.current?.label == "2.0.0" && state.manifest?.activeSlot == .green, "\(state)")
        #expect(state.message?.contains("manifest.json could not be read") == true, "\(String(describing: state.message))")
        #expect(try await host.deploy("3.0.0") == 0, "\(host.events.events)")
        #expect(host.outcome?.slot == .blue && host.outcome?.previousRelease == host.id("2.0.0"))
        #expect(Self.stoppedOnlyAfterTheLastReload(Self.green, in: host.system.log), "\(host.system.log)")
        #expect(try host.manifest()?.releases.map(\.id) == [host.id("3.0.0"), host.id("2.0.0"), host.id("1.0.0")])

        // Missing: after one deploy nginx routes to blue; the next deploy must not take blue.
        let second = try Host()
        #expect(try await second.deploy("1.0.0") == 0)
        try FileManager.default.removeItem(atPath: second.layout.manifestFile)
        second.system.log = []
        #expect(try await second.deploy("2.0.0") == 0)
        #expect(second.outcome?.slot == .green && second.outcome?.previousRelease == second.id("1.0.0"), "\(second.events.events)")
        #expect(second.warnings.contains { $0.contains("manifest.json is missing, but nginx routes to \(ReleaseRef.shortID(second.id("1.0.0"))) (1.0.0) in the blue slot") }, "\(second.warnings)")
        #expect(Self.stoppedOnlyAfterTheLastReload(Self.blue, in: second.system.log), "\(second.system.log)")
        #expect(try second.manifest()?.current?.label == "2.0.0")
    }

    @Test func aFullDiskAtRecordDoesNotMisleadTheNextDeploy() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        host.fault = EngineFault(.fail, "record")
        #expect(try await host.deploy("2.0.0") == 5)
        #expect(host.outcome?.result == .failed)
        #expect(host.outcome?.message?.contains("No space left on device") == true, "\(String(describing: host.outcome))")
        #expect(try host.manifest()?.current?.id == host.id("1.0.0"), "the manifest lags")
        host.fault = nil
        host.system.log = []
        #expect(try await host.deploy("3.0.0") == 0)
        #expect(host.outcome?.slot == .blue)
        #expect(Self.stoppedOnlyAfterTheLastReload(Self.green, in: host.system.log), "\(host.system.log)")
    }

    /// A crash at every step boundary of a deploy (the engine abandons its run there as if it
    /// died): the host would boot serving (the slot nginx routes to is enabled), and the next
    /// deploy never stops that slot before moving nginx away from it, and ends with true records.
    @Test(arguments: ReleaseActivation.stepNames)
    func aCrashAtEveryBoundaryLeavesAHostTheNextDeployRepairs(_ boundary: String) async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        let crashed = CollectingSink()
        var settings = EngineSettings()
        settings.releaseSource = .file(try host.archive("2.0.0"))
        settings.drainLimitMilliseconds = 1000
        settings.fault = EngineFault(.abandon, boundary)
        let input = Array(try JSONEncoder().encode(host.plan(.deploy, Samples.release(host.id("2.0.0"), label: "2.0.0"))))
        let engine = Engine(system: host.system, events: crashed, settings: settings)
        Task { _ = await engine.run("deploy", input: input) }
        let start = Date()
        while !crashed.events.contains(where: { $0.message?.hasPrefix("test fault hook: abandoned after '\(boundary)'") == true }) {
            try #require(Date().timeIntervalSince(start) < 10, "the engine never reached \(boundary): \(crashed.events)")
            try await Task.sleep(for: .milliseconds(5))
        }

        // Boot: what nginx would load routes to a slot whose units are all enabled.
        let site = try #require(host.read(host.layout.nginxSiteFile))
        let routed = try #require(NginxSite.routedSlot(in: site))
        for service in host.services.map(\.name) {
            #expect(HostFiles(layout: host.layout).isEnabled(service: service, slot: routed), "\(service)@\(routed.rawValue) is not enabled for boot after a crash at \(boundary)")
        }

        host.system.log = []
        #expect(try await host.deploy("3.0.0") == 0, "\(host.events.events)")
        let log = host.system.log
        let units = routed == .blue ? Self.blue : Self.green
        if let stop = Self.firstStop(of: units, in: log) {
            #expect(log.lastIndex(of: "nginx reload").map { $0 < stop } == true, "\(routed) was stopped while nginx routed to it (crash at \(boundary)): \(log)")
        }
        #expect(host.outcome?.slot == routed.other, "crash at \(boundary)")
        #expect(host.read(host.layout.nginxSiteFile)?.contains("traffic goes to the \(routed.other.rawValue) slot") == true)
        let manifest = try #require(try host.manifest())
        #expect(manifest.current?.id == host.id("3.0.0") && manifest.activeSlot == routed.other)
        #expect(!FileManager.default.fileExists(atPath: host.layout.intentFile))
        #expect(host.system.active == Set(routed == .blue ? Self.green : Self.blue), "crash at \(boundary): \(host.system.active)")
        // Once repaired, the records tell the truth: nothing is found on the next run.
        #expect(try await host.status() == 0)
        #expect(host.events.events.first { $0.event == .state }?.message == nil, "crash at \(boundary)")
    }

    @Test func aSwitchThatFailsRemovesTheIntentAndTheNewBootLinks() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        host.system.nginxComplaint = "nginx: [emerg] bad"
        #expect(try await host.deploy("2.0.0") == 1)
        #expect(!FileManager.default.fileExists(atPath: host.layout.intentFile))
        #expect(!HostFiles(layout: host.layout).isEnabled(service: "web", slot: .green))
        #expect(HostFiles(layout: host.layout).isEnabled(service: "web", slot: .blue))
        host.system.nginxComplaint = nil
        #expect(try await host.status() == 0)
        #expect(host.events.events.first { $0.event == .state }?.message == nil)
    }
}

@Suite struct StepListTests {
    @Test func theOrderedStepsAreTheOnesEventsNameAndTheDocsList() throws {
        #expect(ReleaseActivation.steps.map(\.name) == ActivationSteps.names)
        let docs = try String(contentsOfFile: Repository.root.appendingPathComponent("docs/cli.md").path, encoding: .utf8)
        let listed = ActivationSteps.names.map { "`\($0)`" }.joined(separator: ", ")
        #expect(docs.replacingOccurrences(of: "\n  ", with: " ").contains(listed), "docs/cli.md should list the steps as: \(listed)")
    }
}

@Suite struct EngineFaultTests {
    @Test func onlyTheThreeFormsAreFaults() {
        #expect(EngineFault("after:switch") == EngineFault(.kill, "switch"))
        #expect(EngineFault("pause:drain\n") == EngineFault(.pause, "drain"))
        #expect(EngineFault("fail:record") == EngineFault(.fail, "record"))
        for text in ["", "after:", "after:nope", "fail:switch", "abandon:drain", "kill:drain", "switch"] {
            #expect(EngineFault(text) == nil, "\(text)")
        }
    }

    @Test func theFaultFileFiresOnceAndIsAnnounced() async throws {
        let host = try Host()
        #expect(try await host.deploy("1.0.0") == 0)
        try "fail:record\n".write(toFile: host.layout.engineFaultFile, atomically: true, encoding: .utf8)
        #expect(try await host.deploy("2.0.0") == 5)
        #expect(host.warnings.contains { $0.hasPrefix("test fault hook active (fail:record, from \(host.layout.engineFaultFile))") }, "\(host.warnings)")
        #expect(!FileManager.default.fileExists(atPath: host.layout.engineFaultFile))
        #expect(try await host.deploy("3.0.0") == 0)
        #expect(!host.warnings.contains { $0.contains("test fault hook") })
    }
}

@Suite struct RoutedSlotTests {
    @Test func aRenderedSiteSaysWhichSlotItRoutesTo() {
        for slot in Slot.allCases {
            let text = NginxSite(app: "hello", env: "production", proxy: Samples.proxy, services: [Samples.web], slot: slot).render()
            #expect(NginxSite.routedSlot(in: text) == slot)
            #expect(NginxSite.routedSlot(in: text, services: [Samples.web]) == slot)
        }
        // Ports win over a header edited by hand.
        let edited = NginxSite(app: "hello", env: "production", proxy: Samples.proxy, services: [Samples.web], slot: .green).render()
            .replacingOccurrences(of: "server 127.0.0.1:8001;", with: "server 127.0.0.1:8000;")
        #expect(NginxSite.routedSlot(in: edited, services: [Samples.web]) == .blue)
        #expect(NginxSite.routedSlot(in: "server { listen 80; }") == nil)
    }
}
