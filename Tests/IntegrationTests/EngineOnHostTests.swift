import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The host engine alone on real testbed hosts (systemd, nginx, journald), driven the way `berth`
/// drives it: a JSON plan on stdin over ssh, the release archive right behind it, JSON lines back.
/// Uses its own app (`et`), state root, ports and domain, so it never touches what other suites
/// deploy on the same hosts.
extension Integration {
    @Suite(.serialized) struct EngineOnHostTests {
        @Test func deployFailedDeployRollbackStatusAndHistoryOnARealHost() throws {
            let host = try EngineHost("h1")
            try host.reset()

            let empty = try host.query("status")
            #expect(empty.status == 0 && empty.events.first?.manifest == nil && empty.events.first?.lock?.state == .free, "\(empty)")

            // v1: uploaded, started in blue, healthy, behind nginx.
            let v1 = try host.deploy("v1")
            #expect(v1.status == 0, "\(v1)")
            #expect(v1.events.contains { $0.event == .releaseNeeded && $0.present == false })
            #expect(v1.outcome?.result == .deployed && v1.outcome?.slot == .blue, "\(v1)")
            #expect(try host.page().contains(#""version": "v1""#))
            // Every setting arrives in the process environment byte for byte.
            let environ = try host.sh("tr '\\0' '\\n' < /proc/$(systemctl show -p MainPID --value et.production.web@blue)/environ | grep -c '^BERTH_SLOT=blue$'; python3 -c \"import sys; env=open('/proc/%s/environ' % sys.argv[1],'rb').read().split(b'\\0'); print([e[7:].decode() for e in env if e.startswith(b'TRICKY=')][0] == sys.argv[2])\" $(systemctl show -p MainPID --value et.production.web@blue) \(EngineHost.shellQuoted(EngineHost.tricky))")
            #expect(environ.stdout == "1\nTrue\n", "TRICKY must arrive verbatim: \(environ)")
            // What the engine rendered is what systemd and nginx accept.
            let checks = try host.sh("systemd-analyze verify /etc/systemd/system/et.production.web@.service /etc/systemd/system/et.production.worker@.service && nginx -t -q && systemctl is-enabled et.production.web@blue et.production.worker@blue && stat -c %a /var/lib/berth-enginetest/apps/et/production/app.env")
            #expect(checks.status == 0 && checks.stdout == "enabled\nenabled\n640\n", "\(checks)")

            // v2: green, no daemon-reload (units unchanged), blue retired.
            let reloadsBefore = try host.daemonReloads()
            let v2 = try host.deploy("v2")
            #expect(v2.status == 0 && v2.outcome?.result == .deployed && v2.outcome?.slot == .green, "\(v2)")
            #expect(try host.daemonReloads() == reloadsBefore, "a deploy with unchanged units must not reload systemd")
            #expect(try host.page().contains(#""version": "v2""#))
            #expect(try host.sh("systemctl is-active et.production.web@blue; systemctl is-enabled et.production.web@blue et.production.web@green").stdout
                == "inactive\ndisabled\nenabled\n")
            print("engine steps v1→v2 on h1 (ms): " + (v2.outcome?.steps.map { "\($0.step)=\($0.ms)" }.joined(separator: " ") ?? ""))

            // The same release again: nothing to do.
            let same = try host.deploy("v2")
            #expect(same.status == 0 && same.outcome?.result == .unchanged, "\(same)")
            #expect(same.events.contains { $0.event == .releaseNeeded && $0.present == true })

            // v3 answers 503 on /health: rolled back, v2 serves throughout, v3 stopped.
            let v3 = try host.deploy("v3")
            #expect(v3.status == 1 && v3.outcome?.result == .rolledBack && v3.outcome?.slot == .green, "\(v3)")
            #expect(v3.outcome?.message?.contains("got 503 Service Unavailable") == true, "\(v3)")
            #expect(v3.outcome?.journal?.contains("hello v3 listening on 127.0.0.1:8600") == true, "\(v3)")
            #expect(v3.outcome?.journal?.contains { $0.contains("hello v1") } == false, "only this run's journal: \(v3)")
            #expect(try host.page().contains(#""version": "v2""#))
            #expect(try host.sh("systemctl is-active et.production.web@blue; readlink \(EngineHost.root)/apps/et/production/current").stdout
                == "inactive\n\(EngineHost.root)/apps/et/production/releases/\(host.id("v2"))\n")

            // Rollback to the release before the current one (v1), in blue.
            let back = try host.run("rollback", host.plan(.rollback, nil))
            #expect(back.status == 0 && back.outcome?.release == host.id("v1") && back.outcome?.slot == .blue, "\(back)")
            #expect(try host.page().contains(#""version": "v1""#))
            let missing = try host.run("rollback", host.plan(.rollback, ReleaseRef(id: "nope", label: "nope", createdAt: "")))
            #expect(missing.status == 4, "\(missing)")
            #expect(missing.events.last?.message == "release 'nope' is not kept on this host; kept releases: \(ReleaseRef.shortID(host.id("v2"))) (v2).")

