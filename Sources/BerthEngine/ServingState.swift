import BerthCore

/// The switch an activation is about to make, written and synced (`intent` step) before nginx is
/// touched and removed once the result is recorded. Found by a later activation, it says that one
/// died between the two, and what either side of its switch looks like.
public struct SwitchIntent: Codable, Sendable, Equatable {
    public var kind: DeployPlan.Kind
    public var release: ReleaseRef
    /// The slot the activation moves traffic to, and its services.
    public var slot: Slot
    public var services: [ServicePlan]
    /// What served before (nil: nothing, a first deploy).
    public var previousRelease: ReleaseRef?
    public var previousSlot: Slot?
    public var previousServices: [ServicePlan]
    /// The nginx site before the switch and the one the switch writes (nil: no site file).
    public var previousSite: String?
    public var site: String?
    public var requestedBy: Requester
    public var startedAt: String
}

/// What serves one app environment on this host, derived from the host itself rather than from
/// `manifest.json`, which is written last and may lag behind after a crash:
///
/// 1. the nginx site Berth wrote (nginx loads it at every start and reload): the slot its header
///    and upstream ports name; when an intent record says the site may be half-switched, whether
///    it is the intent's old or new site;
/// 2. without a site (no proxied service): the intent's new slot (it passed its health gate
///    before the intent was written), else the manifest;
/// 3. without either: the `current` link and the slot links, with the running units deciding
///    when both slots point at the same release.
///
/// The release is what the serving slot's link points at; release labels come from the manifest,
/// the intent or `history.jsonl`. `findings` lists every record that disagrees; empty means the
/// records tell the truth and nothing needs repair.
public struct ServingState: Sendable {
    /// The slot nginx routes to (or, without nginx, the one that serves); nil: nothing serves.
    public var routedSlot: Slot?
    /// The manifest as it should read (nil: nothing was ever activated here).
    public var manifest: Manifest?
    /// What disagreed with the records, one phrase each.
    public var findings: [String]
    public var intent: SwitchIntent?
    /// The site on disk is the intent's new site: nginx may not have loaded it yet.
    public var siteUnconfirmed: Bool
    /// The manifest as it was on disk, if it could be read.
    public var recorded: Manifest?

