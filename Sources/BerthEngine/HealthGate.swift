import BerthCore

/// Decides whether a freshly started slot may receive traffic.
///
/// A service with a port and a health check must answer its path with a 2xx on
/// `127.0.0.1:<slot port>` within its attempts; between failed probes the gate asks systemd
/// whether the unit is still up, so an app that crashes fails the gate at once instead of after
/// all attempts. Once the probes pass, every unit of the slot must still run without restarts.
public struct HealthGate {
    public let system: any SystemControl
    public let layout: HostLayout
    public var probe = HTTPProbe()
    /// How often, at most, systemd is asked about a unit whose probes fail.
    public var unitCheckMilliseconds = 100
    /// Journal lines attached to a failure.
    public static let journalLines = 20
    /// When the slot was started (`Timestamp.microseconds()`): older journal lines belong to
    /// earlier runs and are left out of a failure.
    public var journalSince: Int64?

    public init(system: any SystemControl, layout: HostLayout) {
        self.system = system
        self.layout = layout
    }

    public func check(_ services: [ServicePlan], slot: Slot) async throws(StepFailure) {
        for service in services {
            guard let port = service.port(in: slot), let health = service.health else { continue }
            try await probe(service, port: port, health: health, slot: slot)
        }
        // Every unit must still run, not crash-loop: an answer on a port can come from a process
        // that is not the unit's.
        for service in services {
            let unit = layout.unitName(service: service.name, slot: slot)
            let state = await system.runState(unit)
            if state.hasStopped || state.activeState != "active" {
                throw await stopped(unit, state)
            }
        }
    }

    private func probe(_ service: ServicePlan, port: Int, health: HealthCheck, slot: Slot) async throws(StepFailure) {
        let unit = layout.unitName(service: service.name, slot: slot)
        let attempts = max(health.attempts, 1)
        let elapsed = Stopwatch()
        var sinceUnitCheck: Stopwatch? = nil
        var last = ProbeResult.refused
        for attempt in 1...attempts {
            last = probe.get(port: port, path: health.path, timeoutMilliseconds: health.timeoutMs)
            if last.isHealthy { return }
            if sinceUnitCheck.map({ $0.milliseconds >= unitCheckMilliseconds }) ?? true {
                let state = await system.runState(unit)
                if state.hasStopped { throw await stopped(unit, state) }
                sinceUnitCheck = Stopwatch()
            }
            if attempt < attempts { await pause(milliseconds: health.intervalMs) }
        }
        let seconds = Double(elapsed.milliseconds / 100) / 10
        throw StepFailure(
            "\(unit) failed its health check: GET http://127.0.0.1:\(port)\(health.path) got \(last) on all \(attempts) attempts in \(seconds) s.",
            journal: await system.journal(unit, lines: Self.journalLines, since: journalSince))
    }

    private func stopped(_ unit: String, _ state: UnitRunState) async -> StepFailure {
        let how = state.result == "success" || state.result == "unknown" ? state.activeState : state.result
        return StepFailure("\(unit) stopped right after it started (\(how)); see its journal below.",
                           journal: await system.journal(unit, lines: Self.journalLines, since: journalSince))
    }
}
