import ArgumentParser
import BerthControl
import BerthCore
import Foundation

struct Maintenance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the maintenance page (503, Retry-After) instead of the app, services still running; or stop serving it.",
        discussion: "The page is the app file's maintenance.page (else a short built-in page). While it is on, `berth status` shows it and a deploy refuses unless run with --force.")

    enum Switch: String, ExpressibleByArgument, CaseIterable {
        case on, off
    }

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "on or off.")
    var state: Switch

    @Option(help: "How many hosts to switch at once.")
    var parallel = 16

    func run() async throws {
        let progress = makeProgress(json: output.json)
        let context: CommandContext
        let engine: EngineBinary
        var plans: [String: DeployPlan] = [:]
        var proxied: [HostConfig] = []
        do {
            context = try await CommandContext.load(target)
            let settings = try context.app.settings(for: context.env.name)
            let config = context.app.config.maintenance ?? MaintenanceConfig()
            var page: String?
            if state == .on, let file = config.page {
                let path = file.hasPrefix("/") ? file : context.app.directory + "/" + file
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw UserError(message: "the maintenance page \(path) (maintenance.page in \(context.app.file)) cannot be read.", code: BerthExit.badInput)
                }
                guard text.utf8.count <= MaintenanceConfig.maxPageBytes else {
                    throw UserError(message: "the maintenance page \(path) is larger than 1 MiB.", code: BerthExit.badInput)
                }
                page = text
            }
            for host in context.hosts {
                var plan = try context.planner.deployPlan(env: context.env.name, host: host,
                                                          release: ReleaseRef(id: String(repeating: "0", count: 64), label: "-", createdAt: ""),
                                                          settings: settings, requestedBy: context.requester)
                guard plan.proxy != nil else { continue }
                plan.kind = .maintenance
                plan.release = nil
                plan.hooks = nil
                plan.watch = nil
                plan.catchUp = nil
                plan.environment = []
                plan.maintenance = MaintenanceSwitch(on: state == .on, page: page, retryAfterSeconds: config.retryAfterSeconds)
                plans[host.name] = plan
                proxied.append(host)
            }
            guard !proxied.isEmpty else {
                throw UserError(message: "no host of \(context.env.name) runs a service nginx routes to; there is no site to put into maintenance.",
                                code: BerthExit.badInput)
            }
            engine = try await EngineBinary.locate()
        } catch {
            throw fail(error)
        }
        let started = ContinuousClock.now
        progress.headline("Maintenance mode \(state.rawValue) for \(context.app.config.name) in \(context.env.name): \(proxied.map(\.name).joined(separator: ", "))")
        let results = await context.with(hosts: proxied).activate(.maintenance, plans: plans, archive: nil, engine: engine,
                                                                  parallel: parallel, progress: progress)
        let reports = results.map(\.report)
        let code = BerthExit.code(for: reports, engineStatuses: results.map(\.status))
        progress.summary(command: "maintenance \(state.rawValue)", reports: reports, exitCode: code,
                         facts: SummaryFacts(environment: context.env.name, release: nil, label: nil, totalMs: started.elapsedMs))
        if code != 0 { throw ExitCode(code) }
    }
}
