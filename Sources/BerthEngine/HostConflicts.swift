import BerthCore

/// Refuses a deploy that would take something another app environment or program on the host has,
/// before anything is written or started, so a refused deploy changes nothing. It fails naming
/// both sides:
///
/// - names and ports another app environment owns (its `ownership.json`, or the manifest of one an
///   earlier Berth deployed), and the service user;
/// - unit and site files at this environment's paths that Berth did not write for it;
/// - a `server_name` this environment's site would serve on the same `listen` as another site in
///   nginx's effective configuration (`nginx -T`: Berth's sites and hand-made ones in conf.d,
///   sites-enabled…). nginx itself would only warn, keep the first and ignore the other;
/// - a port of the slot about to start that some process already listens on (`ss`).
struct HostCheck {
    let plan: DeployPlan
    let layout: HostLayout
    let system: any SystemControl

    init(plan: DeployPlan, system: any SystemControl) {
        self.plan = plan
        layout = plan.layout
        self.system = system
    }

    private var me: String { "\(plan.app) (\(plan.env))" }

    func refuseConflicts(services: [ServicePlan], slot: Slot) async throws(EngineError) {
        let mine = Ownership(plan: plan, services: services)
        try refuseOwned(mine, neighbours: OwnershipStore(layout: layout).neighbours())
        try refuseForeignFiles(mine)
        if let proxy = plan.proxy {
            try await refuseSiteConflicts(proxy: proxy, services: services)
        }
        try await refuseTakenPorts(services: services, slot: slot)
    }

    // MARK: Ownership

    func refuseOwned(_ mine: Ownership, neighbours: [Neighbour]) throws(EngineError) {
        for neighbour in neighbours {
            let theirs = neighbour.ownership
            // A record outlives an app environment someone removed by hand; its directory is the record.
            let gone = "or, if \(theirs.app) (\(theirs.env)) no longer runs here, remove \(HostLayout(root: layout.root, app: theirs.app, env: theirs.env).appDir)"
            if let unit = mine.units.first(where: theirs.units.contains) {
                throw .conflict("the unit \(unit) of \(me) belongs to \(theirs.owner), so nothing was changed; rename the app or the environment, \(gone).")
            }
            if let site = mine.site, site == theirs.site {
                throw .conflict("the nginx site \(site) of \(me) belongs to \(theirs.owner), so nothing was changed; rename the app or the environment, \(gone).")
            }
            if let upstream = mine.upstreams.first(where: theirs.upstreams.contains) {
                throw .conflict("the nginx upstream \(upstream) of \(me) belongs to \(theirs.owner), so nothing was changed; rename the app or the environment, \(gone).")
            }
            for port in mine.ports {
                guard let other = theirs.ports.first(where: { $0.port == port.port }) else { continue }
                throw .conflict("port \(port.port) (\(port.service), \(port.slot.rawValue) slot) of \(me) belongs to \(theirs.owner) (\(other.service), \(other.slot.rawValue) slot), so nothing was changed; give '\(port.service)' another port in berth.yml (each service takes its port and the next one), \(gone).")
            }
            if let user = mine.user, user == theirs.user {
                throw .conflict("the service user \(user) of \(me) belongs to \(theirs.owner), so nothing was changed; rename the app or the environment, \(gone).")
            }
        }
    }

    /// A unit or site file at one of this environment's paths that Berth did not write for it (a
    /// hand-made unit, another tool's site) is never overwritten.
    func refuseForeignFiles(_ mine: Ownership) throws(EngineError) {
        let recorded = (try? OwnershipStore(layout: layout).load()) ?? nil
        var paths = mine.units.map { "\(layout.systemdDir)/\($0)" }
        if let site = mine.site { paths.append(site) }
        for path in paths {
            guard let text = (try? Files.readString(path)) ?? nil, !GeneratedFile.isOwned(text, by: layout) else { continue }
            let listed = recorded.map { $0.units.contains(Files.baseName(of: path)) || $0.site == path } ?? false
            guard !listed else { continue }
            throw .conflict("\(path) exists and is \(GeneratedFile.ownerText(of: text)), not \(me)'s, so nothing was changed; move that file away if it is not needed.")
        }
    }

    // MARK: nginx

