import ArgumentParser
import BerthControl
import BerthCore
import Foundation

struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move traffic back to an earlier release, behind the same health gate as a deploy.")

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Release id to return to (default: the release before the current one on each host).")
    var release: String?

    @Option(help: "How many hosts to roll back at once.")
    var parallel = 16

    func run() async throws {
        let progress = makeProgress(json: output.json)
        let context: CommandContext
        let engine: EngineBinary
        let settings: [EnvVar]
        var planned: [String: DeployPlan] = [:]
        var storeKeys: [String] = []
        do {
            // A host engine refuses such a target on every host; say so before contacting any.
            if let release, release.isEmpty || release.unicodeScalars.contains(where: { $0 == "/" || $0 == "\n" || $0 == "\r" }) {
                throw UserError(message: "'\(release)' is not a release id or label; run 'berth history' to see the releases each host keeps.",
                                code: BerthExit.badInput)
            }
            context = try await CommandContext.load(target).signingPlans()
            settings = try context.app.settings(for: context.env.name)
            engine = try await EngineBinary.locate()
            storeKeys = await context.storeHostKeys()
            for host in context.hosts {
                planned[host.name] = try context.planner.rollbackPlan(env: context.env.name, host: host, to: release,
                                                                    settings: settings, requestedBy: context.requester,
                                                                    storeHostKeys: storeKeys)
            }
            try context.checkSizes(of: planned, publish: nil)
        } catch {
            throw fail(error)
        }
        let plans = planned
        let started = ContinuousClock.now
        progress.headline("Rolling back \(context.app.config.name) in \(context.env.name) to \(release ?? "the previous release")")
        let results = await context.activate(.rollback, plans: plans, archive: nil, engine: engine,
                                             parallel: parallel, progress: progress)
        let reports = results.map(\.report)
        var code = BerthExit.code(for: reports, engineStatuses: results.map(\.status))
        let publication = await publish(results, code: &code, context: context, settings: settings, storeHostKeys: storeKeys,
                                        engine: engine, progress: progress)
        publication.report(to: progress)
        progress.summary(command: "rollback", reports: reports, exitCode: code,
                         facts: SummaryFacts(environment: context.env.name, release: release, label: nil,
                                             desired: publication.desired, totalMs: started.elapsedMs))
        await context.notify(DeployNotice(app: context.app.config.name, environment: context.env.name, command: "rollback",
                                          release: release, label: nil, exitCode: code, hosts: reports),
                             progress: progress)
        if code != 0 { throw ExitCode(code) }
    }

    /// A rollback that brought every reachable host to the same release makes that release the
    /// desired one, so hosts that were off come back on it too. The store resolves the id to the
    /// release it kept; the archive is sent from this machine's cache when the store lacks it.
    private func publish(_ results: [HostRun], code: inout Int32, context: CommandContext, settings: [EnvVar],
                         storeHostKeys: [String], engine: EngineBinary, progress: any Progress) async -> Publication {
        guard context.planner.storeHost() != nil else { return .notConfigured }
        let landed = Set(results.filter { [.deployed, .unchanged].contains($0.report.state) }.compactMap(\.report.release))
        guard landed.count == 1, let id = landed.first else {
            return .skipped("the hosts did not all end on one release, so the desired release stays as it was")
        }
        return await context.publish(command: "rollback", release: ReleaseRef(id: id, label: id, createdAt: ""),
                                     archive: ReleaseArchive.cached(id: id), settings: settings, runs: results,
                                     storeHostKeys: storeHostKeys, code: &code, engine: engine, progress: progress)
    }
}
