import ArgumentParser
import BerthControl
import BerthCore
import Foundation

/// Runs a read-only engine command on every host of the environment.
struct HostQuery {
    let context: CommandContext
    let engine: EngineBinary

    static func prepare(_ target: TargetOptions) async throws -> HostQuery {
        do {
            return HostQuery(context: try CommandContext.load(target), engine: try await EngineBinary.locate())
        } catch {
            throw fail(error)
        }
    }

    /// One answer per host: the engine's answer event, or the report of why there is none.
    func run(_ command: EngineCommand, limit: Int? = nil) async -> [(HostConfig, EngineEvent?, HostReport, Int32)] {
        let query = context.query(limit: limit)
        return await FleetRunner.run(context.hosts, limit: 16) { host in
            let start = ContinuousClock.now
            do {
                let run = try await context.client(for: host, engine: engine).run(command, input: query)
                let answer = run.events.last { [.state, .history, .lock].contains($0.event) }
                return (host, answer, HostReport.from(run: run, host: host, totalMs: start.elapsedMs), run.status)
            } catch {
                return (host, nil, HostReport(host: host.name, state: .failed, message: "\(error)"), 5)
            }
        }
    }
}

extension HostQuery {
    /// The environment's desired release as the release store holds it.
    enum Desired {
        /// The app has no `release_store`.
        case noStore
        /// nil: nothing was published yet.
        case state(DesiredState?)
        case unknown(String)
    }

