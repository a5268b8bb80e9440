import BerthCore
import Glibc

/// What tests change about a run; the defaults are what a host needs.
public struct EngineSettings: Sendable {
    /// Where a deploy reads the release archive from.
    public var releaseSource: ReleaseStore.Source = .standardInput
    /// How long the drain waits for nginx's old workers before it carries on with a warning.
    public var drainLimitMilliseconds = 30_000
    public var healthProbe = HTTPProbe()
    /// Where the release store host authorizes catch-up keys.
    public var authorizedKeysFile = CatchUpStore.defaultAuthorizedKeysFile()
    /// How often a booting host retries the release store while it waits.
    public var catchUpRetryMilliseconds = 2_000
    /// A test hook that stops the activation at a step boundary (see `EngineFault`); nil: read
    /// `BERTH_ENGINE_FAULT` and the environment's fault file, which are normally absent.
    public var fault: EngineFault?
    /// `BERTH_ENGINE_FAULT` as the engine process found it (set by `berth-engine`'s main).
    public var faultVariable: String?

    public init() {}
}

/// A deploy or rollback on one host: takes the lock, starts the release in the idle slot, lets it
/// pass the health gate, moves nginx over, drains, stops the old slot and records the result.
///
/// Until the switch, every failure undoes what was changed (the idle slot stopped, env file and
/// units restored) and the previous release keeps serving untouched: outcome `rolled-back`. After
/// the switch the new release serves; later problems are warnings (or `failed` if the result
/// cannot be recorded).
///
/// Which slot serves is never taken from the manifest alone: before anything else the activation
/// reads what is true on the host (`ServingState`: the nginx site, the intent record, the links),
/// and when the records lag behind (a crash after the switch, a full disk at `record`, a lost or
/// corrupt manifest) it repairs them first, says so, and only then deploys into the other slot.
public final class ReleaseActivation {
    /// Every step a deploy reports, in order, with what a failure before the switch undoes. The
    /// `intent` record is written and synced before the switch; a crash after it is finished
    /// (or undone) by the next activation from the host's own state.
    public static let steps: [(name: String, undo: String)] = [
        ("lock", "the lock is let go (a crash leaves a stale record, taken over by the next deploy)"),
        ("release", "nothing: releases are content-addressed and kept"),
        ("env", "the previous env file is written back"),
        ("units", "the previous unit files are written back and systemd reloaded"),
        ("migrate", "nothing automatic: a migration that failed is left to the database's own transaction (PostgreSQL undoes a failed Django or sqlx migration); one that passed stays, for `berth migrate rollback` to undo"),
        ("after-release", "nothing: the hooks ran in the new release, which is kept (what they changed elsewhere is theirs to undo)"),
        ("start", "the new slot is stopped"),
        ("health", "nothing: it only checks"),
        ("smoke", "nothing: it only checks (the new slot is stopped by the undo of start)"),
        ("before-switch", "nothing: the hooks ran before any traffic moved"),
        ("intent", "the new slot's boot links and the intent record are removed"),
        ("switch", "the previous site is written back and nginx reloaded"),
        // From here on the new release serves; only a failed watch window switches back.
        ("after-switch", "never undone (a failing hook is a warning)"),
        ("drain", "never undone"),
        ("watch", "traffic goes back to the previous slot, which still runs, and the new slot is undone as before the switch"),
        ("stop-old", "never undone"),
        ("record", "never undone (a failure leaves the intent for the next deploy to finish)"),
        ("prune", "never undone"),
    ]
    /// `ActivationSteps.names` (a test checks that `steps` lists the same, in the same order).
    public static let stepNames = ActivationSteps.names

    let plan: DeployPlan
    let layout: HostLayout
    let system: any SystemControl
    let events: any EventSink
    let settings: EngineSettings
    let files: HostFiles
    let store: StateStore
    let releases: ReleaseStore
    let nginx: NginxSwitch
    let startedAt: String
    private var timings: [StepTiming] = []
    private var undo = Undo()
    private var lock: DeployLock?
    private var fault: EngineFault?
    /// Who may read the env file besides root (`ServiceAccounts`); nil: root only.
    private var envReader: SystemAccount?
    /// The hooks this activation ran, in order, for the history.
    private var hookRuns: [HookRun] = []

