import BerthCore
import FoundationEssentials

/// The `smoke` step: every smoke check of every service, against the NEW slot itself
/// (`127.0.0.1:<slot port>`), never through nginx, after the health check and before the switch. The
/// first failure stops the step naming the check with what it expected and what it got; the
/// activation then undoes the slot like a failed health check, so nginx never sends the release a
/// request.
public struct SmokeGate {
    public let plan: DeployPlan
    public let system: any SystemControl
    public var probe = HTTPProbe()
    /// Makes transient unit names unique per run.
    public var stamp: String

    public init(plan: DeployPlan, system: any SystemControl, stamp: String) {
        self.plan = plan
        self.system = system
        self.stamp = stamp
    }

    public static func hasChecks(_ services: [ServicePlan]) -> Bool {
        services.contains { !($0.smoke ?? []).isEmpty }
    }

    public func check(_ services: [ServicePlan], slot: Slot, release: String) async throws(StepFailure) {
        let layout = plan.layout
        var number = 0
        for service in services {
            for check in service.smoke ?? [] {
                number += 1
                let failure: String?
                if let command = check.command {
                    let job = ReleaseJob(
                        command: command,
                        unit: "\(plan.app).\(plan.env).smoke-\(number)-\(stamp).service",
                        user: service.account(in: layout), workingDirectory: layout.releaseDir(release),
                        environmentFiles: [layout.envFile, layout.instanceEnvFile(service: service.name, slot: slot)],
                        facts: JobFacts.facts(plan: plan, slot: slot, release: release), timeoutMs: check.timeoutMs)
                    let watch = Stopwatch()
                    let result = await system.runJob(job)
                    failure = result.succeeded ? nil : JobFacts.failure(result, timeoutMs: check.timeoutMs, ms: watch.milliseconds)
                } else if let port = service.port(in: slot) {
                    let answer = probe.request(method: check.method, port: port, path: check.path ?? "/", host: check.host,
                                               userAgent: "berth-smoke", timeoutMilliseconds: check.timeoutMs)
                    failure = Self.judge(check, answer)
                } else {
                    failure = "the service has no port to send the request to"
                }
                if let failure {
                    let mask = SecretMask(plan.environment)
                    throw StepFailure(mask.apply("\(layout.unitName(service: service.name, slot: slot)) failed its smoke check \(check.title): \(failure)."))
                }
            }
        }
    }

    /// nil when the answer is what the check asks for, else what differs ("expected …, got …").
    public static func judge(_ check: SmokeCheck, _ answer: HTTPProbe.Answer) -> String? {
        guard case let .status(code, _) = answer.result else {
            return "expected status \(check.status), got \(answer.result) (after \(answer.milliseconds) ms)"
        }
        if code != check.status { return "expected status \(check.status), got \(answer.result)" }
        if let limit = check.maxLatencyMs, answer.milliseconds > limit {
            return "expected an answer within \(limit) ms, it took \(answer.milliseconds) ms"
        }
        let body = String(decoding: answer.body, as: UTF8.self)
        if let wanted = check.contains, !body.contains(wanted) {
            return "expected the body to contain \"\(wanted)\", got \(excerpt(body))"
        }
        if !check.json.isEmpty {
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(answer.body)) else {
                return "expected a JSON body, got \(excerpt(body))"
            }
            for expectation in check.json {
                guard let found = value.value(at: expectation.field) else {
                    return "expected JSON field \(expectation.field) to be \(expectation.value), the body has no such field"
                }
                if found != expectation.value {
                    return "expected JSON field \(expectation.field) to be \(expectation.value), got \(found)"
                }
            }
        }
        return nil
    }

    /// The start of a body, on one line, for a message.
    static func excerpt(_ body: String) -> String {
        if body.isEmpty { return "an empty body" }
        let line = String(body.prefix(120).map { $0.isNewline ? " " : $0 })
        return "\"\(line)\(body.count > 120 ? "…" : "")\""
    }
}

/// What transient jobs (hooks, smoke commands) are told, and how their failures read.
enum JobFacts {
    static func facts(plan: DeployPlan, slot: Slot, release: String) -> [EnvVar] {
        [EnvVar(name: "BERTH_APP", value: plan.app), EnvVar(name: "BERTH_ENV", value: plan.env),
         EnvVar(name: "BERTH_HOST", value: plan.host), EnvVar(name: "BERTH_RELEASE", value: release),
         EnvVar(name: "BERTH_SLOT", value: slot.rawValue)]
    }

    /// "exited with status 3: <last lines>" or "ran longer than its time limit of 5s and was stopped".
    static func failure(_ result: CommandResult, timeoutMs: Int, ms: Int) -> String {
        HookRun.failure(status: result.status, timedOut: ms >= timeoutMs, timeoutMs: timeoutMs,
                        said: lastLines(result, count: 5))
    }

    static func lastLines(_ result: CommandResult, count: Int) -> [String] {
        HookRun.lastLines(stdout: result.output, stderr: result.errorOutput, count: count)
    }
}
