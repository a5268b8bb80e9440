import ArgumentParser
import BerthConfig
import BerthControl
import BerthCore
import BerthTransport
import Foundation

/// Everything a subcommand needs after the app file is read: validated before any host is touched.
struct CommandContext {
    let app: LoadedApp
    var planner: Planner
    let env: EnvironmentConfig
    let hosts: [HostConfig]
    let ssh: SSHCommand
    let requester: Requester
    /// Signs what the release store serves (loaded by `signingPlans()` when the app has a store).
    var deployKey: DeployKey? = nil

    /// Reads and validates the app file; any problem is printed with its location and ends the command
    /// with exit code 2, before any host is contacted.
    static func load(_ target: TargetOptions) throws -> CommandContext {
        let app: LoadedApp
        do {
            app = try AppFile.load(path: target.config)
        } catch {
            throw UserError(message: "\(error)", code: BerthExit.badInput)
        }
        let planner = Planner(app: app.config)
        let env: EnvironmentConfig
        var hosts: [HostConfig]
        do {
            env = try planner.environment(target.env)
            hosts = try planner.hosts(in: target.env)
        } catch {
            throw UserError(message: "\(target.config): \(error)", code: BerthExit.badInput)
        }
        if !target.onlyHosts.isEmpty {
            let unknown = target.onlyHosts.filter { name in !hosts.contains { $0.name == name } }
            guard unknown.isEmpty else {
                throw UserError(message: "environment '\(env.name)' has no host \(unknown.joined(separator: ", ")); its hosts are \(hosts.map(\.name).joined(separator: ", ")).",
                                code: BerthExit.badInput)
            }
            hosts = hosts.filter { target.onlyHosts.contains($0.name) }
        }
        let sshConfig = target.sshConfig ?? ProcessInfo.processInfo.environment["BERTH_SSH_CONFIG"]
        return CommandContext(app: app, planner: planner, env: env, hosts: hosts,
                              ssh: SSHCommand(configFile: sshConfig, controlDirectory: try controlDirectory()),
                              requester: currentRequester())
    }

    /// Every plan (and the publish request, when there is a release store) fits in the one JSON
    /// line a host engine reads, checked before any host is contacted: an engine refuses a longer one.
    func checkSizes(of plans: [String: DeployPlan], publish: PublishRequest?) throws {
        let encoder = JSONEncoder.stable()
        let limit = EngineInput.maxLineBytes
        func fail(_ what: String, _ bytes: Int) -> UserError {
            UserError(message: "\(app.settingsLocation(env: env.name)): \(what) would be \(formatBytes(bytes)), more than the "
                + "\(limit >> 20) MiB a host engine reads; most of a plan is the environment's settings, so keep large "
                + "values out of the env files of '\(env.name)'", code: BerthExit.badInput)
        }
        for host in hosts {
            guard let plan = plans[host.name] else { continue }
            let bytes = try encoder.encode(plan).count
            if bytes > limit { throw fail("the plan for host '\(host.name)'", bytes) }
        }
        if let publish {
            // Each host's catch-up key joins the request later: an ed25519 public key line is < 200 bytes.
            let bytes = try encoder.encode(publish).count + publish.plans.count * 1_024
            if bytes > limit { throw fail("what the release store is sent (a plan for each of \(publish.plans.count) hosts)", bytes) }
        }
    }

    /// Tells the app file's webhook and command how the command ended; failures are warnings.
    func notify(_ notice: DeployNotice, progress: any Progress) async {
        guard let config = app.config.notify else { return }
        for warning in await Notifier(config: config, directory: app.directory).send(notice) {
            progress.note(host: "-", "warning: \(warning)")
        }
    }

    /// The `after_deploy` hooks, with the notice (the result) as JSON on their stdin; a failure is
    /// a warning: the deploy has already ended.
    func runAfterDeploy(_ notice: DeployNotice, facts: [EnvVar], progress: any Progress) async {
        let hooks = app.config.hooks.afterDeploy
        guard !hooks.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body: [UInt8] = (try? encoder.encode(notice)).map { [UInt8]($0) + [10] } ?? []
        let result = notice.exitCode == 0 ? "deployed" : "failed"
        let outcome = await LocalHooks.run(hooks, point: .afterDeploy, directory: app.directory,
                                           facts: facts + [EnvVar(name: "BERTH_RESULT", value: result)], stdin: body)
        for run in outcome.runs { for line in run.output { progress.note(host: "-", "after_deploy: \(line)") } }
        if let failure = outcome.failure { progress.note(host: "-", "warning: \(failure)") }
    }