    /// What to put back if the new release does not make it to the switch.
    private struct Undo {
        /// The env file as it was (inner nil: there was none); nil if it was not touched.
        var appEnvironment: String??
        /// Unit files as they were, by path (nil: the file did not exist).
        var units: [String: String?] = [:]
        var reloadSystemd = false
        var startedUnits: [String] = []
        /// When the new slot was started, for its journal (`Timestamp.microseconds()`).
        var startedAt: Int64?
        /// Services whose new-slot boot links the intent step made.
        var enabled: [String] = []
        var enabledSlot: Slot?
        var intent = false
        /// The site file before the switch (inner nil: there was none), for a switch back.
        var previousSite: String??
    }

    public init(plan: DeployPlan, system: any SystemControl, events: any EventSink, settings: EngineSettings = EngineSettings()) {
        self.plan = plan
        layout = plan.layout
        self.system = system
        self.events = events
        self.settings = settings
        files = HostFiles(layout: layout)
        store = StateStore(layout: layout)
        releases = ReleaseStore(layout: layout)
        nginx = NginxSwitch(system: system, siteFile: layout.nginxSiteFile,
                            retiring: NameUpgrade(layout: layout, system: system).retiringSites)
        startedAt = Timestamp.now()
    }

    /// Runs the whole activation and returns the engine's exit status.
    public func run() async -> Int32 {
        events.emit(EngineEvent(event: .step, step: "lock", status: .started))
        let watch = Stopwatch()
        let lock: DeployLock
        do {
            lock = try takeLock()
        } catch {
            events.emit(EngineEvent(event: .step, step: "lock", status: .failed, ms: watch.milliseconds, message: error.description))
            events.emit(EngineEvent(event: .error, message: error.description))
            return error.exitCode
        }
        self.lock = lock
        defer { lock.release() }
        if let stale = lock.takenOver {
            warn("took over a stale lock left by \(DeployLockText.holder(stale)); that deploy died before it finished.")
        }
        let (fault, announcement) = EngineFault.load(configured: settings.fault, environmentText: settings.faultVariable,
                                                     file: layout.engineFaultFile)
        self.fault = fault
        if let announcement { warn(announcement) }
        finished("lock", watch)
        await boundary("lock")
        do {
            return try await activate()
        } catch {
            events.emit(EngineEvent(event: .error, message: error.description))
            return error.exitCode
        }
    }

    private func takeLock() throws(EngineError) -> DeployLock {
        do {
            try Files.makeDirectories(layout.appDir)
        } catch {
            throw .internal("\(error)")
        }
        do {
            return try DeployLock.acquire(layout.lockFile, holder: plan.requestedBy, since: startedAt)
        } catch {
            switch error {
            case let .held(info): throw .lockHeld(info, releasing: false)
            case let .system(failure): throw .internal(failure.description)
            }
        }
    }

