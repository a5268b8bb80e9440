import BerthCore

/// Runs one point's host hooks (`after_release`, `before_switch`, `after_switch`) in the new
/// release, one after the other, each as a transient unit (`ReleaseJob`) with its time limit, as
/// the app environment's service user unless the hook names another. Records every run (output
/// masked) for the history; the first failure stops the point.
struct HookSteps {
    let plan: DeployPlan
    let system: any SystemControl
    let stamp: String

    /// The runs so far, and the failure if one failed.
    func run(_ point: HookPoint, slot: Slot, release: String) async -> (runs: [HookRun], failure: StepFailure?) {
        let layout = plan.layout
        let mask = SecretMask(plan.environment)
        var runs: [HookRun] = []
        for (index, hook) in (plan.hooks?[point] ?? []).enumerated() {
            let job = ReleaseJob(
                command: hook.command,
                unit: "\(plan.app).\(plan.env).\(ReleaseJob.unitWord(point.step ?? point.rawValue))-\(index + 1)-\(stamp).service",
                user: hook.user ?? layout.serviceUser, workingDirectory: layout.releaseDir(release),
                environmentFiles: [layout.envFile], facts: JobFacts.facts(plan: plan, slot: slot, release: release),
                timeoutMs: hook.timeoutMs)
            let watch = Stopwatch()
            let result = await system.runJob(job)
            let ms = watch.milliseconds
            runs.append(HookRun(point: point.rawValue, command: hook.command, status: result.status, ms: ms,
                                output: JobFacts.lastLines(result, count: HookRun.outputLines).map(mask.apply)))
            if !result.succeeded {
                return (runs, StepFailure(mask.apply(
                    "the \(point.rawValue) hook '\(hook.command)' \(JobFacts.failure(result, timeoutMs: hook.timeoutMs, ms: ms))")))
            }
        }
        return (runs, nil)
    }
}
