import BerthCore

/// Runs host commands in a release, each as a transient unit (`ReleaseJob`) with its time limit,
/// as the app environment's service user unless the command names another: one point's hooks
/// (`after_release`, `before_switch`, `after_switch`) one after the other, the migration, and
/// `migrate_rollback`. Records every run (output masked) for the history; the first failure of a
/// point stops it.
struct HookSteps {
    let plan: DeployPlan
    let system: any SystemControl
    let stamp: String

    /// The runs so far, and the failure if one failed.
    func run(_ point: HookPoint, slot: Slot, release: String) async -> (runs: [HookRun], failure: StepFailure?) {
        var runs: [HookRun] = []
        for (index, hook) in (plan.hooks?[point] ?? []).enumerated() {
            let (run, failure) = await run(hook, named: point.rawValue, unitWord: "\(ReleaseJob.unitWord(point.step ?? point.rawValue))-\(index + 1)",
                                           slot: slot, release: release)
            runs.append(run)
            if let failure { return (runs, failure) }
        }
        return (runs, nil)
    }

    /// One command as `name` (`after_release`, `migrate`…): its run, and a failure naming it.
    func run(_ hook: Hook, named name: String, unitWord: String, slot: Slot, release: String,
             facts extra: [EnvVar] = []) async -> (run: HookRun, failure: StepFailure?) {
        let layout = plan.layout
        let mask = SecretMask(plan.environment)
        let job = ReleaseJob(
            command: hook.command, unit: "\(plan.app).\(plan.env).\(unitWord)-\(stamp).service",
            user: hook.user ?? layout.serviceUser, workingDirectory: layout.releaseDir(release),
            environmentFiles: [layout.envFile], facts: JobFacts.facts(plan: plan, slot: slot, release: release) + extra,
            timeoutMs: hook.timeoutMs)
        let watch = Stopwatch()
        let result = await system.runJob(job)
        let ms = watch.milliseconds
        let run = HookRun(point: name, command: hook.command, status: result.status, ms: ms,
                          output: JobFacts.lastLines(result, count: HookRun.outputLines).map(mask.apply))
        guard !result.succeeded else { return (run, nil) }
        let what = name == "migrate" ? "the migration" : "the \(name) hook"
        return (run, StepFailure(mask.apply("\(what) '\(hook.command)' \(JobFacts.failure(result, timeoutMs: hook.timeoutMs, ms: ms))")))
    }
}