            let status = try host.query("status")
            let manifest = try #require(status.events.first?.manifest)
            #expect(manifest.current?.label == "v1" && manifest.activeSlot == .blue && manifest.releases.map(\.label) == ["v1", "v2"])
            #expect(status.events.first?.units?.map(\.active) == ["active", "inactive", "active", "inactive"], "\(status)")
            let history = try host.query("history", limit: 10)
            #expect(history.events.first?.history?.map { "\($0.kind.rawValue) \($0.release?.label ?? "") \($0.result.rawValue)" } == [
                "rollback v1 deployed", "deploy v3 rolled-back", "deploy v2 unchanged", "deploy v2 deployed", "deploy v1 deployed",
            ], "\(history)")
            // The failed release was pruned; the two kept ones remain.
            #expect(try host.sh("ls /var/lib/berth-enginetest/apps/et/production/releases").stdout == [host.id("v1"), host.id("v2")].sorted().joined(separator: "\n") + "\n")
        }

        @Test func lockHeldByARunningDeployThenStaleAfterItIsKilled() throws {
            let host = try EngineHost("h1")
            try host.reset()
            #expect(try host.deploy("v1").status == 0)

            // A deploy whose app takes 5 s to start holds the lock meanwhile (run on the host in the
            // background, so no ssh session of this test stays open around it).
            try host.startInBackground("deploy", host.plan(.deploy, host.release("v2"), startDelay: 5), archive: host.archive("v2"))
            #expect(RunningProcess.waitUntil(seconds: 10) { (try? host.query("lock-status"))?.events.first?.lock?.state == .held })
            let blocked = try host.deploy("v2")
            #expect(blocked.status == 3, "\(blocked)")
            #expect(blocked.events.last?.message?.hasPrefix("another deploy holds the lock: tester@controller (pid 4242, 'berth deploy') since ") == true, "\(blocked)")
            let refused = try host.query("lock-release")
            #expect(refused.status == 3 && refused.events.last?.message?.contains("so it is not stale and stays") == true, "\(refused)")

            // Killed mid-deploy (kill -9 on the host): the lock is free but its record stays: stale.
            #expect(try host.sh("pkill -KILL -f '^/root/berth-engine-test deploy'").status == 0)
            let stale = try host.query("lock-status")
            #expect(stale.events.first?.lock?.state == .stale && stale.events.first?.lock?.holder?.user == "tester", "\(stale)")
            #expect(try host.page().contains(#""version": "v1""#), "v1 still serves after the killed deploy")

            // The next deploy takes the stale lock over and clears what the dead one left running.
            let next = try host.deploy("v2")
            #expect(next.status == 0 && next.outcome?.result == .deployed, "\(next)")
            let warnings = next.events.filter { $0.event == .warning }.compactMap(\.message)
            #expect(warnings.contains { $0.hasPrefix("took over a stale lock left by tester@controller") }, "\(warnings)")
            #expect(warnings.contains { $0.contains("still ran from an earlier deploy") }, "\(warnings)")
            #expect(try host.page().contains(#""version": "v2""#))

            // lock-release removes a stale record, and says so when there is none.
            _ = try host.sh(#"echo '{"holder":{"command":"berth deploy","machine":"ci","pid":7,"user":"bob"},"since":"2025-02-03T04:05:06Z","state":"held"}' > /var/lib/berth-enginetest/apps/et/production/deploy.lock"#)
            let released = try host.query("lock-release")
            #expect(released.status == 0 && released.events.first?.message == "removed the stale lock left by bob@ci (pid 7, 'berth deploy') since 2025-02-03T04:05:06Z.", "\(released)")
            #expect(try host.query("lock-release").events.first?.message == "the lock was already free.")
        }

        @Test func aDeployWhoseControllerVanishesStillFinishesOnTheHost() throws {
            let host = try EngineHost("h1")
            try host.reset()
            #expect(try host.deploy("v1").status == 0)
            // The controller's ssh dies while the new slot waits out its 2 s start: the engine
            // ignores SIGHUP and SIGPIPE and takes the deploy to its end.
            let controller = try host.start("deploy", host.plan(.deploy, host.release("v2"), startDelay: 2), archive: host.archive("v2"))
            usleep(1_000_000)
            controller.signal(SIGKILL)
            _ = controller.wait()
            #expect(RunningProcess.waitUntil(seconds: 20) { (try? host.query("lock-status"))?.events.first?.lock?.state == .free })
            let last = try host.query("history", limit: 1).events.first?.history?.first
            #expect(last?.release?.id == host.id("v2") && last?.result == .deployed, "\(String(describing: last))")
            #expect(try host.page().contains(#""version": "v2""#))
        }

        @Test func theActiveSlotComesBackAfterAPowerCut() throws {
            let host = try EngineHost("h2")
            try host.reset()
            #expect(try host.deploy("v1").status == 0)
            #expect(try host.deploy("v2").status == 0)
            try host.testbed.crash("h2")
            try host.testbed.boot("h2")
            // Enabled without a daemon-reload (wants symlinks only): systemd starts green at boot.
            #expect(RunningProcess.waitUntil(seconds: 30) { (try? host.page())?.contains(#""version": "v2""#) == true },
                    "after a reboot nginx should serve v2 from the green slot")
            #expect(try host.sh("systemctl is-active et.production.web@green et.production.worker@green et.production.web@blue").stdout
                == "active\nactive\ninactive\n")
        }
    }
}