    /// The same context limited to `hosts` (one rollout batch).
    func with(hosts: [HostConfig]) -> CommandContext {
        CommandContext(app: app, planner: planner, env: env, hosts: hosts, ssh: ssh, requester: requester, deployKey: deployKey)
    }

    /// With a release store: the controller's deploy key (made once), whose public half every plan
    /// carries to its host, so catch-ups there run only plans this key signed.
    func signingPlans() async throws -> CommandContext {
        guard app.config.releaseStore != nil else { return self }
        var context = self
        let key: DeployKey
        do {
            key = try await DeployKey.load()
        } catch {
            throw UserError(message: "\(error); berth needs it to sign what the release store serves (set BERTH_DEPLOY_KEY to use another file).",
                            code: BerthExit.badInput)
        }
        context.deployKey = key
        context.planner.planSigner = key.publicKey
        context.planner.plansIssuedAt = Self.now()
        return context
    }

    /// Now, in ISO 8601 UTC with milliseconds.
    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }

    func client(for host: HostConfig, engine: EngineBinary) -> EngineClient {
        EngineClient(transport: SSHTransport(host: host, ssh: ssh), engine: engine)
    }

    func query(limit: Int? = nil) -> StateQuery {
        StateQuery(app: app.config.name, env: env.name, limit: limit)
    }

    /// Short and private: ssh control sockets must fit in 108 bytes and must not be shared between users.
    private static func controlDirectory() throws -> String {
        do {
            return try ControlDirectory.prepare(ControlDirectory.defaultPath())
        } catch {
            throw UserError(message: error.description, code: BerthExit.badInput)
        }
    }

    private static func currentRequester() -> Requester {
        let env = ProcessInfo.processInfo.environment
        let user = env["USER"] ?? env["LOGNAME"] ?? getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) }
            ?? String(getuid())
        return Requester(user: user, machine: ProcessInfo.processInfo.hostName, pid: Int(getpid()),
                         command: (["berth"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
    }
}

/// An error already phrased for the user, with the exit code it maps to.
struct UserError: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    var description: String { message }
}

/// Prints a user error to stderr and exits with its code.
func fail(_ error: Error) -> ExitCode {
    if let user = error as? UserError {
        FileHandle.standardError.write(Data("error: \(user.message)\n".utf8))
        return ExitCode(user.code)
    }
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode(BerthExit.badInput)
}

extension CommandContext {
    /// Runs a deploy or rollback plan on every host (at most `parallel` at once), streaming each
    /// host's events to `progress`, and returns each host's report with the engine's exit status.
    func activate(_ command: EngineCommand, plans: [String: DeployPlan], archive: String?, engine: EngineBinary,
                  parallel: Int, progress: any Progress) async -> [HostRun] {
        await FleetRunner.run(hosts, limit: parallel) { host -> HostRun in
            let start = ContinuousClock.now
            do {
                let run = try await client(for: host, engine: engine)
                    .run(command, input: plans[host.name]!, archive: archive) { progress.event(host: host.name, $0) }
                noteEngineInstall(run, host: host, engine: engine, progress: progress)
                return HostRun(report: HostReport.from(run: run, host: host, totalMs: start.elapsedMs), status: run.status,
                               catchUpKey: run.catchUpKey)
            } catch {
                return HostRun(report: HostReport(host: host.name, state: .failed, message: "\(error)", totalMs: start.elapsedMs),
                               status: 5)
            }
        }
    }

    /// Says when a command had to install the host engine (or replace a corrupt one) first.
    func noteEngineInstall(_ run: EngineRun, host: HostConfig, engine: EngineBinary, progress: any Progress) {
        if run.replacedEngine {
            progress.note(host: host.name, "the host engine there did not match its SHA-256 (corrupt or changed); installed it again (\(formatBytes(engine.bytes)))")
        } else if run.installedEngine {
            progress.note(host: host.name, "installed the host engine (\(formatBytes(engine.bytes)))")
        }
    }

    /// The release store host's SSH keys as this machine trusts them (empty without a store).
    func storeHostKeys() async -> [String] {
        guard let store = planner.storeHost() else { return [] }
        return await TrustedHostKeys.lookup(host: store, configFile: ssh.configFile)
    }

