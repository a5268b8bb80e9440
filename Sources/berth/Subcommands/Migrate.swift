import ArgumentParser
import BerthControl
import BerthCore
import Foundation

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Undo schema migrations with the app file's migrate_rollback command.",
        subcommands: [MigrateRollback.self])

    struct MigrateRollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Run migrate_rollback once, on the first reachable host of the migration's role, in the release that serves there.",
            discussion: "TARGET reaches the command as BERTH_MIGRATE_TARGET (e.g. `python3 manage.py migrate notes \"$BERTH_MIGRATE_TARGET\"` or `sqlx migrate revert --target-version \"$BERTH_MIGRATE_TARGET\"`). The release keeps serving; roll the code back with `berth rollback` afterwards when the old code needs the old schema.")

        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: "Where to migrate back to, as the command understands it (passed as BERTH_MIGRATE_TARGET).")
        var migrationTarget: String?

        func run() async throws {
            let progress = makeProgress(json: output.json)
            let context: CommandContext
            let engine: EngineBinary
            var plans: [String: DeployPlan] = [:]
            let candidates: [HostConfig]
            do {
                if let migrationTarget, migrationTarget.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) {
                    throw UserError(message: "the migration target must be on one line.", code: BerthExit.badInput)
                }
                context = try await CommandContext.load(target)
                let settings = try context.app.settings(for: context.env.name)
                let wanted = Set(context.hosts.map(\.name))
                candidates = try context.planner.migrationHosts(in: context.env.name).filter { wanted.contains($0.name) }
                for host in candidates {
                    guard let plan = try context.planner.migrateRollbackPlan(env: context.env.name, host: host, target: migrationTarget,
                                                                             settings: settings, requestedBy: context.requester) else {
                        throw UserError(message: "\(context.app.file) has no migrate_rollback; add one under migrate_rollback: to undo migrations.",
                                        code: BerthExit.badInput)
                    }
                    plans[host.name] = plan
                }
                guard !candidates.isEmpty else {
                    throw UserError(message: context.planner.migrationRole == nil
                                        ? "\(context.app.file) has no migrate; there are no migrations to roll back."
                                        : "no host of role '\(context.planner.migrationRole!)' is among the hosts asked for.",
                                    code: BerthExit.badInput)
                }
                engine = try await EngineBinary.locate()
            } catch {
                throw fail(error)
            }
            let started = ContinuousClock.now
            progress.headline("Rolling back migrations of \(context.app.config.name) in \(context.env.name)\(migrationTarget.map { " to \($0)" } ?? "")")
            var reports: [HostReport] = []
            var statuses: [Int32] = []
            for host in candidates {
                let runs = await context.with(hosts: [host]).activate(.migrateRollback, plans: plans, archive: nil, engine: engine,
                                                                       parallel: 1, progress: progress)
                guard let run = runs.first else { continue }
                reports.append(run.report)
                statuses.append(run.status)
                for hook in run.report.hooks ?? [] { for line in hook.output { progress.note(host: host.name, "migrate_rollback: \(line)") } }
                if ![.skipped, .unreachable].contains(run.report.state) { break }
            }
            let code = BerthExit.code(for: reports, engineStatuses: statuses)
            progress.summary(command: "migrate rollback", reports: reports, exitCode: code,
                             facts: SummaryFacts(environment: context.env.name, release: nil, label: nil, desired: nil,
                                                 totalMs: started.elapsedMs))
            if code != 0 { throw ExitCode(code) }
        }
    }
}
