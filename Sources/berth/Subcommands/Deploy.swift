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

    func run() async throws {
        let progress = makeProgress(json: output.json)
        let context: CommandContext
        let settings: [EnvVar]
        let engine: EngineBinary
        let archive: ReleaseArchive
        var planned: [String: DeployPlan] = [:]
        do {
            // Everything that can fail on this machine happens before any host is contacted.
            context = try CommandContext.load(target)
            settings = try context.app.settings(for: context.env.name)
            engine = try await EngineBinary.locate()
            archive = try await ReleaseArchive.pack(directory: context.app.releaseDirectory(),
                                                    build: context.app.config.release.build,
                                                    buildDirectory: context.app.directory, label: label)
            for host in context.hosts {
                planned[host.name] = try context.planner.deployPlan(env: context.env.name, host: host, release: archive.ref,
                                                                  settings: settings, requestedBy: context.requester)
            }
        } catch {
            throw fail(error)
        }
        let plans = planned
        let release = archive.ref
        progress.headline("Deploying \(context.app.config.name) \(release.label) (release \(release.id), \(formatBytes(release.archiveBytes ?? 0))) to \(context.env.name): \(context.hosts.map(\.name).joined(separator: ", "))")
        let started = ContinuousClock.now
        let results = await context.activate(.deploy, plans: plans, archive: archive.path, engine: engine,
                                             parallel: parallel, progress: progress)
        let reports = results.map(\.report)
        let code = BerthExit.code(for: reports, engineStatuses: results.map(\.status))
        progress.summary(command: "deploy", reports: reports, exitCode: code,
                         facts: SummaryFacts(environment: context.env.name, release: release.id, label: release.label,
                                             totalMs: started.elapsedMs))
        if code != 0 { throw ExitCode(code) }
    }
}