    func desired() async -> Desired {
        guard let store = context.planner.storeHost(), let config = context.app.config.releaseStore else { return .noStore }
        do {
            let query = StoreQuery(app: context.app.config.name, env: context.env.name, path: config.path)
            let run = try await context.client(for: store, engine: engine).run(.storeStatus, input: query)
            if run.status == 0, run.events.contains(where: { $0.event == .desired }) { return .state(run.desired) }
            let report = HostReport.from(run: run, host: store, totalMs: 0)
            return .unknown("the release store on \(store.name) did not answer: \(report.message ?? "exit \(run.status)")")
        } catch {
            return .unknown("the release store on \(store.name) did not answer: \(error)")
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what runs where: release, desired release, drift, slot, units and lock on every host.",
        discussion: "The desired release comes from the app's release_store (the last successful deploy or rollback); a host drifts when it runs another release, e.g. because it was off during a deploy.")

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions

    struct HostStatus: Encodable {
        let host: String
        let reachable: Bool
        let release: ReleaseRef?
        /// What the release store says this host should run (nil: no store, or nothing published).
        let desired: ReleaseRef?
        /// Whether the host runs something else than its desired release (nil: unknown).
        let drift: Bool?
        let slot: Slot?
        let healthy: Bool?
        let units: [UnitState]
        let lock: LockInfo?
        /// Set while maintenance mode is on there.
        let maintenance: MaintenanceState?
        let message: String?
    }

    func run() async throws {
        let query = try await HostQuery.prepare(target)
        async let storeAnswer = query.desired()
        let answers = await query.run(.status)
        let store = await storeAnswer
        let statuses = answers.map { host, answer, report, _ -> HostStatus in
            let units = answer?.units ?? []
            let active = answer?.manifest?.activeSlot
            let activeUnits = units.filter { unit in active.map { unit.unit.hasSuffix("@\($0.rawValue).service") } ?? false }
            var desired: ReleaseRef?
            var drift: Bool?
            if case let .state(state) = store, let state, state.hosts.contains(host.name) {
                desired = state.release
                drift = answer.map { $0.manifest?.current?.id != state.release.id }
            }
            return HostStatus(host: host.name, reachable: answer != nil, release: answer?.manifest?.current,
                              desired: desired, drift: drift, slot: active,
                              healthy: answer?.manifest == nil ? nil : (!activeUnits.isEmpty && activeUnits.allSatisfy { $0.active == "active" }),
                              units: units, lock: answer?.lock, maintenance: answer?.maintenance, message: answer == nil ? report.message : answer?.message)
        }
        if output.json {
            try printJSON(statuses)
        } else {
            var rows = [["HOST", "REACHABLE", "RELEASE", "LABEL", "DESIRED", "DRIFT", "SLOT", "HEALTHY", "LOCK", "MAINTENANCE"]]
            for status in statuses {
                let drift = status.drift.map { $0 ? "yes" : "no" } ?? (status.desired == nil ? "-" : "unknown")
                rows.append([status.host, status.reachable ? "yes" : "no", status.release.map { ReleaseRef.shortID($0.id) } ?? "-",
                             status.release?.label ?? "-", status.desired?.label ?? "-", drift, status.slot?.rawValue ?? "-",
                             status.healthy.map { $0 ? "yes" : "no" } ?? "-", status.lock?.state.rawValue ?? "-",
                             status.maintenance.map { "on since \($0.since)" } ?? "off"])
            }
            for row in table(rows) { Printer.shared.line(row) }
            switch store {
            case .noStore: Printer.shared.line("(no release_store in the app file: the desired release is not recorded)")
            case .state(nil): Printer.shared.line("(the release store holds no desired release yet: deploy once)")
            case let .unknown(message): Printer.shared.line(message)
            case .state: break
            }
            for status in statuses where status.message != nil {
                Printer.shared.line("\(status.host): \(status.message!)")
            }
        }
        if statuses.contains(where: { !$0.reachable }) { throw ExitCode(BerthExit.unreachable) }
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the deploy history recorded on every host, newest first.")

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "How many entries per host.")
    var limit = 10

    struct HostHistory: Encodable {
        let host: String
        let entries: [HistoryEntry]?
        let message: String?
    }

    func run() async throws {
        let query = try await HostQuery.prepare(target)
        let answers = await query.run(.history, limit: limit)
        let histories = answers.map { host, answer, report, _ in
            HostHistory(host: host.name, entries: answer?.history, message: answer == nil ? report.message : nil)
        }
        if output.json {
            try printJSON(histories)
        } else {
            for history in histories {
                Printer.shared.line("\(history.host):")
                if let message = history.message { Printer.shared.line("  \(message)"); continue }
                var rows = [["WHEN", "KIND", "RELEASE", "LABEL", "RESULT", "BY", "TIME"]]
                for entry in history.entries ?? [] {
                    let ms = entry.steps.reduce(0) { $0 + $1.ms }
                    rows.append([entry.finishedAt, entry.kind.rawValue, entry.release.map { ReleaseRef.shortID($0.id) } ?? "-", entry.release?.label ?? "-",
                                 entry.result.rawValue + (entry.switchedBack == true ? " (watch)" : ""), "\(entry.requestedBy.user)@\(entry.requestedBy.machine)", "\(ms) ms"])
                }
                for row in table(rows) { Printer.shared.line("  " + row) }
            }
        }
        if histories.contains(where: { $0.entries == nil }) { throw ExitCode(BerthExit.unreachable) }
    }
}

struct Lock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect or release the deploy lock of an environment.",
        subcommands: [LockStatus.self, LockRelease.self])

    struct LockStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show who holds the deploy lock on every host, and whether its deploy died.")
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        func run() async throws { try await Lock.report(.lockStatus, target: target, output: output) }
    }

    struct LockRelease: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "release", abstract: "Remove a stale deploy lock left by a deploy that died (a live deploy's lock is never removed).")
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        func run() async throws { try await Lock.report(.lockRelease, target: target, output: output) }
    }

    struct HostLock: Encodable {
        let host: String
        let lock: LockInfo?
        let message: String?
    }

    static func report(_ command: EngineCommand, target: TargetOptions, output: OutputOptions) async throws {
        let query = try await HostQuery.prepare(target)
        let answers = await query.run(command)
        let locks = answers.map { host, answer, report, _ in
            HostLock(host: host.name, lock: answer?.lock, message: report.message ?? answer?.message)
        }
        if output.json {
            try printJSON(locks)
        } else {
            var rows = [["HOST", "LOCK", "HOLDER", "SINCE", "NOTE"]]
            for lock in locks {
                let holder = lock.lock?.holder.map { "\($0.user)@\($0.machine) pid \($0.pid) (\($0.command))" } ?? "-"
                rows.append([lock.host, lock.lock?.state.rawValue ?? "?", holder, lock.lock?.since ?? "-", lock.message ?? ""])
            }
            for row in table(rows) { Printer.shared.line(row) }
        }
        let codes = answers.map(\.3)
        if codes.contains(3) { throw ExitCode(BerthExit.lockHeld) }
        if answers.contains(where: { $0.1 == nil }) { throw ExitCode(BerthExit.unreachable) }
    }
}

/// Prints one value as a JSON line with stable (sorted) keys: the `--json` form of the queries.
func printJSON<T: Encodable>(_ value: T) throws {
    Printer.shared.line(String(decoding: try JSONEncoder.stable().encode(value), as: UTF8.self))
}
