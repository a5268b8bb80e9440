import ArgumentParser
import BerthControl
import BerthCore
import Foundation

struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ship the release to every host of an environment and switch traffic once it is healthy.",
        discussion: "Each host starts the new release beside the running one, waits for its health check, switches nginx, drains and stops the old release. A host whose new release fails keeps serving the old one.")

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .customLong("label"), help: "A label for this release (default: git describe of the app folder, else the release id).")
    var label: String?

    @Option(help: "How many hosts to deploy to at once.")
    var parallel = 16

    @Flag(help: "Deploy even when pre-flight checks fail; the history of each host records which.")
    var force = false

    func run() async throws {
        let progress = makeProgress(json: output.json)
        let context: CommandContext
        let settings: [EnvVar]
        let engine: EngineBinary
        let archive: ReleaseArchive
        var planned: [String: DeployPlan] = [:]
        var storeKeys: [String] = []
        do {
            // Everything that can fail on this machine happens before any host is contacted.
            context = try await CommandContext.load(target).signingPlans()
            settings = try context.app.settings(for: context.env.name)
            // Looking up the store's trusted key (two local spawns) overlaps packing the release.
            async let keys = context.storeHostKeys()
            engine = try await EngineBinary.locate()
            archive = try await ReleaseArchive.pack(app: context.app, label: label)
            storeKeys = await keys
            for host in context.hosts {
                planned[host.name] = try context.planner.deployPlan(env: context.env.name, host: host, release: archive.ref,
                                                                  settings: settings, requestedBy: context.requester,
                                                                  storeHostKeys: storeKeys)
            }
            try context.checkSizes(of: planned, publish: try context.planner.publishRequest(
                env: context.env.name, release: archive.ref, settings: settings, keys: [],
                requestedBy: context.requester, storeHostKeys: storeKeys))
        } catch {
            throw fail(error)
        }
        var plans = planned
        let release = archive.ref
        let hookFacts = [EnvVar(name: "BERTH_APP", value: context.app.config.name), EnvVar(name: "BERTH_ENV", value: context.env.name),
                         EnvVar(name: "BERTH_RELEASE", value: release.id)]
        let before = await LocalHooks.run(context.app.config.hooks.beforeDeploy, point: .beforeDeploy,
                                          directory: context.app.directory, facts: hookFacts)
        for run in before.runs { for line in run.output { progress.note(host: "-", "before_deploy: \(line)") } }
        if let failure = before.failure {
            throw fail(UserError(message: "\(failure); no host was contacted.", code: BerthExit.hookFailed))
        }
        // Pre-flight: every check on this machine and on every host, before any host changes.
        let releaseBytes = (try? LocalPreflight.releaseBytes(context.app)) ?? (release.archiveBytes ?? 0)
        let checked = await context.preflight(plans: context.withPreflight(plans, releaseBytes: releaseBytes, settings: settings),
                                              settings: settings, engine: engine, parallel: parallel, progress: progress)
        progress.findings(checked.findings, forced: force)
        if !checked.findings.isEmpty {
            guard force else {
                throw fail(UserError(message: "\(checked.findings.count) pre-flight check(s) failed (listed above); no host was changed. Fix them, or deploy with --force.",
                                     code: BerthExit.preflightFailed))
            }
            let forced = checked.findings.map(\.description)
            plans = plans.mapValues { plan in
                var plan = plan
                plan.forced = forced
                return plan
            }
        }
        progress.headline("Deploying \(context.app.config.name) \(release.label) (release \(ReleaseRef.shortID(release.id)), \(formatBytes(release.archiveBytes ?? 0))) to \(context.env.name): \(context.hosts.map(\.name).joined(separator: ", "))")
        let started = ContinuousClock.now
        let results = await rollout(context: context, plans: plans, archive: archive, engine: engine, progress: progress)
        let reports = results.map(\.report)
        var code = BerthExit.code(for: reports, engineStatuses: results.map(\.status))
        let publication = await context.publish(command: "deploy", release: release, archive: archive.path, settings: settings,
                                                runs: results, storeHostKeys: storeKeys, code: &code, engine: engine,
                                                progress: progress)
        publication.report(to: progress)
        progress.summary(command: "deploy", reports: reports, exitCode: code,
                         facts: SummaryFacts(environment: context.env.name, release: release.id, label: release.label,
                                             desired: publication.desired, totalMs: started.elapsedMs,
                                             leftOutFiles: archive.leftOut.count,
                                             leftOutSummary: SummaryFacts.describe(leftOut: archive.leftOut)))
        let notice = DeployNotice(app: context.app.config.name, environment: context.env.name, command: "deploy",
                                  release: release.id, label: release.label, exitCode: code, hosts: reports)
        await context.notify(notice, progress: progress)
        await context.runAfterDeploy(notice, facts: hookFacts, progress: progress)
        if code != 0 { throw ExitCode(code) }
    }

    /// Deploys batch after batch (one batch of every host without a `rollout:`). Once more hosts
    /// failed than the rollout tolerates, later batches are not started and keep their release.
    private func rollout(context: CommandContext, plans: [String: DeployPlan], archive: ReleaseArchive,
                         engine: EngineBinary, progress: any Progress) async -> [HostRun] {
        let batches = (try? context.planner.batches(in: context.env.name)) ?? [context.hosts]
        var wanted = Set(context.hosts.map(\.name))
        let rollout = try? context.planner.rollout(in: context.env.name)
        var results: [HostRun] = []
        var failures = 0
        if let role = context.planner.migrationRole {
            let (runs, migrated) = await migrate(role: role, context: context, plans: plans, archive: archive, engine: engine,
                                                 progress: progress)
            results += runs
            wanted.subtract(runs.map(\.report.host))
            guard migrated else {
                let why = runs.last.map { "the migration on \($0.report.host) failed" } ?? "no host of role '\(role)' is in this deploy to run the migration"
                for host in context.hosts where wanted.contains(host.name) {
                    results.append(HostRun(report: HostReport(host: host.name, state: .notStarted,
                                                              message: "not started: \(why); it keeps its release."), status: 0))
                }
                return results
            }
        }
        for (index, batch) in batches.map({ $0.filter { wanted.contains($0.name) } }).filter({ !$0.isEmpty }).enumerated() {
            if failures > (rollout?.maxFailures ?? Int.max) {
                for host in batch {
                    results.append(HostRun(report: HostReport(host: host.name, state: .notStarted, batch: index + 1,
                                                              message: "not started: the rollout stopped after \(failures) failed host(s); it keeps its release."),
                                           status: 0))
                }
                continue
            }
            if index > 0, let pause = rollout?.pauseMs, pause > 0 {
                progress.note(host: "-", "pausing \(pause) ms before batch \(index + 1)")
                try? await Task.sleep(for: .milliseconds(pause))
            }
            if batches.count > 1 {
                progress.headline("batch \(index + 1) of \(batches.count): \(batch.map(\.name).joined(separator: ", "))")
            }
            let batchResults = await context.with(hosts: batch)
                .activate(.deploy, plans: plans, archive: archive.path, engine: engine, parallel: parallel, progress: progress)
            for var result in batchResults {
                result.report.batch = batches.count > 1 ? index + 1 : nil
                if result.report.isFailure { failures += 1 }
                results.append(result)
            }
        }
        return results
    }

    /// The migration runs once, on the first reachable host of its role (in the environment's
    /// order), as part of that host's deploy; every other host starts only after it switched.
    /// Offline hosts of the role are passed over. Returns the runs and whether a host migrated.
    private func migrate(role: String, context: CommandContext, plans: [String: DeployPlan], archive: ReleaseArchive,
                         engine: EngineBinary, progress: any Progress) async -> ([HostRun], Bool) {
        let wanted = Set(context.hosts.map(\.name))
        let candidates = ((try? context.planner.migrationHosts(in: context.env.name)) ?? []).filter { wanted.contains($0.name) }
        var runs: [HostRun] = []
        for host in candidates {
            progress.headline("migrating on \(host.name) (role \(role)) before the other hosts")
            var migrating = plans
            migrating[host.name] = context.planner.migrating(plans[host.name]!)
            let run = await context.with(hosts: [host])
                .activate(.deploy, plans: migrating, archive: archive.path, engine: engine, parallel: 1, progress: progress)
            runs += run
            guard let report = run.first?.report else { continue }
            if [.skipped, .unreachable].contains(report.state) { continue }
            return (runs, !report.isFailure)
        }
        return (runs, false)
    }
}
