import BerthCore

/// The read-only and lock commands: `status`, `history`, `lock-status`, `lock-release`.
public struct StateQueries {
    public let query: StateQuery
    public let system: any SystemControl
    public let events: any EventSink
    let layout: HostLayout

    public init(query: StateQuery, system: any SystemControl, events: any EventSink) {
        self.query = query
        self.system = system
        self.events = events
        layout = query.layout
    }

    /// One `state` event: the manifest (nil if never deployed), the lock, and every instance of
    /// the manifest's services in both slots as systemd sees it. The manifest is what serves
    /// (`ServingState`): when the one on disk lags behind or cannot be read, the event carries the
    /// one rebuilt from the host and a `message` saying so; nothing is written.
    public func status() async throws(EngineError) {
        let state = await ServingState.read(layout: layout, fallbackServices: [], system: system)
        let manifest = state.manifest
        let note = state.findings.isEmpty ? nil
            : "the records of this host lag behind what serves: \(state.findings.joined(separator: "; ")). Shown as the host is; the next deploy repairs them."
        var units: [String] = []
        let names = NameUpgrade(layout: layout, system: system)
        for service in manifest?.services ?? [] {
            for slot in Slot.allCases { units.append(names.unitName(service: service.name, slot: slot)) }
        }
        let states = await system.activeStates(units)
        var event = EngineEvent(event: .state, message: note, manifest: manifest, lock: DeployLock.inspect(layout.lockFile),
                                units: zip(units, states).map { UnitState(unit: $0.0, active: $0.1) })
        event.maintenance = MaintenanceMode.state(layout)
        events.emit(event)
    }

    /// One `history` event, newest first, at most `limit` entries.
    public func history() throws(EngineError) {
        do {
            events.emit(EngineEvent(event: .history, history: try StateStore(layout: layout).history(limit: query.limit)))
        } catch {
            throw .internal("\(error)")
        }
    }

    public func lockStatus() {
        events.emit(EngineEvent(event: .lock, lock: DeployLock.inspect(layout.lockFile)))
    }

    /// Clears a stale lock record; refuses while a live engine holds the lock.
    public func lockRelease() throws(EngineError) {
        let before: LockInfo
        do {
            before = try DeployLock.clearStale(layout.lockFile)
        } catch {
            switch error {
            case let .held(info):
                throw .lockHeld(info, releasing: true)
            case let .system(failure):
                throw .internal(failure.description)
            }
        }
        let message = before.state == .stale
            ? "removed the stale lock left by \(DeployLockText.holder(before))."
            : "the lock was already free."
        events.emit(EngineEvent(event: .lock, message: message, lock: LockInfo(state: .free)))
    }
}