    private func activate() async throws(EngineError) -> Int32 {
        let state = try await repair(await ServingState.read(layout: layout, fallbackServices: plan.services, system: system))
        let manifest = state.manifest
        let target = try target(in: manifest)
        let previous = manifest?.current
        let activeSlot = previous == nil ? nil : manifest?.activeSlot
        // Never the slot nginx routes to, whatever a record says.
        let slot = (state.routedSlot ?? activeSlot)?.other ?? .blue
        let services = plan.kind == .rollback && plan.services.isEmpty ? (manifest?.services ?? []) : plan.services
        let appEnvironment = files.appEnvironment(plan.environment)

        if let manifest, let activeSlot, previous?.id == target.id,
           await isRunningAsPlanned(target, slot: activeSlot, services: services, appEnvironment: appEnvironment,
                                    manifest: manifest) {
            if plan.kind == .deploy { events.emit(EngineEvent(event: .releaseNeeded, present: true)) }
            for name in Self.stepNames.dropFirst() { await skippedStep(name) }
            let outcome = DeployOutcome(result: .unchanged, release: target.id, previousRelease: previous?.id,
                                        slot: activeSlot, steps: timings)
            // A catch-up runs at every boot; only the ones that changed something are history.
            if plan.kind != .catchUp { try? store.append(historyEntry(target, outcome)) }
            await setUpCatchUp()
            events.emit(EngineEvent(event: .outcome, outcome: withHooks(outcome)))
            return EngineExit.ok
        }

        // Nothing is written or started when the deploy would take another's domain, port or files.
        try await HostCheck(plan: plan, system: system).refuseConflicts(services: services, slot: slot)

        let drain: NginxSwitch.Drain?
        do {
            if plan.kind != .rollback {
                try await step("release") { () throws(StepFailure) in try await receive(target) }
            }
            try await step("env") { () throws(StepFailure) in
                envReader = try await ServiceAccounts(plan: plan, system: system).prepare(services)
                try writeEnvironment(appEnvironment, services: services, slot: slot, release: target.id)
            }
            try await step("units") { () throws(StepFailure) in
                try await installUnits(services, slot: slot, release: target.id)
            }
            if let migration = plan.migrate {
                try await step("migrate") { () throws(StepFailure) in
                    let (run, failure) = await HookSteps(plan: plan, system: system, stamp: jobStamp)
                        .run(migration, named: "migrate", unitWord: "migrate", slot: slot, release: target.id)
                    hookRuns.append(run)
                    if let failure { throw failure }
                }
            } else {
                await skippedStep("migrate")
            }
            try await hooks(.afterRelease, slot: slot, release: target.id)
            try await step("start") { () throws(StepFailure) in
                try await start(services, slot: slot, release: target, routed: state.routedSlot)
            }
            try await step("health") { () throws(StepFailure) in
                var gate = HealthGate(system: system, layout: layout)
                gate.probe = settings.healthProbe
                gate.journalSince = undo.startedAt
                try await gate.check(services, slot: slot)
            }
            if SmokeGate.hasChecks(services) {
                try await step("smoke") { () throws(StepFailure) in
                    var gate = SmokeGate(plan: plan, system: system, stamp: jobStamp)
                    gate.probe = settings.healthProbe
                    try await gate.check(services, slot: slot, release: target.id)
                }
            } else {
                await skippedStep("smoke")
            }
            try await hooks(.beforeSwitch, slot: slot, release: target.id)
            let site = site(services, slot: slot)
            try await step("intent") { () throws(StepFailure) in
                try writeIntent(target, slot: slot, services: services, previous: previous, previousSlot: activeSlot,
                                previousServices: manifest?.services ?? [], site: site)
            }
            if site == nil, !Files.exists(layout.nginxSiteFile) {
                await skippedStep("switch")
                drain = nil
            } else {
                drain = try await step("switch") { () throws(StepFailure) in try await nginx.apply(site) }
            }
        } catch {
            await putBack()
            let outcome = DeployOutcome(result: previous == nil ? .failed : .rolledBack, release: target.id,
                                        previousRelease: previous?.id, slot: activeSlot, message: SecretMask(plan.environment).apply(error.message),
                                        journal: error.journal.map(SecretMask(plan.environment).apply), steps: timings)
            try? store.append(historyEntry(target, outcome))
            events.emit(EngineEvent(event: .outcome, outcome: withHooks(outcome)))
            return EngineExit.failed
        }

        // From here on the new release serves: nothing is undone any more.
        do {
            try await hooks(.afterSwitch, slot: slot, release: target.id)
        } catch {
            warn("release \(ReleaseRef.shortID(target.id)) serves, but \(error.message)")
        }
        if let drain {
            await step("drain") {
                if await !nginx.drain(drain, limitMilliseconds: settings.drainLimitMilliseconds) {
                    warn("nginx's old workers still ran \(settings.drainLimitMilliseconds / 1000) s after the reload (long requests?); stopping the old slot anyway.")
                }
            }
        } else {
            await skippedStep("drain")
        }
        if let watch = plan.watch, previous != nil, activeSlot != nil, MaintenanceMode.state(layout) == nil {
            do {
                try await step("watch") { () throws(StepFailure) in
                    var window = WatchWindow(plan: plan, system: system)
                    window.probe = settings.healthProbe
                    if let reason = await window.run(watch, services: services, slot: slot) { throw StepFailure(reason) }
                }
            } catch {
                return await switchBack(error.message, target: target, previous: previous, activeSlot: activeSlot)
            }
        } else {
            await skippedStep("watch")
        }
        await step("stop-old") {
            await stopOld(manifest, activeSlot: activeSlot, services: services, slot: slot)
            let names = (manifest?.services ?? []).map(\.name) + services.map(\.name)
            for warning in await NameUpgrade(layout: layout, system: system).retire(services: names) { warn(warning) }
        }

        let kept = keptReleases(target, manifest: manifest, slot: slot)
        let current = Manifest(app: plan.app, env: plan.env, current: target, activeSlot: slot, releases: kept,
                               services: services, updatedAt: Timestamp.now())
        do {
            try await step("record") { () throws(StepFailure) in
                do {
                    try Files.replaceSymlink(layout.currentLink, to: layout.releaseDir(target.id))
                    if fault?.failsRecord == true {
                        throw SystemCallError("write", "\(layout.manifestFile) (a full disk, simulated by the test fault hook)", code: ENOSPC)
                    }
                    try store.save(current)
                    try OwnershipStore(layout: layout).save(Ownership(plan: plan, services: services))
                    try store.append(historyEntry(target, DeployOutcome(
                        result: .deployed, release: target.id, previousRelease: previous?.id, slot: slot, steps: timings)))
                    try Files.remove(layout.intentFile)
                    try Files.syncDirectory(layout.appDir)
                } catch {
                    throw StepFailure("release \(target.id) serves from the \(slot.rawValue) slot, but \(error); the next deploy repairs the records from what serves.")
                }
            }
        } catch {
            events.emit(EngineEvent(event: .outcome, outcome: DeployOutcome(
                result: .failed, release: target.id, previousRelease: previous?.id, slot: slot,
                message: error.message, steps: timings)))
            return EngineExit.internalFailure
        }
        await step("prune") { prune(keeping: kept) }
        await setUpCatchUp()
        events.emit(EngineEvent(event: .outcome, outcome: withHooks(DeployOutcome(
            result: .deployed, release: target.id, previousRelease: previous?.id, slot: slot, steps: timings))))
        return EngineExit.ok
    }