    func refuseSiteConflicts(proxy: ProxyConfig, services: [ServicePlan]) async throws(EngineError) {
        let routed = Set(NginxSite(app: plan.app, env: plan.env, proxy: proxy, services: services, slot: .blue).upstreams.map(\.service))
        let domains = proxy.sites.filter { routed.contains($0.service) }.flatMap(\.domains).map { $0.lowercased() }
        guard !domains.isEmpty else { return }
        let files: [NginxConfigFile]
        switch await system.nginxConfiguration() {
        case let .files(dumped): files = dumped
        case let .failed(complaint) where complaint == NginxTest.notInstalled:
            throw .conflict("nginx is not installed on this host, and \(me) routes \(domains.joined(separator: ", ")) through it, so nothing was changed; install nginx or remove 'proxy:' from berth.yml.")
        case let .failed(complaint):
            throw .conflict("nginx's configuration on this host does not load (\(complaint)), so nothing was changed; fix it until 'nginx -t' passes, then deploy again.")
        case .unknown: files = Self.readSites(in: layout.nginxDir)
        }
        let listen = NginxListen(host: "*", port: proxy.listen)
        let legacySite = LegacyNames(layout: layout).nginxSiteFile
        for file in files {
            // This environment's own site is replaced; its old-style one too, in the same reload.
            if file.path == layout.nginxSiteFile { continue }
            if file.path == legacySite, GeneratedFile.isOwned(file.text, by: layout) { continue }
            for server in NginxServers.parse(file.text) where server.listens.contains(listen) {
                guard let domain = domains.first(where: server.names.contains) else { continue }
                throw .conflict("\(domain) on port \(proxy.listen) is already served by \(file.path) (\(GeneratedFile.ownerText(of: file.text))), so nothing was changed; give \(me) another domain in berth.yml or remove that site.")
            }
        }
    }

    /// The `*.conf` files of one directory: what a host without `nginx -T` (a test's fake) has.
    static func readSites(in dir: String) -> [NginxConfigFile] {
        ((try? Files.list(dir)) ?? []).filter { $0.hasSuffix(".conf") }.compactMap { name in
            let path = "\(dir)/\(name)"
            return ((try? Files.readString(path)) ?? nil).map { NginxConfigFile(path: path, text: $0) }
        }
    }

    // MARK: Ports

    func refuseTakenPorts(services: [ServicePlan], slot: Slot) async throws(EngineError) {
        let wanted = services.compactMap { service in service.port(in: slot).map { (service, $0) } }
        guard !wanted.isEmpty, let listeners = await system.listeningSockets() else { return }
        for (service, port) in wanted {
            let unit = layout.unitName(service: service.name, slot: slot)
            // The slot's own leftover instance is stopped by the start step.
            guard let holder = listeners.first(where: { $0.port == port && $0.unit != unit }) else { continue }
            throw .conflict("port \(port) of the \(slot.rawValue) slot of '\(service.name)' (\(me)) is held by \(holder.holder), so nothing was changed; stop that process or give '\(service.name)' another port in berth.yml.")
        }
    }
}

// MARK: - nginx's configuration

/// One file of nginx's effective configuration.
public struct NginxConfigFile: Sendable, Equatable {
    public var path: String
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

/// What `nginx -T` told about the host's nginx configuration.
public enum NginxConfiguration: Sendable, Equatable {
    /// Every file nginx reads, in the order it reads them.
    case files([NginxConfigFile])
    /// nginx refused its own configuration (or is not installed): what it said.
    case failed(String)
    /// This system cannot ask nginx (a test's fake): the engine reads the site directory itself.
    case unknown

    /// Splits `nginx -T`'s output into its files: each starts with `# configuration file PATH:`.
    public static func files(inDump dump: String) -> [NginxConfigFile] {
        var files: [NginxConfigFile] = []
        var path: String?
        var lines: [Substring] = []
        func flush() {
            guard let path else { return }
            while lines.last?.isEmpty == true { lines.removeLast() }
            files.append(NginxConfigFile(path: path, text: lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")))
        }
        for line in dump.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# configuration file "), line.hasSuffix(":") {
                flush()
                path = String(line.dropFirst("# configuration file ".count).dropLast())
                lines = []
            } else {
                lines.append(line)
            }
        }
        flush()
        return files
    }
}

/// An address and port an nginx `server` listens on; `*` for every IPv4 address.
struct NginxListen: Hashable {
    var host: String
    var port: Int

