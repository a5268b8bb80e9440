import BerthCore

/// What one app environment owns on a host: its unit files, its nginx site and upstreams, the ports
/// of both slots of its services and its service user. Written to `ownership.json` when a deploy
/// records its result, and read by every other app environment's deploy on the host, which refuses
/// to take any of it (`HostCheck`).
public struct Ownership: Codable, Sendable, Equatable {
    /// One port of one slot of one service.
    public struct Port: Codable, Sendable, Equatable {
        public var port: Int
        public var service: String
        public var slot: Slot

        public init(port: Int, service: String, slot: Slot) {
            self.port = port
            self.service = service
            self.slot = slot
        }
    }

    public var app: String
    public var env: String
    /// Unit files in the systemd directory, by file name: service templates, the catch-up unit.
    public var units: [String]
    /// The nginx site file (a full path), if the environment has a proxy on this host.
    public var site: String?
    public var upstreams: [String]
    public var ports: [Port]
    /// The service user (`HostLayout.serviceUser`); nil for an environment deployed by a Berth
    /// that ran services as root.
    public var user: String?

    public init(app: String, env: String, units: [String], site: String?, upstreams: [String], ports: [Port], user: String?) {
        self.app = app
        self.env = env
        self.units = units
        self.site = site
        self.upstreams = upstreams
        self.ports = ports
        self.user = user
    }

    /// What a deploy of `plan` with `services` takes on the host.
    public init(plan: DeployPlan, services: [ServicePlan]) {
        let layout = plan.layout
        var units = services.map { layout.templateUnitName(service: $0.name) }
        if plan.catchUp != nil { units.append(layout.catchUpUnitName) }
        let upstreams = plan.proxy.map { proxy in
            NginxSite(app: plan.app, env: plan.env, proxy: proxy, services: services, slot: .blue).upstreams
                .map { layout.upstreamName(service: $0.service) }
        } ?? []
        self.init(app: plan.app, env: plan.env, units: units, site: plan.proxy == nil ? nil : layout.nginxSiteFile,
                  upstreams: upstreams, ports: Self.ports(of: services), user: layout.serviceUser)
    }

    /// What an environment that an earlier Berth deployed (a manifest, no `ownership.json`) holds:
    /// its services' ports and its old-style unit files. Its site cannot be told from the name
    /// alone (`berth-shop-prod-eu.conf` may be another's), so it is left out: the site check reads
    /// every site's first line instead.
    init(legacy manifest: Manifest, layout: HostLayout) {
        let legacy = LegacyNames(layout: layout)
        self.init(app: manifest.app, env: manifest.env,
                  units: manifest.services.map { Files.baseName(of: legacy.templateUnitFile(service: $0.name)) },
                  site: nil, upstreams: [], ports: Self.ports(of: manifest.services), user: nil)
    }

    static func ports(of services: [ServicePlan]) -> [Port] {
        services.flatMap { service in
            Slot.allCases.compactMap { slot in service.port(in: slot).map { Port(port: $0, service: service.name, slot: slot) } }
        }
    }

    /// `Berth app 'shop', environment 'prod-eu'`.
    public var owner: String { OwnerText.berth(app: app, env: env) }
}

/// How owners read in messages.
enum OwnerText {
    static func berth(app: String, env: String) -> String { "Berth app '\(app)', environment '\(env)'" }
}

/// Another app environment on the same host, as far as this one must keep off it.
struct Neighbour: Equatable {
    var ownership: Ownership
    /// The old-style instances it may still run (from its manifest's active slot), when an earlier
    /// Berth deployed it and it has no `ownership.json` yet.
    var legacyInstances: Set<String>
}

/// The ownership records of every app environment under one root.
struct OwnershipStore {
    let layout: HostLayout

    func load() throws(EngineError) -> Ownership? {
        try EngineJSON.decodeFile(Ownership.self, at: layout.ownershipFile, remedy: "remove it; the next deploy writes it again")
    }

    /// Writes the record in one rename, synced, and only when it changed.
    func save(_ ownership: Ownership) throws(SystemCallError) {
        let json = ((try? EngineJSON.encodeLine(ownership)) ?? "{}") + "\n"
        if try Files.readString(layout.ownershipFile) != json {
            try Files.writeAtomically(layout.ownershipFile, json, mode: 0o644, durable: true)
        }
    }

    /// Every other app environment under the root that was ever deployed: its record, else (an
    /// earlier Berth deployed it) what its manifest says. Directories that hold neither, or files
    /// that cannot be read, are skipped: they hold nothing a deploy could take.
    func neighbours() -> [Neighbour] {
        var found: [Neighbour] = []
        for app in (try? Files.list(layout.appsDir)) ?? [] where HostLayout.isValidName(app) {
            for env in (try? Files.list("\(layout.appsDir)/\(app)")) ?? [] where HostLayout.isValidName(env) {
                guard app != layout.app || env != layout.env else { continue }
                let other = HostLayout(root: layout.root, app: app, env: env, systemdDir: layout.systemdDir, nginxDir: layout.nginxDir)
                if let record = (try? OwnershipStore(layout: other).load()) ?? nil {
                    found.append(Neighbour(ownership: record, legacyInstances: []))
                } else if let manifest = (try? StateStore(layout: other).manifest()) ?? nil {
                    let legacy = LegacyNames(layout: other)
                    let instances = manifest.activeSlot.map { slot in manifest.services.map { legacy.unitName(service: $0.name, slot: slot) } } ?? []
                    found.append(Neighbour(ownership: Ownership(legacy: manifest, layout: other), legacyInstances: Set(instances)))
                }
            }
        }
        return found
    }
}

/// The first line of every file Berth generates says whose it is:
/// `# Generated by Berth for <app> (<env>)…`. Names hold no space or parenthesis, so it reads back
/// exactly; files of earlier Berths are recognized the same way.
enum GeneratedFile {
    static let marker = "# Generated by Berth for "

    /// The app environment a generated file was written for; nil if Berth did not write it.
    static func owner(of text: String) -> (app: String, env: String)? {
        guard let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first,
              line.hasPrefix(marker) else { return nil }
        let rest = line.dropFirst(marker.count)
        guard let open = rest.firstIndex(of: " "), rest[open...].hasPrefix(" ("),
              let close = rest.firstIndex(of: ")") else { return nil }
        let app = String(rest[..<open])
        let env = String(rest[rest.index(open, offsetBy: 2)..<close])
        guard HostLayout.isValidName(app), HostLayout.isValidName(env) else { return nil }
        return (app, env)
    }

    /// Whose a file is, in words: `Berth app 'a', environment 'e'`, or `not written by Berth`.
    static func ownerText(of text: String) -> String {
        guard let owner = owner(of: text) else { return "not written by Berth" }
        return OwnerText.berth(app: owner.app, env: owner.env)
    }

    static func isOwned(_ text: String?, by layout: HostLayout) -> Bool {
        guard let text, let owner = owner(of: text) else { return false }
        return owner.app == layout.app && owner.env == layout.env
    }
}