    /// After a failed watch window: nginx routes to the previous slot again (it never stopped),
    /// its old workers drain, and the new slot is undone as if it had failed before the switch.
    /// History records an automatic rollback with the reason.
    private func switchBack(_ reason: String, target: ReleaseRef, previous: ReleaseRef?, activeSlot: Slot?) async -> Int32 {
        let mask = SecretMask(plan.environment)
        let back = "release \(ReleaseRef.shortID(target.id)) failed its watch window (\(reason))"
        do {
            if case let .some(site) = undo.previousSite, let drain = try await nginx.apply(site) {
                if await !nginx.drain(drain, limitMilliseconds: settings.drainLimitMilliseconds) {
                    warn("nginx's old workers still ran \(settings.drainLimitMilliseconds / 1000) s after switching back; stopping the new slot anyway.")
                }
            }
        } catch {
            // The new release still serves: its records stay as the intent says, for the next deploy.
            let outcome = DeployOutcome(result: .failed, release: target.id, previousRelease: previous?.id, slot: activeSlot?.other,
                                        message: mask.apply("\(back), and switching back failed: \(error.message) The new release still serves; deploy again or roll back."),
                                        steps: timings)
            try? store.append(historyEntry(target, outcome))
            events.emit(EngineEvent(event: .outcome, outcome: withHooks(outcome)))
            return EngineExit.failed
        }
        await putBack()
        var outcome = DeployOutcome(result: .rolledBack, release: target.id, previousRelease: previous?.id, slot: activeSlot,
                                    message: mask.apply("\(back); traffic was switched back to \(previous.map(\.label) ?? "the previous release") in the \(activeSlot?.rawValue ?? "previous") slot."),
                                    steps: timings)
        outcome.switchedBack = true
        var entry = historyEntry(target, outcome)
        entry.switchedBack = true
        try? store.append(entry)
        events.emit(EngineEvent(event: .outcome, outcome: withHooks(outcome)))
        return EngineExit.failed
    }

    // MARK: Repair

