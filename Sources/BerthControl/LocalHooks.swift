import BerthCore
import BerthTransport
import Foundation

/// Runs the app file's hooks on the deploying machine, from the app file's folder, one after the
/// other: `before_deploy` before any host is contacted, `after_deploy` with the result as JSON on
/// its stdin.
public enum LocalHooks {
    public struct Outcome: Sendable {
        public var runs: [HookRun] = []
        /// One sentence on the first hook that failed; nil when all passed.
        public var failure: String?
    }

    public static func run(_ hooks: [Hook], point: HookPoint, directory: String, facts: [EnvVar],
                           stdin: [UInt8] = []) async -> Outcome {
        var outcome = Outcome()
        for hook in hooks {
            let started = ContinuousClock.now
            let result: CommandResult
            do {
                result = try await ProcessRunner.run(LocalHookCommand.argv(hook, facts: facts), stdin: stdin,
                                                     workingDirectory: directory)
            } catch {
                outcome.failure = "the \(point.rawValue) hook '\(hook.command)' could not be started: \(error)"
                return outcome
            }
            let elapsed = started.duration(to: .now).components
            let ms = Int(elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000)
            let lines = HookRun.lastLines(stdout: result.stdout, stderr: result.stderr, count: HookRun.outputLines)
            outcome.runs.append(HookRun(point: point.rawValue, command: hook.command, status: result.status, ms: ms,
                                        output: lines))
            guard result.status == 0 else {
                let how = HookRun.failure(status: result.status, timedOut: result.status == LocalHookCommand.timedOutStatus,
                                          timeoutMs: hook.timeoutMs, said: Array(lines.suffix(3)))
                outcome.failure = "the \(point.rawValue) hook '\(hook.command)' \(how)"
                return outcome
            }
        }
        return outcome
    }
}