/// One testbed host with the static engine installed at `/root/berth-engine-test`.
struct EngineHost {
    let name: String
    let testbed: Testbed
    let address: String
    let work: URL
    static let root = "/var/lib/berth-enginetest"
    static let enginePath = "/root/berth-engine-test"
    /// A setting with every character an env file could trip over.
    static let tricky = "a \"quoted\" 'single' $HOME ${PATH} #hash ;semi \\back\\slash `tick` %percent\ttab\nnewline  trailing  "

    init(_ name: String) throws {
        self.name = name
        testbed = try FleetAccess.ensure(hosts: 2)
        address = testbed.address(of: name)
        work = FileManager.default.temporaryDirectory.appendingPathComponent("berth-engine-on-host-\(name)")
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try copy(Self.engineBinary(), to: Self.enginePath, mode: "0755")
        for version in ["v1", "v2", "v3"] { try makeArchive(version) }
    }

    /// The static engine: `BERTH_ENGINE`, else `.build-static/release/berth-engine`.
    static func engineBinary() throws -> String {
        let path = ProcessInfo.processInfo.environment["BERTH_ENGINE"]
            ?? Repository.root.appendingPathComponent(".build-static/release/berth-engine").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSetupError("no static host engine at \(path); build it with 'swift build -c release --scratch-path .build-static --static-swift-stdlib --product berth-engine -Xlinker -s' or set BERTH_ENGINE.")
        }
        return path
    }

    /// The release of `archive(version)`: its id is the archive's SHA-256, its label the version.
    func release(_ version: String) -> ReleaseRef {
        ReleaseRef(id: id(version), label: version, createdAt: "2025-01-01T00:00:00Z")
    }

    func id(_ version: String) -> String {
        let hashed = try? RunningProcess.start(["sha256sum", archive(version)]).wait()
        return String(hashed?.stdout.prefix(64) ?? "")
    }

    func plan(_ kind: DeployPlan.Kind, _ release: ReleaseRef?, startDelay: Int? = nil) -> DeployPlan {
        let health = HealthCheck(path: "/health", intervalMs: 20, timeoutMs: 1000, attempts: startDelay == nil ? 100 : 500)
        var environment = [EnvVar(name: "GREETING", value: "hi from et"), EnvVar(name: "TRICKY", value: Self.tricky)]
        if let startDelay { environment.append(EnvVar(name: "HELLO_START_DELAY", value: "\(startDelay)")) }
        return DeployPlan(
            kind: kind, app: "et", env: "production", host: name, release: release,
            services: [
                ServicePlan(name: "web", command: "python3 server.py", port: 8600, health: health, proxied: true, stopTimeoutMs: 5000),
                ServicePlan(name: "worker", command: "python3 worker.py", port: nil, health: nil, proxied: false, stopTimeoutMs: 5000),
            ],
            proxy: ProxyConfig(listen: 80, sites: [ProxySite(domains: ["et.test"], service: "web")]),
            environment: environment, keepReleases: 2, sharedDirs: ["media"],
            requestedBy: Requester(user: "tester", machine: "controller", pid: 4242, command: "berth deploy"),
            root: Self.root)
    }

    /// Removes everything an earlier run of these tests left on the host.
    func reset() throws {
        let result = try sh("""
            systemctl stop 'et.production.*' 'et-production-*' 2>/dev/null; \
            rm -rf \(Self.root) /etc/systemd/system/et.production.* /etc/systemd/system/multi-user.target.wants/et.production.* \
            /etc/systemd/system/et-production-* /etc/systemd/system/multi-user.target.wants/et-production-* \
            /etc/nginx/conf.d/berth.et.production.conf /etc/nginx/conf.d/berth-et-production.conf; \
            systemctl daemon-reload && systemctl reload nginx
            """)
        guard result.status == 0 else { throw TestSetupError("could not clean \(name): \(result.combined)") }
    }

    // MARK: Engine

    struct Run: CustomStringConvertible {
        let status: Int32
        let events: [EngineEvent]
        let stdout: String
        let stderr: String
        var outcome: DeployOutcome? { events.last { $0.event == .outcome }?.outcome }
        var description: String { "exit \(status)\n\(stdout)\(stderr)" }
    }

    func deploy(_ version: String) throws -> Run {
        try run("deploy", plan(.deploy, release(version)), archive: archive(version))
    }

    func archive(_ version: String) -> String { work.appendingPathComponent("\(version).tar.gz").path }

    func query(_ command: String, limit: Int? = nil) throws -> Run {
        try run(command, StateQuery(app: "et", env: "production", root: Self.root, limit: limit))
    }

    /// `berth-engine COMMAND` over ssh with `input` as a JSON line on stdin, then the archive.
    func run(_ command: String, _ input: some Encodable, archive: String? = nil) throws -> Run {
        let output = try start(command, input, archive: archive).wait()
        let events = output.stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(EngineEvent.self, from: Data($0.utf8)) }
        return Run(status: output.status, events: events, stdout: output.stdout, stderr: output.stderr)
    }

    func start(_ command: String, _ input: some Encodable, archive: String? = nil) throws -> RunningProcess {
        let stdin = try writeInput(input, archive: archive)
        return try RunningProcess.start(["/bin/sh", "-c", #"exec ssh -F "$1" "$2" "$3" "$4" < "$5""#, "sh",
                                         testbed.sshConfig, name, Self.enginePath, command, stdin])
    }

    /// Starts the engine on the host, detached from this ssh session, reading its input from a file there.
    func startInBackground(_ command: String, _ input: some Encodable, archive: String? = nil) throws {
        try copy(try writeInput(input, archive: archive), to: "/root/berth-engine-test.in", mode: "0600")
        let started = try sh("setsid \(Self.enginePath) \(command) < /root/berth-engine-test.in > /root/berth-engine-test.out 2>&1 &")
        guard started.status == 0 else { throw TestSetupError("could not start the engine on \(name): \(started.combined)") }
    }

    /// The engine's stdin: the JSON line, then the archive if any.
    private func writeInput(_ input: some Encodable, archive: String?) throws -> String {
        let stdin = work.appendingPathComponent("stdin-\(UUID().uuidString)")
        var bytes = try JSONEncoder().encode(input)
        bytes.append(UInt8(ascii: "\n"))
        if let archive { bytes.append(try Data(contentsOf: URL(fileURLWithPath: archive))) }
        try bytes.write(to: stdin)
        return stdin.path
    }

    // MARK: Host

    func sh(_ command: String) throws -> ProcessOutput { try testbed.run(on: name, command) }

    /// The app's page through the host's nginx.
    func page() throws -> String {
        let output = try RunningProcess.start(["curl", "-sS", "--max-time", "5", "-H", "Host: et.test", "http://\(address)/"]).wait()
        return output.stdout
    }

    /// How often systemd reloaded its units since boot.
    func daemonReloads() throws -> Int {
        Int(try sh("journalctl _PID=1 -o cat --no-pager | grep -c '^Reloading\\.$'").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func copy(_ local: String, to remote: String, mode: String) throws {
        let output = try RunningProcess.start(["/bin/sh", "-c", #"exec ssh -F "$1" "$2" "cat > $3.tmp && chmod $4 $3.tmp && mv $3.tmp $3" < "$5""#,
                                               "sh", testbed.sshConfig, name, remote, mode, local]).wait()
        guard output.status == 0 else { throw TestSetupError("could not copy \(local) to \(name):\(remote): \(output.combined)") }
    }

    /// The example app as release `version`; v3 answers 503 on /health.
    func makeArchive(_ version: String) throws {
        let source = work.appendingPathComponent("src-\(version)")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        let app = Repository.root.appendingPathComponent("Examples/hello/app")
        for file in ["server.py", "worker.py"] {
            try FileManager.default.copyItem(at: app.appendingPathComponent(file), to: source.appendingPathComponent(file))
        }
        try version.write(to: source.appendingPathComponent("VERSION"), atomically: true, encoding: .utf8)
        if version == "v3" { try "".write(to: source.appendingPathComponent("FAIL_HEALTH"), atomically: true, encoding: .utf8) }
        let tar = try RunningProcess.start(["tar", "-czf", work.appendingPathComponent("\(version).tar.gz").path, "-C", source.path, "."]).wait()
        guard tar.status == 0 else { throw TestSetupError("tar failed: \(tar.combined)") }
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