    /// When the records disagree with what serves (`state.findings`), makes them true before the
    /// activation goes on: nginx loads the site on disk and drains whatever workers an earlier
    /// reload left (they may still carry requests to the other slot), the serving slot runs and
    /// is the one enabled for boot, the other slot stops, and manifest, `current` and the intent
    /// are rewritten. Says what it found and did (warnings and a `repair` history entry).
    private func repair(_ found: ServingState) async throws(EngineError) -> ServingState {
        guard !found.findings.isEmpty else { return found }
        var state = found
        warn("the records of this host lag behind what serves: \(found.findings.joined(separator: "; ")); repairing them from the host's own state before going on.")
        var done: [String] = []
        if Files.exists(layout.nginxSiteFile), state.routedSlot != nil {
            var drain: NginxSwitch.Drain?
            do {
                drain = try await nginx.reloadAsIs()
                done.append("had nginx load the site on disk (the \(state.routedSlot!.rawValue) slot)")
            } catch {
                guard state.siteUnconfirmed, let intent = state.intent else {
                    throw .internal("could not repair the records: \(error.message)")
                }
                do { drain = try await nginx.apply(intent.previousSite) } catch { throw .internal("could not repair the records: \(error.message)") }
                done.append("put back the site of the \(intent.previousSlot?.rawValue ?? "previous") slot, as nginx rejected the new one (\(error.message))")
                state = await ServingState.read(layout: layout, fallbackServices: plan.services, system: system)
            }
            if let drain {
                if await nginx.drain(drain, limitMilliseconds: settings.drainLimitMilliseconds) {
                    done.append("waited for nginx's old workers to finish their requests")
                } else {
                    warn("nginx's old workers still ran \(settings.drainLimitMilliseconds / 1000) s after the reload (long requests?); going on anyway.")
                }
            }
        }
        let routed = state.routedSlot
        let serving = state.manifest?.current == nil ? [] : (state.manifest?.services ?? [])
        let names = ServingState.union([serving, state.recorded?.services ?? [], state.intent?.services ?? [],
                                        state.intent?.previousServices ?? [], plan.services]).map(\.name)
        if let routed, !serving.isEmpty {
            let units = serving.map { layout.unitName(service: $0.name, slot: routed) }
            let down = zip(units, await system.activeStates(units)).filter { $0.1 != "active" }.map(\.0)
            if !down.isEmpty {
                do {
                    try await system.start(down)
                    done.append("started \(down.joined(separator: ", ")), which nginx routes to")
                } catch {
                    warn("\(down.joined(separator: ", ")) should serve but did not start: \(error.message)")
                }
            }
        }
        let idleSlots = routed.map { [$0.other] } ?? Slot.allCases
        do {
            if let routed, !serving.isEmpty { try files.enable(services: serving.map(\.name), slot: routed) }
            for idle in idleSlots { try files.disable(services: names, slot: idle) }
            try syncBootLinks()
        } catch {
            throw .internal("could not repair the boot links: \(error)")
        }
        done.append(routed.map { "enabled the \($0.rawValue) slot for boot and disabled the \($0.other.rawValue) slot" }
                    ?? "disabled both slots for boot, as none serves")
        let idleUnits = idleSlots.flatMap { slot in names.map { layout.unitName(service: $0, slot: slot) } }
        let running = zip(idleUnits, await system.activeStates(idleUnits)).filter { $0.1 != "inactive" && $0.1 != "failed" }.map(\.0)
        if !running.isEmpty {
            do {
                try await system.stop(running)
                done.append("stopped \(running.joined(separator: ", ")), which nginx no longer routes to")
            } catch {
                warn("could not stop \(running.joined(separator: ", ")): \(error.message)")
            }
        }
        let repaired = state.manifest.map { manifest in
            Manifest(app: manifest.app, env: manifest.env, current: manifest.current, activeSlot: manifest.activeSlot,
                     releases: manifest.releases, services: manifest.services, updatedAt: Timestamp.now())
        }
        do {
            if let repaired, let release = repaired.current {
                try Files.replaceSymlink(layout.currentLink, to: layout.releaseDir(release.id))
                try store.save(repaired)
                done.append("rewrote manifest.json and the current link (\(DeployLockText.release(release)) in the \(repaired.activeSlot?.rawValue ?? "?") slot)")
            }
            try Files.remove(layout.intentFile)
            try Files.syncDirectory(layout.appDir)
        } catch {
            throw .internal("could not repair the records: \(error)")
        }
        let message = "found: \(found.findings.joined(separator: "; ")); did: \(done.joined(separator: "; "))."
        try? store.append(HistoryEntry(kind: .repair, release: repaired?.current, previousRelease: state.recorded?.current?.id,
                                       result: .deployed, message: message, requestedBy: plan.requestedBy,
                                       startedAt: startedAt, finishedAt: Timestamp.now(), steps: []))
        warn("repaired this host's records: \(done.joined(separator: "; ")).")
        state.manifest = repaired
        state.recorded = repaired
        state.findings = []
        state.intent = nil
        state.siteUnconfirmed = false
        return state
    }

    /// Syncs the boot links' directory, so a power cut keeps what was just enabled or disabled.
    private func syncBootLinks() throws(SystemCallError) {
        let wants = Files.directory(of: files.wantsLink("x"))
        if Files.kind(wants) == .directory { try Files.syncDirectory(wants) }
    }

    // MARK: Steps

    /// The release to activate: the plan's for a deploy; for a rollback the kept release asked for
    /// (by id, label or unique id prefix), else the most recent one that is not current.
    private func target(in manifest: Manifest?) throws(EngineError) -> ReleaseRef {
        if plan.kind != .rollback, let release = plan.release { return release }
        let current = manifest?.current?.id
        let kept = (manifest?.releases ?? []).filter { releases.isPresent($0.id) }
        guard let wanted = plan.release?.id else {
            guard let previous = kept.first(where: { $0.id != current }) else {
                throw .releaseNotOnHost(requested: nil, kept: kept, current: current)
            }
            return previous
        }
        if let exact = kept.first(where: { $0.id == wanted }) { return exact }
        let byLabel = kept.filter { $0.label == wanted }
        if byLabel.count == 1 { return byLabel[0] }
        let byPrefix = wanted.count >= 4 ? kept.filter { $0.id.hasPrefix(wanted) } : []
        if byPrefix.count == 1 { return byPrefix[0] }
        throw .releaseNotOnHost(requested: wanted, kept: kept, current: current)
    }

