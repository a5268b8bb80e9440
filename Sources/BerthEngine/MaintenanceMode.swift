import BerthCore

/// `berth maintenance on|off` on one host: under the deploy lock, writes (or removes) the page and
/// the record, and has nginx serve every domain of the environment with the page and 503 (or
/// route to the serving slot again). Services keep running; nothing else changes. Every later
/// activation renders the site the same way while the record is there (`MaintenanceMode.site`).
struct MaintenanceMode {
    let plan: DeployPlan
    let system: any SystemControl
    let events: any EventSink
    var drainLimitMilliseconds = 30_000

    /// The record, when maintenance mode is on.
    static func state(_ layout: HostLayout) -> MaintenanceState? {
        (try? EngineJSON.decodeFile(MaintenanceState.self, at: layout.maintenanceFile, remedy: "")) ?? nil
    }

    /// What nginx needs to serve the page, while the record is there.
    static func site(_ layout: HostLayout) -> NginxSite.Maintenance? {
        state(layout).map { NginxSite.Maintenance(root: layout.maintenanceDir, retryAfterSeconds: $0.retryAfterSeconds) }
    }

    func run() async -> Int32 {
        let layout = plan.layout
        let startedAt = Timestamp.now()
        func failed(_ error: EngineError) -> Int32 {
            events.emit(EngineEvent(event: .error, message: error.description))
            return error.exitCode
        }
        guard let change = plan.maintenance, let proxy = plan.proxy else {
            return failed(.badInput("this host runs no service nginx routes to, so there is no site to put into maintenance."))
        }
        guard Files.exists(layout.manifestFile) else {
            return failed(.badInput("nothing of \(plan.app) \(plan.env) is deployed on this host; deploy first."))
        }
        let lock: DeployLock
        do {
            lock = try DeployLock.acquire(layout.lockFile, holder: plan.requestedBy, since: startedAt)
        } catch {
            switch error {
            case let .held(info): return failed(.lockHeld(info, releasing: false))
            case let .system(failure): return failed(.internal(failure.description))
            }
        }
        defer { lock.release() }
        let store = StateStore(layout: layout)
        let manifest: Manifest?
        do { manifest = try store.manifest() } catch { return failed(error) }
        guard let manifest, let current = manifest.current, let slot = manifest.activeSlot else {
            return failed(.badInput("nothing of \(plan.app) \(plan.env) is deployed on this host; deploy first."))
        }
        let before = Self.state(layout)
        let watch = Stopwatch()
        do {
            if change.on {
                try Files.makeDirectories(layout.maintenanceDir)
                try Files.writeAtomically(layout.maintenanceDir + "/" + NginxSite.maintenancePage,
                                          change.page ?? MaintenanceConfig.defaultPage(app: plan.app), mode: 0o644)
                let record = MaintenanceState(since: before?.since ?? startedAt, requestedBy: plan.requestedBy,
                                              retryAfterSeconds: change.retryAfterSeconds)
                try Files.writeAtomically(layout.maintenanceFile, ((try? EngineJSON.encodeLine(record)) ?? "{}") + "\n", mode: 0o644, durable: true)
            } else {
                try Files.remove(layout.maintenanceFile)
            }
        } catch {
            return failed(.internal("\(error)"))
        }
        let maintenance = Self.site(layout)
        let site = NginxSite(app: plan.app, env: plan.env, proxy: proxy, services: manifest.services, slot: slot, maintenance: maintenance).render()
        let nginx = NginxSwitch(system: system, siteFile: layout.nginxSiteFile)
        do {
            // Until nginx's old workers are gone, some new connections still reach them (and the
            // previous site): wait, so that "on" means every answer is the page.
            if let drain = try await nginx.apply(site), await !nginx.drain(drain, limitMilliseconds: drainLimitMilliseconds) {
                events.emit(EngineEvent(event: .warning, message: "nginx's old workers still ran \(drainLimitMilliseconds / 1000) s after the reload; they may answer a few more requests the old way."))
            }
        } catch {
            // Put the record back as it was, so it matches what nginx serves.
            if let before { try? Files.writeAtomically(layout.maintenanceFile, ((try? EngineJSON.encodeLine(before)) ?? "{}") + "\n", mode: 0o644) }
            else { try? Files.remove(layout.maintenanceFile) }
            return failed(.internal("maintenance mode was not turned \(change.on ? "on" : "off"): \(error.message)"))
        }
        let message = change.on ? "maintenance mode is on: nginx answers every request with the page and 503 (Retry-After: \(change.retryAfterSeconds)); \(current.label) keeps running."
                                : "maintenance mode is off: nginx routes to \(current.label) again."
        let steps = [StepTiming(step: "switch", ms: watch.milliseconds)]
        let outcome = DeployOutcome(result: .unchanged, release: current.id, previousRelease: nil, slot: slot, message: message, steps: steps)
        try? store.append(HistoryEntry(kind: .maintenance, release: current, previousRelease: nil, result: .unchanged, message: message,
                                       requestedBy: plan.requestedBy, startedAt: startedAt, finishedAt: Timestamp.now(), steps: steps))
        events.emit(EngineEvent(event: .outcome, outcome: outcome))
        return EngineExit.ok
    }
}
