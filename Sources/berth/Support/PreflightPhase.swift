import ArgumentParser
import BerthConfig
import BerthControl
import BerthCore
import Foundation

/// What pre-flight found: the failed checks, and the hosts it could not ask.
struct PreflightResult {
    var findings: [PreflightFinding]
    /// Hosts that did not answer (offline, ssh refused, an engine failure): the deploy reports
    /// them as it always does; `berth check` lists them.
    var unanswered: [HostRun]
}

extension CommandContext {
    /// Pre-flight on this machine and on every host (at most `parallel` at once), changing nothing.
    func preflight(plans: [String: DeployPlan], settings: [EnvVar], engine: EngineBinary, parallel: Int,
                   progress: any Progress) async -> PreflightResult {
        async let local = LocalPreflight.findings(app: app, env: env.name, settings: settings)
        let runs = await FleetRunner.run(hosts, limit: parallel) { host -> (HostRun, [PreflightFinding]?) in
            let start = ContinuousClock.now
            do {
                let run = try await client(for: host, engine: engine).run(.preflight, input: plans[host.name]!, archive: nil) { _ in }
                noteEngineInstall(run, host: host, engine: engine, progress: progress)
                let findings = run.events.last { $0.event == .preflight }?.findings
                return (HostRun(report: HostReport.from(run: run, host: host, totalMs: start.elapsedMs), status: run.status), findings)
            } catch {
                return (HostRun(report: HostReport(host: host.name, state: .failed, message: "\(error)", totalMs: start.elapsedMs), status: 5), nil)
            }
        }
        var result = PreflightResult(findings: await local, unanswered: [])
        for (run, findings) in runs {
            if let findings { result.findings += findings } else { result.unanswered.append(run) }
        }
        return result
    }

    /// The plans' pre-flight checks for a release of `releaseBytes` (unpacked).
    func withPreflight(_ plans: [String: DeployPlan], releaseBytes: Int, settings: [EnvVar]) -> [String: DeployPlan] {
        let checks = planner.preflightChecks(archiveBytes: releaseBytes, settings: settings)
        return plans.mapValues { plan in
            var plan = plan
            plan.preflight = checks
            return plan
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a deploy's pre-flight checks alone, changing nothing.",
        discussion: "On this machine: the settings the app requires (.env.example or preflight.required) and, with preflight.git: clean, the git checkout. On every host: free disk, nginx -t with the host's sites, conflicts over domains, ports and files, and the services named by DATABASE_URL/REDIS_URL (or preflight.reach) reachable. Every failure is listed with its fix; exit code 12 when any failed.")

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "How many hosts to check at once.")
    var parallel = 16

    func run() async throws {
        let progress = makeProgress(json: output.json)
        let context: CommandContext
        let settings: [EnvVar]
        let engine: EngineBinary
        var plans: [String: DeployPlan] = [:]
        let releaseBytes: Int
        do {
            context = try await CommandContext.load(target)
            settings = try context.app.settings(for: context.env.name)
            engine = try await EngineBinary.locate()
            releaseBytes = try LocalPreflight.releaseBytes(context.app)
            let release = ReleaseRef(id: String(repeating: "0", count: 64), label: "pre-flight", createdAt: CommandContext.now())
            for host in context.hosts {
                plans[host.name] = try context.planner.deployPlan(env: context.env.name, host: host, release: release, settings: settings,
                                                                  requestedBy: context.requester)
            }
        } catch {
            throw fail(error)
        }
        let started = ContinuousClock.now
        progress.headline("Checking \(context.app.config.name) in \(context.env.name): \(context.hosts.map(\.name).joined(separator: ", "))")
        let result = await context.preflight(plans: context.withPreflight(plans, releaseBytes: releaseBytes, settings: settings),
                                             settings: settings, engine: engine, parallel: parallel, progress: progress)
        progress.findings(result.findings, forced: false)
        let failedHosts = Set(result.findings.compactMap(\.host))
        let answered = context.hosts.filter { host in !result.unanswered.contains { $0.report.host == host.name } }
        let reports = answered.map { host in
            HostReport(host: host.name, state: failedHosts.contains(host.name) ? .failed : .ok,
                       message: failedHosts.contains(host.name) ? "pre-flight failed" : "pre-flight passed")
        } + result.unanswered.map(\.report)
        var code = BerthExit.code(for: result.unanswered.map(\.report), engineStatuses: result.unanswered.map(\.status))
        if !result.findings.isEmpty, code == BerthExit.success || code == BerthExit.skippedOptional { code = BerthExit.preflightFailed }
        if result.findings.isEmpty, result.unanswered.isEmpty { progress.headline("pre-flight: every check passed") }
        progress.summary(command: "check", reports: reports, exitCode: code,
                         facts: SummaryFacts(environment: context.env.name, release: nil, label: nil, totalMs: started.elapsedMs))
        if code != 0 { throw ExitCode(code) }
    }
}