    /// Whether the host already runs `release` exactly as planned, so a deploy has nothing to do.
    private func isRunningAsPlanned(_ release: ReleaseRef, slot: Slot, services: [ServicePlan], appEnvironment: String,
                                    manifest: Manifest) async -> Bool {
        guard Set(manifest.services.map(\.name)) == Set(services.map(\.name)),
              releases.isPresent(release.id),
              Files.linkTarget(layout.slotLink(slot)) == layout.releaseDir(release.id),
              Files.linkTarget(layout.currentLink) == layout.releaseDir(release.id),
              (try? Files.readString(layout.envFile)) == appEnvironment else { return false }
        for service in services {
            guard (try? Files.readString(layout.templateUnitFile(service: service.name))) == files.unit(service),
                  (try? Files.readString(layout.instanceEnvFile(service: service.name, slot: slot)))
                      == files.instanceEnvironment(service, slot: slot, release: release.id),
                  files.isEnabled(service: service.name, slot: slot) else { return false }
        }
        guard nginx.isCurrent(site(services, slot: slot)) else { return false }
        let units = services.map { layout.unitName(service: $0.name, slot: slot) }
        return await system.activeStates(units).allSatisfy { $0 == "active" }
    }

    /// The nginx site routing to `slot`; nil when this host runs no proxied service.
    private func site(_ services: [ServicePlan], slot: Slot) -> String? {
        plan.proxy.map {
            NginxSite(app: plan.app, env: plan.env, proxy: $0, services: services, slot: slot,
                      maintenance: MaintenanceMode.site(layout)).render()
        }
    }

    private func receive(_ release: ReleaseRef) async throws(StepFailure) {
        releases.removeIncomplete()
        let present = releases.isPresent(release.id)
        events.emit(EngineEvent(event: .releaseNeeded, present: present))
        if !present {
            try await releases.receive(release, from: settings.releaseSource, sharedDirs: plan.sharedDirs)
            try await ServiceAccounts.makeReadOnly(layout.releaseDir(release.id))
        }
    }

    private func writeEnvironment(_ appEnvironment: String, services: [ServicePlan], slot: Slot,
                                  release: String) throws(StepFailure) {
        do {
            try Files.makeDirectories(layout.runDir)
            let previous = try Files.readString(layout.envFile)
            if previous != appEnvironment || !ServiceAccounts.canRead(layout.envFile, reader: envReader) {
                undo.appEnvironment = .some(previous)
                try ServiceAccounts.writeEnvironmentFile(layout.envFile, appEnvironment, reader: envReader)
            }
            for service in services {
                let path = layout.instanceEnvFile(service: service.name, slot: slot)
                let text = files.instanceEnvironment(service, slot: slot, release: release)
                if try Files.readString(path) != text { try Files.writeAtomically(path, text, mode: 0o644) }
            }
        } catch {
            throw StepFailure("\(error).")
        }
    }

    /// Writes the template units that changed (reloading systemd only then) and points the slot at
    /// the release.
    private func installUnits(_ services: [ServicePlan], slot: Slot, release: String) async throws(StepFailure) {
        do {
            try Files.makeDirectories(layout.systemdDir)
            for service in services {
                let path = layout.templateUnitFile(service: service.name)
                let text = files.unit(service)
                let previous = try Files.readString(path)
                if previous != text {
                    undo.units[path] = .some(previous)
                    try Files.writeAtomically(path, text, mode: 0o644)
                }
            }
            try Files.makeDirectories(layout.slotsDir)
            try Files.replaceSymlink(layout.slotLink(slot), to: layout.releaseDir(release))
        } catch {
            throw StepFailure("\(error).")
        }
        if !undo.units.isEmpty {
            undo.reloadSystemd = true
            do { try await system.daemonReload() } catch { throw StepFailure("\(error.message).") }
        }
    }