    /// Reads manifest, intent, site, links, releases, history and (only to break a tie) units.
    /// `fallbackServices`: the plan's, used when no record says what the serving slot runs.
    public static func read(layout: HostLayout, fallbackServices: [ServicePlan], system: any SystemControl) async -> ServingState {
        let store = StateStore(layout: layout)
        let files = HostFiles(layout: layout)
        var findings: [String] = []

        var recorded: Manifest?
        var manifestProblem: String?
        do {
            if let bytes = try Files.read(layout.manifestFile) { recorded = try EngineJSON.decode(Manifest.self, from: bytes) }
        } catch {
            manifestProblem = EngineJSON.describe(error)
        }
        if let problem = manifestProblem { findings.append("manifest.json could not be read (\(problem.trimmingSuffix(".")))") }

        var intent: SwitchIntent?
        do {
            if let bytes = try Files.read(layout.intentFile) { intent = try EngineJSON.decode(SwitchIntent.self, from: bytes) }
        } catch {
            findings.append("intent.json could not be read (\(EngineJSON.describe(error).trimmingSuffix(".")))")
        }
        let site = (try? Files.readString(layout.nginxSiteFile)) ?? nil
        // Read only when a record lacks a release's label (history.jsonl grows with every deploy).
        var historyCache: [HistoryEntry]?
        func history() -> [HistoryEntry] {
            if let historyCache { return historyCache }
            let entries = (try? store.history()) ?? []
            historyCache = entries
            return entries
        }
        let known = Self.union([recorded?.services ?? [], intent?.services ?? [], intent?.previousServices ?? [], fallbackServices])

        // Where traffic goes.
        var routed: Slot?
        var unconfirmed = false
        if let site {
            if let intent, site == intent.site {
                routed = intent.slot
                unconfirmed = true
            } else if let intent, site == intent.previousSite {
                routed = intent.previousSlot
            } else {
                routed = NginxSite.routedSlot(in: site, services: recorded?.services ?? known)
                if routed == nil {
                    findings.append("the nginx site \(layout.nginxSiteFile) names no slot (edited by hand?)")
                    routed = recorded?.activeSlot
                }
            }
        } else if let intent {
            routed = intent.site == nil ? intent.slot : intent.previousSlot
        } else if let recorded {
            routed = recorded.current == nil ? nil : recorded.activeSlot
        } else if let current = Files.linkTarget(layout.currentLink) {
            let candidates = Slot.allCases.filter { Files.linkTarget(layout.slotLink($0)) == current }
            if candidates.count == 1 {
                routed = candidates[0]
            } else if candidates.count == 2 {
                for slot in candidates {
                    let units = known.map { layout.unitName(service: $0.name, slot: slot) }
                    if !units.isEmpty, await system.activeStates(units).allSatisfy({ $0 == "active" }) {
                        routed = slot
                        break
                    }
                }
            }
        }

        // What that slot runs.
        let releaseStore = ReleaseStore(layout: layout)
        var release: ReleaseRef?
        if let routed, let target = Files.linkTarget(layout.slotLink(routed)),
           Files.directory(of: target) == layout.releasesDir, releaseStore.isPresent(Files.baseName(of: target)) {
            let id = Files.baseName(of: target)
            let refs = [recorded?.current, intent?.release, intent?.previousRelease].compactMap { $0 } + (recorded?.releases ?? [])
            release = refs.first { $0.id == id } ?? history().compactMap(\.release).first { $0.id == id }
                ?? ReleaseRef(id: id, label: id, createdAt: "")
        }
        guard let routed, let release else {
            if intent != nil, let intent {
                findings.append("a \(intent.kind.rawValue) of \(DeployLockText.release(intent.release)) by \(intent.requestedBy.user)@\(intent.requestedBy.machine) (started \(intent.startedAt)) died before its switch")
            }
            return ServingState(routedSlot: routed, manifest: recorded, findings: findings, intent: intent,
                                siteUnconfirmed: false, recorded: recorded)
        }

        let services: [ServicePlan]
        if let recorded, recorded.activeSlot == routed, recorded.current?.id == release.id {
            services = recorded.services
        } else if let intent, intent.slot == routed, intent.release.id == release.id {
            services = intent.services
        } else if let intent, intent.previousSlot == routed, intent.previousRelease?.id == release.id {
            services = intent.previousServices
        } else if !fallbackServices.isEmpty {
            services = fallbackServices
        } else {
            services = Self.servicesWithInstanceFiles(layout: layout, slot: routed)
        }

        let kept: [ReleaseRef]
        if let recorded {
            kept = [release] + recorded.releases.filter { $0.id != release.id }
        } else {
            // Newest first, as history saw them activated; the rest after.
            var order: [String] = [release.id]
            let history = history()
            for entry in history { if let id = entry.release?.id, !order.contains(id) { order.append(id) } }
            let present = releaseStore.ids()
            order = order.filter { present.contains($0) } + present.filter { !order.contains($0) }
            kept = order.map { id in
                id == release.id ? release : history.compactMap(\.release).first { $0.id == id } ?? ReleaseRef(id: id, label: id, createdAt: "")
            }
        }
        let manifest = Manifest(app: layout.app, env: layout.env, current: release, activeSlot: routed, releases: kept,
                                services: services, updatedAt: recorded?.updatedAt ?? Timestamp.now())

        if let intent {
            let made = intent.slot == routed && intent.release.id == release.id
            findings.append("a \(intent.kind.rawValue) of \(DeployLockText.release(intent.release)) by \(intent.requestedBy.user)@\(intent.requestedBy.machine) (started \(intent.startedAt)) died \(made ? "after" : "before") its switch to the \(intent.slot.rawValue) slot")
        }
        if manifestProblem == nil {
            if let recorded, recorded.current != nil {
                if recorded.activeSlot != routed || recorded.current?.id != release.id {
                    findings.append("manifest.json named \(recorded.current.map(DeployLockText.release) ?? "no release") in the \(recorded.activeSlot?.rawValue ?? "no") slot, but \(site == nil ? "the host runs" : "nginx routes to") \(DeployLockText.release(release)) in the \(routed.rawValue) slot")
                }
            } else {
                findings.append("manifest.json is \(recorded == nil ? "missing" : "empty"), but \(site == nil ? "the host runs" : "nginx routes to") \(DeployLockText.release(release)) in the \(routed.rawValue) slot")
            }
        }
        if Files.linkTarget(layout.currentLink) != layout.releaseDir(release.id) {
            findings.append("the current link did not point at \(release.id)")
        }
        if services.contains(where: { !files.isEnabled(service: $0.name, slot: routed) }) {
            findings.append("the \(routed.rawValue) slot was not enabled for boot")
        }
        if known.contains(where: { files.isEnabled(service: $0.name, slot: routed.other) }) {
            findings.append("the idle \(routed.other.rawValue) slot was still enabled for boot")
        }
        return ServingState(routedSlot: routed, manifest: manifest, findings: findings, intent: intent,
                            siteUnconfirmed: unconfirmed, recorded: recorded)
    }

    /// When no record knows the services (a status query of a host whose manifest is lost): the
    /// services whose instance env file exists for `slot`, by name only (enough to show units).
    static func servicesWithInstanceFiles(layout: HostLayout, slot: Slot) -> [ServicePlan] {
        let names = ((try? Files.list(layout.runDir)) ?? []).compactMap { file -> String? in
            guard let at = file.lastIndex(of: "@") else { return nil }
            let name = String(file[..<at])
            return layout.instanceEnvFile(service: name, slot: slot) == "\(layout.runDir)/\(file)" ? name : nil
        }
        return names.map { ServicePlan(name: $0, command: "", port: nil, health: nil, proxied: false, stopTimeoutMs: 1) }
    }

    /// Services by name, the first of each name.
    static func union(_ lists: [[ServicePlan]]) -> [ServicePlan] {
        var seen: Set<String> = []
        return lists.joined().filter { seen.insert($0.name).inserted }
    }
}