    /// Makes `release` the environment's desired release in the app's release store, so hosts that
    /// were off catch up to it when they boot, if `command` succeeded everywhere it could (`code`
    /// 0 or 10) on every host of the environment. A publish that fails turns a `code` of 0 into 7.
    /// Returns the store's new desired state, or why not.
    func publish(command: String, release: ReleaseRef, archive: String?, settings: [EnvVar], runs: [HostRun],
                 storeHostKeys: [String], code: inout Int32, engine: EngineBinary, progress: any Progress) async -> Publication {
        guard planner.storeHost() != nil else { return .notConfigured }
        // Only a command that succeeded everywhere it could changes what the fleet should run.
        guard code == BerthExit.success || code == BerthExit.skippedOptional else {
            return .skipped("the \(command) did not succeed everywhere, so the desired release stays as it was")
        }
        let publication = await publish(release: release, archive: archive, settings: settings, runs: runs,
                                        storeHostKeys: storeHostKeys, engine: engine, progress: progress)
        if case .failed = publication, code == BerthExit.success { code = BerthExit.storeNotUpdated }
        return publication
    }

    private func publish(release: ReleaseRef, archive: String?, settings: [EnvVar], runs: [HostRun], storeHostKeys: [String],
                         engine: EngineBinary, progress: any Progress) async -> Publication {
        guard let store = planner.storeHost() else { return .notConfigured }
        let everyHost = ((try? planner.hosts(in: env.name)) ?? []).map(\.name)
        guard hosts.map(\.name) == everyHost else {
            return .skipped("only some hosts were asked for (--host), so the release store keeps its desired release")
        }
        let keys = runs.compactMap { run in run.catchUpKey.map { HostKey(host: run.report.host, publicKey: $0) } }
        do {
            guard var request = try planner.publishRequest(env: env.name, release: release, settings: settings, keys: keys,
                                                           requestedBy: requester, storeHostKeys: storeHostKeys)
            else { return .notConfigured }
            if let deployKey {
                // Each host's plan, exactly as it will run there, signed: the store keeps the text.
                var signed: [SignedPlan] = []
                for plan in request.plans {
                    let text = String(decoding: try JSONEncoder.stable().encode(plan), as: UTF8.self) + "\n"
                    signed.append(SignedPlan(host: plan.host, plan: text, signature: try await deployKey.sign(text)))
                }
                request.signed = signed
                // The desired state too, whole: the store writes this text as desired.json. Its
                // kept releases follow the store's current state, so ask the store for it first
                // (a store whose desired.json cannot be read starts again from this release).
                let query = StoreQuery(app: request.app, env: request.env, path: request.path)
                let current = try await client(for: store, engine: engine).run(.storeStatus, input: query)
                let previous = current.status == 0 ? current.desired : nil
                let desired = DesiredState.next(after: previous, app: request.app, env: request.env, release: request.release,
                                                hosts: request.plans.map(\.host), keep: request.keep,
                                                publishedAt: planner.plansIssuedAt ?? Self.now(), requestedBy: request.requestedBy)
                let text = String(decoding: try JSONEncoder.stable().encode(desired), as: UTF8.self) + "\n"
                request.signedDesired = SignedDesired(text: text, signature: try await deployKey.sign(text, namespace: PlanSigning.desiredNamespace))
            }
            let run = try await client(for: store, engine: engine).run(.publish, input: request, archive: archive) { event in
                if event.event == .warning { progress.event(host: store.name, event) }
            }
            if let desired = run.desired { return .published(desired, store: store.name) }
            let report = HostReport.from(run: run, host: store, totalMs: 0)
            return .failed("the release store on \(store.name) was not updated: \(report.message ?? "exit \(run.status)")")
        } catch {
            return .failed("the release store on \(store.name) was not updated: \(error)")
        }
    }
}

/// One host's result of a deploy or rollback: its report, the engine's exit status and the
/// catch-up key it reported.
struct HostRun {
    var report: HostReport
    var status: Int32
    var catchUpKey: String? = nil
}

/// What became of publishing a release to the release store.
enum Publication {
    /// The app has no `release_store`.
    case notConfigured
    case skipped(String)
    case published(DesiredState, store: String)
    case failed(String)

    /// The desired release id the store now holds, for the summary.
    var desired: String? {
        if case let .published(state, _) = self { return state.release.id }
        return nil
    }

    /// Tells the user what happened; a failure is a warning (its exit code is the caller's).
    func report(to progress: any Progress) {
        switch self {
        case .notConfigured: break
        case let .skipped(reason): progress.note(host: "-", "release store: \(reason).")
        case let .published(state, store):
            progress.note(host: store, "release store: \(state.release.label) (\(state.release.id)) is the desired release of \(state.hosts.joined(separator: ", ")); hosts that were off catch up to it when they boot.")
        case let .failed(message): progress.note(host: "-", "warning: \(message); hosts that were off will not catch up to this release.")
        }
    }
}

extension ContinuousClock.Instant {
    /// Milliseconds since this instant.
    var elapsedMs: Int {
        let duration = ContinuousClock.now - self
        return Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