    private func start(_ services: [ServicePlan], slot: Slot, release: ReleaseRef, routed: Slot?) async throws(StepFailure) {
        let units = services.map { layout.unitName(service: $0.name, slot: slot) }
        guard slot != routed else {
            throw StepFailure("the \(slot.rawValue) slot is the one nginx routes to, so it is not replaced; nothing was changed.")
        }
        let states = await system.activeStates(units)
        let leftovers = zip(units, states).filter { $0.1 != "inactive" && $0.1 != "failed" }.map(\.0)
        undo.startedUnits = units
        if !leftovers.isEmpty {
            warn("\(leftovers.joined(separator: ", ")) still ran from an earlier deploy; stopped before starting \(release.label).")
            do { try await system.stop(units) } catch { throw StepFailure("\(error.message).") }
        }
        for service in services {
            guard let port = service.port(in: slot), settings.healthProbe.isTaken(port: port) else { continue }
            throw StepFailure("port \(port) of the \(slot.rawValue) slot is taken by a process that is not \(layout.unitName(service: service.name, slot: slot)); free the port or give \(service.name) another one.")
        }
        undo.startedAt = Timestamp.microseconds()
        do {
            try await system.start(units)
        } catch {
            for unit in units where await system.runState(unit).activeState != "active" {
                throw StepFailure("\(error.message).", journal: await system.journal(unit, lines: HealthGate.journalLines, since: undo.startedAt))
            }
            throw StepFailure("\(error.message).")
        }
    }

    /// Records (synced) the switch about to be made, then enables the new slot for boot beside the
    /// old one: from here a crash or a power cut boots both slots, and nginx loads either site.
    private func writeIntent(_ release: ReleaseRef, slot: Slot, services: [ServicePlan], previous: ReleaseRef?,
                             previousSlot: Slot?, previousServices: [ServicePlan], site: String?) throws(StepFailure) {
        do {
            let previousSite = try Files.readString(layout.nginxSiteFile)
            undo.previousSite = .some(previousSite)
            let intent = SwitchIntent(kind: plan.kind, release: release, slot: slot, services: services,
                                      previousRelease: previous, previousSlot: previousSlot, previousServices: previousServices,
                                      previousSite: previousSite, site: site,
                                      requestedBy: plan.requestedBy, startedAt: startedAt)
            let json = (try? EngineJSON.encodeLine(intent)) ?? "{}"
            undo.intent = true
            try Files.writeAtomically(layout.intentFile, json + "\n", mode: 0o644, durable: true)
            let names = services.map(\.name).filter { !files.isEnabled(service: $0, slot: slot) }
            undo.enabled = names
            undo.enabledSlot = slot
            try files.enable(services: names, slot: slot)
            try syncBootLinks()
        } catch {
            throw StepFailure("\(error).")
        }
    }

    /// After a failure before the switch: stop the new slot, restore env file and units, remove
    /// the new slot's boot links and, last, the intent.
    private func putBack() async {
        if !undo.startedUnits.isEmpty { try? await system.stop(undo.startedUnits) }
        if let previous = undo.appEnvironment {
            if let previous { try? ServiceAccounts.writeEnvironmentFile(layout.envFile, previous, reader: envReader) } else { try? Files.remove(layout.envFile) }
        }
        for (path, previous) in undo.units {
            if let previous { try? Files.writeAtomically(path, previous, mode: 0o644) } else { try? Files.remove(path) }
        }
        if undo.reloadSystemd { try? await system.daemonReload() }
        if let slot = undo.enabledSlot, !undo.enabled.isEmpty {
            try? files.disable(services: undo.enabled, slot: slot)
            try? syncBootLinks()
        }
        if undo.intent { try? Files.remove(layout.intentFile) }
    }

    /// Enables the new slot for boot, disables and stops the old one, and removes services that
    /// left the plan. Problems here are warnings: the new release already serves.
    private func stopOld(_ manifest: Manifest?, activeSlot: Slot?, services: [ServicePlan], slot: Slot) async {
        let names = services.map(\.name)
        let removed = (manifest?.services ?? []).map(\.name).filter { !names.contains($0) }
        do {
            try files.enable(services: names, slot: slot)
            var stop: [String] = []
            if let manifest, let activeSlot {
                let previousNames = manifest.services.map(\.name)
                try files.disable(services: previousNames, slot: activeSlot)
                stop += previousNames.map { layout.unitName(service: $0, slot: activeSlot) }
            }
            stop += removed.map { layout.unitName(service: $0, slot: slot) }
            try syncBootLinks()
            try await system.stop(stop)
            for service in removed { try files.removeService(service) }
            if !removed.isEmpty { try await system.daemonReload() }
        } catch {
            warn("the new release serves, but the old slot was not fully retired: \(error).")
        }
    }

