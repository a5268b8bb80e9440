import BerthCore

/// Moves an app environment from the names an earlier Berth gave it (`shop-prod-eu-web@.service`,
/// `berth-shop-prod-eu.conf`, `berth-catchup-shop-prod-eu.service`; see `LegacyNames`) to its own.
///
/// The first deploy with this engine starts the new slot under the new names and switches nginx to
/// the new site, removing the old-style site in the same reload (`NginxSwitch.retiring`). Once the
/// new release serves and the old slot is stopped, `retire` stops, disables and removes the
/// old-style units. Only files whose first line says they were written for this app environment
/// are touched (an old-style name may be shared with another app environment, which wrote it
/// last), and never an instance that another app environment, not yet moved, still runs.
struct NameUpgrade {
    let layout: HostLayout
    let system: any SystemControl

    private var legacy: LegacyNames { LegacyNames(layout: layout) }

    /// The old-style site to remove when the new one is written: only if it is this environment's.
    var retiringSites: [String] {
        let path = legacy.nginxSiteFile
        return GeneratedFile.isOwned((try? Files.readString(path)) ?? nil, by: layout) ? [path] : []
    }

    /// The instance `status` reports: the old-style one while only it exists (a host not yet
    /// deployed to by this engine), else the new one.
    func unitName(service: String, slot: Slot) -> String {
        if !Files.exists(layout.templateUnitFile(service: service)),
           GeneratedFile.isOwned((try? Files.readString(legacy.templateUnitFile(service: service))) ?? nil, by: layout) {
            return legacy.unitName(service: service, slot: slot)
        }
        return layout.unitName(service: service, slot: slot)
    }

    /// Retires what is left under old-style names for `services` (those of the old manifest and of
    /// the plan). Returns warnings: the new release already serves, so nothing here fails a deploy.
    func retire(services: [String]) async -> [String] {
        var warnings: [String] = []
        let candidates = Set(services).map { legacy.templateUnitFile(service: $0) } + [legacy.catchUpUnitFile, legacy.nginxSiteFile]
        guard candidates.contains(where: Files.exists) else { return [] }  // moved already, or never had old names
        let neighbours = OwnershipStore(layout: layout).neighbours()
        let theirInstances = neighbours.reduce(into: Set<String>()) { $0.formUnion($1.legacyInstances) }
        // New-style names hold a '.', so only environments not yet moved claim old-style ones.
        let theirTemplates = Set(neighbours.flatMap(\.ownership.units))
        let files = HostFiles(layout: layout)

        var stop: [String] = []
        var templates: [String] = []
        for service in Set(services).sorted() {
            let template = legacy.templateUnitFile(service: service)
            guard GeneratedFile.isOwned((try? Files.readString(template)) ?? nil, by: layout) else { continue }
            for slot in Slot.allCases {
                let unit = legacy.unitName(service: service, slot: slot)
                guard !theirInstances.contains(unit) else { continue }
                stop.append(unit)
            }
            if !theirTemplates.contains(Files.baseName(of: template)) { templates.append(template) }
        }
        var reload = false
        do {
            for unit in stop { try Files.remove(files.wantsLink(unit)) }
            if !stop.isEmpty { try await system.stop(stop) }
            for template in templates {
                try Files.remove(template)
                reload = true
            }
            let catchUp = legacy.catchUpUnitFile
            if GeneratedFile.isOwned((try? Files.readString(catchUp)) ?? nil, by: layout) {
                // A catch-up running in it goes on; only the file and its boot link go.
                try Files.remove(files.wantsLink(legacy.catchUpUnitName))
                try Files.remove(catchUp)
                reload = true
            }
            if reload { try await system.daemonReload() }
        } catch let error as ControlFailure {
            warnings.append("the old-style units of \(layout.app) (\(layout.env)) were not all retired: \(error.message).")
        } catch {
            warnings.append("the old-style units of \(layout.app) (\(layout.env)) were not all retired: \(error).")
        }
        // Normally gone with the switch; still there when this deploy has no site any more.
        if !retiringSites.isEmpty {
            do {
                _ = try await NginxSwitch(system: system, siteFile: legacy.nginxSiteFile).apply(nil)
            } catch {
                warnings.append("the old-style nginx site \(legacy.nginxSiteFile) was not removed: \(error.message)")
            }
        }
        return warnings
    }
}
