import BerthCore

/// The watch window after the switch (`watch:`): the new release serves, the old slot still runs,
/// and every `intervalMs` one round of checks looks at the new slot. A service routed by nginx is
/// asked its health path *through nginx* (its listen port, the site's first domain as `Host`), as
/// a visitor would reach it; a service with a health check but no route is asked on its slot
/// port; every unit must still run without restarts. `failures` failed rounds in a row end the
/// window early with the reason, and the activation switches back.
public struct WatchWindow {
    /// One check of a round.
    public enum Check: Equatable, Sendable {
        /// GET `path` on nginx's `port` with `host` as the Host header.
        case throughNginx(service: String, port: Int, host: String, path: String, timeoutMs: Int)
        /// GET `path` on the new slot's own port (a service nginx does not route to).
        case direct(service: String, port: Int, path: String, timeoutMs: Int)
        /// The unit runs and has not restarted.
        case running(unit: String)
    }

    public let plan: DeployPlan
    public let system: any SystemControl
    public var probe = HTTPProbe()

    public init(plan: DeployPlan, system: any SystemControl) {
        self.plan = plan
        self.system = system
    }

    /// What one round checks for `services` in `slot`. Pure.
    public static func checks(plan: DeployPlan, services: [ServicePlan], slot: Slot) -> [Check] {
        var checks: [Check] = []
        for service in services {
            guard let health = service.health else { continue }
            if service.proxied, let proxy = plan.proxy,
               let domain = proxy.sites.first(where: { $0.service == service.name })?.domains.first {
                checks.append(.throughNginx(service: service.name, port: proxy.listen, host: domain, path: health.path,
                                            timeoutMs: health.timeoutMs))
            } else if let port = service.port(in: slot) {
                checks.append(.direct(service: service.name, port: port, path: health.path, timeoutMs: health.timeoutMs))
            }
        }
        checks += services.map { .running(unit: plan.layout.unitName(service: $0.name, slot: slot)) }
        return checks
    }

    /// Keeps watching for `watch.durationMs`; returns nil when the window passed, else why it
    /// failed (the last failed round's problems).
    public func run(_ watch: WatchConfig, services: [ServicePlan], slot: Slot) async -> String? {
        let checks = Self.checks(plan: plan, services: services, slot: slot)
        let window = Stopwatch()
        var inARow = 0
        var rounds = 0
        while true {
            let problems = await round(checks)
            rounds += 1
            inARow = problems.isEmpty ? 0 : inARow + 1
            if inARow >= max(watch.failures, 1) {
                let seconds = Double(window.milliseconds / 100) / 10
                return "the watch window saw \(inARow) failed round(s) of checks in a row, \(seconds) s after the switch: \(problems.joined(separator: "; "))"
            }
            let left = watch.durationMs - window.milliseconds
            if left <= 0 { return nil }
            await pause(milliseconds: min(watch.intervalMs, left))
        }
    }

    /// The problems one round found; empty when every check passed.
    func round(_ checks: [Check]) async -> [String] {
        var problems: [String] = []
        for check in checks {
            switch check {
            case let .throughNginx(service, port, host, path, timeoutMs):
                let answer = probe.request(port: port, path: path, host: host, userAgent: "berth-watch",
                                           timeoutMilliseconds: timeoutMs)
                if !answer.result.isHealthy {
                    problems.append("\(service): GET http://\(host)\(port == 80 ? "" : ":\(port)")\(path) through nginx got \(answer.result)")
                }
            case let .direct(service, port, path, timeoutMs):
                let result = probe.get(port: port, path: path, timeoutMilliseconds: timeoutMs)
                if !result.isHealthy { problems.append("\(service): GET http://127.0.0.1:\(port)\(path) got \(result)") }
            case let .running(unit):
                let state = await system.runState(unit)
                if state.hasStopped || state.activeState != "active" {
                    let how = state.restarts > 0 ? "restarted \(state.restarts) time(s)" : "is \(state.activeState) (\(state.result))"
                    problems.append("\(unit) \(how)")
                }
            }
        }
        return problems
    }
}