    /// Releases to keep, most recently activated first: the `keepReleases` newest, plus the one
    /// the other slot still points at (the instant way back).
    private func keptReleases(_ target: ReleaseRef, manifest: Manifest?, slot: Slot) -> [ReleaseRef] {
        let all = ([target] + (manifest?.releases ?? []).filter { $0.id != target.id }).filter { releases.isPresent($0.id) }
        var kept = Array(all.prefix(plan.keepReleases))
        if let other = Files.linkTarget(layout.slotLink(slot.other)).map(Files.baseName(of:)),
           let release = all.first(where: { $0.id == other }), !kept.contains(release) {
            kept.append(release)
        }
        return kept
    }

    private func prune(keeping kept: [ReleaseRef]) {
        releases.removeIncomplete()
        let keep = Set(kept.map(\.id))
        for id in releases.ids() where !keep.contains(id) {
            do { try releases.remove(id) } catch { warn("could not prune release \(id): \(error).") }
        }
    }

    /// Installs (or removes) what this host needs to catch up by itself after being off, and
    /// reports its catch-up key for the release store. A problem here never undoes the deploy.
    private func setUpCatchUp() async {
        do {
            if let key = try await CatchUpSetup(plan: plan, system: system).apply() {
                events.emit(EngineEvent(event: .catchUpKey, publicKey: key))
            }
        } catch {
            warn("this host may not catch up by itself after being off: \(error.message)")
        }
    }

    // MARK: Events

    private func historyEntry(_ release: ReleaseRef, _ outcome: DeployOutcome) -> HistoryEntry {
        var entry = HistoryEntry(kind: plan.kind, release: release, previousRelease: outcome.previousRelease, result: outcome.result,
                                 message: outcome.message, requestedBy: plan.requestedBy, startedAt: startedAt,
                                 finishedAt: Timestamp.now(), steps: outcome.steps)
        entry.hooks = hookRuns.isEmpty ? nil : hookRuns
        entry.forced = plan.forced
        return entry
    }

    private func withHooks(_ outcome: DeployOutcome) -> DeployOutcome {
        var outcome = outcome
        outcome.hooks = hookRuns.isEmpty ? nil : hookRuns
        return outcome
    }

    /// Unique per activation: the transient units of hooks and smoke commands carry it.
    private var jobStamp: String { String(Timestamp.microseconds()) }

    /// One point's host hooks as a step (`skipped` when it has none); a failure throws like any
    /// step's, so before the switch it undoes the activation.
    private func hooks(_ point: HookPoint, slot: Slot, release: String) async throws(StepFailure) {
        guard let name = point.step else { return }
        guard !(plan.hooks?[point] ?? []).isEmpty else {
            await skippedStep(name)
            return
        }
        try await step(name) { () throws(StepFailure) in
            let (runs, failure) = await HookSteps(plan: plan, system: system, stamp: jobStamp).run(point, slot: slot, release: release)
            hookRuns += runs
            if let failure { throw failure }
        }
    }

    private func step<T>(_ name: String, _ body: () async throws(StepFailure) -> T) async throws(StepFailure) -> T {
        events.emit(EngineEvent(event: .step, step: name, status: .started))
        let watch = Stopwatch()
        do {
            let value = try await body()
            finished(name, watch)
            await boundary(name)
            return value
        } catch {
            timings.append(StepTiming(step: name, ms: watch.milliseconds))
            events.emit(EngineEvent(event: .step, step: name, status: .failed, ms: watch.milliseconds,
                                    message: SecretMask(plan.environment).apply(error.message)))
            throw error
        }
    }

    private func step(_ name: String, _ body: () async -> Void) async {
        events.emit(EngineEvent(event: .step, step: name, status: .started))
        let watch = Stopwatch()
        await body()
        finished(name, watch)
        await boundary(name)
    }

    private func skippedStep(_ name: String) async {
        skipped(name)
        await boundary(name)
    }

    /// The end of a step: where the test fault hook, when one is active, acts.
    private func boundary(_ name: String) async {
        guard let fault else { return }
        await fault.reached(name, announce: warn, letLockGo: { lock?.abandon() })
    }

    private func finished(_ name: String, _ watch: Stopwatch) {
        let ms = watch.milliseconds
        timings.append(StepTiming(step: name, ms: ms))
        events.emit(EngineEvent(event: .step, step: name, status: .done, ms: ms))
    }

    private func skipped(_ name: String) {
        events.emit(EngineEvent(event: .step, step: name, status: .skipped))
    }

    private func warn(_ message: String) {
        events.emit(EngineEvent(event: .warning, message: message))
    }
}
