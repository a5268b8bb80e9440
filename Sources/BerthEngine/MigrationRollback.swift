import BerthCore

/// `berth migrate rollback [TARGET]` on one host: under the deploy lock, runs the app's
/// `migrate_rollback` command in the release that serves now (its code knows the migrations to
/// undo), with the env file and `BERTH_MIGRATE_TARGET`, as a transient unit like every host
/// command. Nothing else changes: the same release keeps serving. The run goes into the history.
struct MigrationRollback {
    let plan: DeployPlan
    let system: any SystemControl
    let events: any EventSink

    func run() async -> Int32 {
        let layout = plan.layout
        let startedAt = Timestamp.now()
        events.emit(EngineEvent(event: .step, step: "lock", status: .started))
        let lock: DeployLock
        do {
            lock = try DeployLock.acquire(layout.lockFile, holder: plan.requestedBy, since: startedAt)
        } catch {
            let failure: EngineError = switch error {
            case let .held(info): .lockHeld(info, releasing: false)
            case let .system(failure): .internal(failure.description)
            }
            events.emit(EngineEvent(event: .error, message: failure.description))
            return failure.exitCode
        }
        defer { lock.release() }
        events.emit(EngineEvent(event: .step, step: "lock", status: .done, ms: 0))
        let store = StateStore(layout: layout)
        let manifest: Manifest?
        do { manifest = try store.manifest() } catch {
            events.emit(EngineEvent(event: .error, message: error.description))
            return error.exitCode
        }
        guard let manifest, let current = manifest.current, let slot = manifest.activeSlot, let command = plan.migrate else {
            let error = EngineError.badInput("nothing of \(plan.app) \(plan.env) is deployed on this host, so there is no release to run migrate_rollback in.")
            events.emit(EngineEvent(event: .error, message: error.description))
            return error.exitCode
        }
        events.emit(EngineEvent(event: .step, step: "migrate", status: .started))
        let facts = plan.migrateTarget.map { [EnvVar(name: "BERTH_MIGRATE_TARGET", value: $0)] } ?? []
        let (run, failure) = await HookSteps(plan: plan, system: system, stamp: String(Timestamp.microseconds()))
            .run(command, named: "migrate_rollback", unitWord: "migrate-rollback", slot: slot, release: current.id, facts: facts)
        let steps = [StepTiming(step: "lock", ms: 0), StepTiming(step: "migrate", ms: run.ms)]
        events.emit(EngineEvent(event: .step, step: "migrate", status: failure == nil ? .done : .failed, ms: run.ms,
                                message: failure?.message))
        var outcome = DeployOutcome(result: failure == nil ? .unchanged : .failed, release: current.id, previousRelease: nil,
                                    slot: slot, message: failure?.message
                                        ?? "migrate_rollback ran in \(current.label) (release \(ReleaseRef.shortID(current.id))), which still serves.",
                                    steps: steps)
        outcome.hooks = [run]
        var entry = HistoryEntry(kind: .migrateRollback, release: current, previousRelease: nil, result: outcome.result,
                                 message: outcome.message, requestedBy: plan.requestedBy, startedAt: startedAt,
                                 finishedAt: Timestamp.now(), steps: steps)
        entry.hooks = [run]
        try? store.append(entry)
        events.emit(EngineEvent(event: .outcome, outcome: outcome))
        return failure == nil ? EngineExit.ok : EngineExit.failed
    }
}