    /// The first argument of a `listen` directive: `80`, `0.0.0.0:80`, `*:80`, `127.0.0.1:8080`,
    /// `[::]:80`, `localhost`. Nil for `unix:` sockets and what is not an address.
    init?(_ argument: String) {
        if argument.hasPrefix("unix:") { return nil }
        var host = argument
        var port = 80
        if argument.hasPrefix("[") {
            guard let close = argument.firstIndex(of: "]") else { return nil }
            host = String(argument[...close])
            let rest = argument[argument.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = Int(rest.dropFirst()) else { return nil }
                port = value
            } else if !rest.isEmpty {
                return nil
            }
        } else if let colon = argument.lastIndex(of: ":") {
            guard let value = Int(argument[argument.index(after: colon)...]) else { return nil }
            host = String(argument[..<colon])
            port = value
        } else if let value = Int(argument) {
            host = "*"
            port = value
        }
        self.init(host: host == "0.0.0.0" ? "*" : host, port: port)
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// The `server` blocks of one nginx file, with what decides which of them answers a request:
/// their `listen` addresses and `server_name`s.
struct NginxServers {
    struct Server: Equatable {
        var listens: [NginxListen]
        /// Lowercased; `.example.com` counts as `example.com` and `*.example.com`, as in nginx;
        /// regular expressions (`~…`) are left out.
        var names: [String]
    }

    /// The `server` blocks at the top of the file or inside `http`: a file in conf.d or
    /// sites-enabled is included inside `http`. Comments and quotes are read as nginx reads them.
    static func parse(_ text: String) -> [Server] {
        var servers: [Server] = []
        var stack: [String] = []
        var serverDepth: Int?
        var current = Server(listens: [], names: [])
        var sawListen = false
        var words: [String] = []
        for token in tokens(text) {
            switch token {
            case let .word(word):
                words.append(word)
            case .semicolon:
                if let depth = serverDepth, stack.count == depth, let directive = words.first {
                    if directive == "listen", words.count > 1 {
                        sawListen = true
                        if let listen = NginxListen(words[1]) { current.listens.append(listen) }
                    } else if directive == "server_name" {
                        current.names += words.dropFirst().flatMap(names)
                    }
                }
                words = []
            case .open:
                let name = words.first ?? ""
                if serverDepth == nil, name == "server", stack.isEmpty || stack == ["http"] {
                    serverDepth = stack.count + 1
                    current = Server(listens: [], names: [])
                    sawListen = false
                }
                stack.append(name)
                words = []
            case .close:
                if let depth = serverDepth, stack.count == depth {
                    if !sawListen { current.listens = [NginxListen(host: "*", port: 80)] }
                    servers.append(current)
                    serverDepth = nil
                }
                if !stack.isEmpty { stack.removeLast() }
                words = []
            }
        }
        return servers
    }

    private static func names(_ word: String) -> [String] {
        let name = word.lowercased()
        if name.hasPrefix("~") || name.isEmpty { return [] }
        if name.hasPrefix(".") { return [String(name.dropFirst()), "*" + name] }
        return [name]
    }

    enum Token: Equatable {
        case word(String), open, close, semicolon
    }

    static func tokens(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var word = ""
        var quote: Character?
        var escaped = false
        var comment = false
        func endWord() {
            if !word.isEmpty { tokens.append(.word(word)) }
            word = ""
        }
        for character in text {
            if comment {
                if character == "\n" { comment = false }
                continue
            }
            if let open = quote {
                if escaped {
                    word.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == open {
                    quote = nil
                    tokens.append(.word(word))
                    word = ""
                } else {
                    word.append(character)
                }
                continue
            }
            switch character {
            case "#" where word.isEmpty: comment = true
            case "\"" where word.isEmpty: quote = character
            case "'" where word.isEmpty: quote = character
            case "{": endWord(); tokens.append(.open)
            case "}": endWord(); tokens.append(.close)
            case ";": endWord(); tokens.append(.semicolon)
            case " ", "\t", "\n", "\r": endWord()
            default: word.append(character)
            }
        }
        return tokens
    }
}

// MARK: - Listening sockets

/// A TCP socket that listens on the host, with the process that holds it when the system says.
public struct PortListener: Sendable, Equatable {
    public var address: String
    public var port: Int
    public var process: String?
    public var pid: Int32?
    /// The systemd unit the process runs in (`shop.production.web@blue.service`), if any.
    public var unit: String?

    public init(address: String, port: Int, process: String? = nil, pid: Int32? = nil, unit: String? = nil) {
        self.address = address
        self.port = port
        self.process = process
        self.pid = pid
        self.unit = unit
    }

    /// `python3 (pid 812, unit other.production.web@blue.service)`, or what is known of it.
    public var holder: String {
        guard let process else { return "a process this engine cannot see (listening on \(address):\(port))" }
        var facts: [String] = []
        if let pid { facts.append("pid \(pid)") }
        if let unit { facts.append("unit \(unit)") }
        return facts.isEmpty ? process : "\(process) (\(facts.joined(separator: ", ")))"
    }

    /// The lines of `ss --listening --tcp --numeric --processes --no-header`:
    /// `LISTEN 0 5 0.0.0.0:8000 0.0.0.0:* users:(("python3",pid=812,fd=3))`.
    public static func parse(ssOutput: String) -> [PortListener] {
        ssOutput.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 5, let colon = fields[3].lastIndex(of: ":"),
                  let port = Int(fields[3][fields[3].index(after: colon)...]) else { return nil }
            var listener = PortListener(address: String(fields[3][..<colon]), port: port)
            if let users = line.firstRange(of: "users:((\"") {
                let rest = line[users.upperBound...]
                if let end = rest.firstIndex(of: "\"") { listener.process = String(rest[..<end]) }
                if let pid = rest.firstRange(of: "pid=") {
                    listener.pid = Int32(rest[pid.upperBound...].prefix(while: \.isNumber))
                }
            }
            return listener
        }
    }

    /// The unit in a `/proc/<pid>/cgroup` file: the last `.service` (or `.scope`) in the cgroup path,
    /// `0::/system.slice/system-shop.production.web.slice/shop.production.web@blue.service`.
    public static func unit(fromCgroup text: String) -> String? {
        for line in text.split(separator: "\n") {
            guard let path = line.split(separator: ":", maxSplits: 2).last else { continue }
            if let unit = path.split(separator: "/").last(where: { $0.hasSuffix(".service") || $0.hasSuffix(".scope") }) {
                return String(unit)
            }
        }
        return nil
    }
}
