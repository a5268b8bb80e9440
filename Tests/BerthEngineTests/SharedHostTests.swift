import BerthCore
@testable import BerthEngine
import Foundation
import Testing

/// Two app environments on one host (one `FakeSystem`, one root, one systemd and nginx directory):
/// each keeps its own names, and neither can take the other's domain, ports or files.
@Suite struct SharedHostTests {
    /// `shop`/`prod-eu` and, beside it, `shop-prod`/`eu` on other ports and another domain.
    func twoApps() throws -> (Host, Host) {
        let first = try Host(app: "shop", env: "prod-eu")
        first.proxy = ProxyConfig(listen: 80, sites: [ProxySite(domains: ["shop.test"], service: "web")])
        let second = try Host(app: "shop-prod", env: "eu", sharing: first)
        second.services = [ServicePlan(name: "web", command: "python3 server.py", port: 47020, health: nil, proxied: true, stopTimeoutMs: 1000),
                           Samples.worker]
        second.proxy = ProxyConfig(listen: 80, sites: [ProxySite(domains: ["eu.shop.test"], service: "web")])
        return (first, second)
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Reproduced: the two shared `shop-prod-eu-web@.service` and `berth-shop-prod-eu.conf`, and
    /// deploying the second stopped the first and answered its domain.
    @Test func appsWhoseNamesRunTogetherBothKeepServing() async throws {
        let (first, second) = try twoApps()
        #expect(try await first.deploy("1.0.0") == 0)
        #expect(try await second.deploy("1.0.0") == 0, "\(second.events.events)")
        #expect(first.system.active == ["shop.prod-eu.web@blue.service", "shop.prod-eu.worker@blue.service",
                                        "shop-prod.eu.web@blue.service", "shop-prod.eu.worker@blue.service"])
        #expect(first.read(first.layout.nginxSiteFile)?.contains("server_name shop.test;") == true)
        #expect(second.read(second.layout.nginxSiteFile)?.contains("server_name eu.shop.test;") == true)
        #expect(first.read(first.layout.nginxSiteFile)?.contains("server 127.0.0.1:47010;") == true)
        #expect(first.layout.nginxSiteFile != second.layout.nginxSiteFile)

        // A second deploy of each retires only its own blue slot.
        #expect(try await first.deploy("2.0.0") == 0)
        #expect(first.system.active == ["shop.prod-eu.web@green.service", "shop.prod-eu.worker@green.service",
                                        "shop-prod.eu.web@blue.service", "shop-prod.eu.worker@blue.service"])
        let record = try #require(try OwnershipStore(layout: first.layout).load())
        #expect(record == Ownership(app: "shop", env: "prod-eu", units: ["shop.prod-eu.web@.service", "shop.prod-eu.worker@.service"],
                                    site: first.layout.nginxSiteFile, upstreams: ["berth.shop.prod-eu.web"],
                                    ports: [.init(port: 47010, service: "web", slot: .blue), .init(port: 47011, service: "web", slot: .green)],
                                    user: first.layout.serviceUser))
    }

    /// Reproduced: nginx keeps the first of two servers with one `server_name` on one `listen` and
    /// only warns, so the second app's domain served the first app and Berth reported success.
    @Test func aDomainAnotherAppServesIsRefusedBeforeAnythingIsWritten() async throws {
        let (first, second) = try twoApps()
        second.proxy = ProxyConfig(listen: 80, sites: [ProxySite(domains: ["www.shop.test", "shop.test"], service: "web")])
        #expect(try await first.deploy("1.0.0") == 0)
        let before = first.system.log
        #expect(try await second.deploy("1.0.0") == 1)
        #expect(second.events.events.last?.message == "shop.test on port 80 is already served by \(first.layout.nginxSiteFile) (Berth app 'shop', environment 'prod-eu'), so nothing was changed; give shop-prod (eu) another domain in berth.yml or remove that site.")
        try expectNothingOf(second, startedSince: before)

        // On another port the same name is another server: no conflict.
        second.proxy = ProxyConfig(listen: 8080, sites: [ProxySite(domains: ["shop.test"], service: "web")])
        #expect(try await second.deploy("1.0.0") == 0)
    }

    @Test func aHandMadeSiteWithTheDomainIsRefusedNamingItsFile() async throws {
        let host = try Host()
        try FileManager.default.createDirectory(atPath: host.layout.nginxDir, withIntermediateDirectories: true)
        let handMade = "\(host.layout.nginxDir)/legacy-www.conf"
        try """
            # the old PHP site
            server {
                listen 0.0.0.0:80 default_server;
                server_name  www.HELLO.test  legacy.test;  # both
                location / { return 200 "hi; {}"; }
            }
            """.write(toFile: handMade, atomically: true, encoding: .utf8)
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.events.events.last?.message == "www.hello.test on port 80 is already served by \(handMade) (not written by Berth), so nothing was changed; give hello (production) another domain in berth.yml or remove that site.")
        try expectNothingOf(host, startedSince: [])
    }

    /// What nginx itself reads counts, wherever it is included from; a configuration nginx
    /// refuses, or no nginx, stops the deploy before it starts.
    @Test func nginxsOwnViewOfItsConfigurationDecides() async throws {
        let host = try Host()
        host.system.dump = .files([
            NginxConfigFile(path: "/etc/nginx/nginx.conf", text: "http { include /etc/nginx/sites-enabled/*; }\n"),
            NginxConfigFile(path: "/etc/nginx/sites-enabled/default", text: "server { listen 80 default_server; server_name hello.test; }\n"),
        ])
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.events.events.last?.message == "hello.test on port 80 is already served by /etc/nginx/sites-enabled/default (not written by Berth), so nothing was changed; give hello (production) another domain in berth.yml or remove that site.")

        host.system.dump = .failed("nginx: [emerg] unknown directive \"bogus\" in /etc/nginx/conf.d/x.conf:1")
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.events.events.last?.message == "nginx's configuration on this host does not load (nginx: [emerg] unknown directive \"bogus\" in /etc/nginx/conf.d/x.conf:1), so nothing was changed; fix it until 'nginx -t' passes, then deploy again.")

        host.system.dump = .failed("nginx is not installed on this host")
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.events.events.last?.message == "nginx is not installed on this host, and hello (production) routes hello.test, www.hello.test through it, so nothing was changed; install nginx or remove 'proxy:' from berth.yml.")
        try expectNothingOf(host, startedSince: [])

        // Without a proxy nginx is not asked.
        host.proxy = nil
        #expect(try await host.deploy("1.0.0") == 0)
    }

    @Test func aPortOfAnotherAppEnvironmentIsRefusedNamingItsOwner() async throws {
        let (first, second) = try twoApps()
        second.services[0].port = 47009  // green is 47010, the first app's blue
        #expect(try await first.deploy("1.0.0") == 0)
        let before = first.system.log
        #expect(try await second.deploy("1.0.0") == 1)
        #expect(second.events.events.last?.message == "port 47010 (web, green slot) of shop-prod (eu) belongs to Berth app 'shop', environment 'prod-eu' (web, blue slot), so nothing was changed; give 'web' another port in berth.yml (each service takes its port and the next one), or, if shop (prod-eu) no longer runs here, remove \(first.layout.appDir).")
        try expectNothingOf(second, startedSince: before)
    }

    @Test func aPortSomeProcessListensOnIsRefusedNamingTheProcess() async throws {
        let host = try Host()
        host.system.listeners = [PortListener(address: "0.0.0.0", port: 22, process: "sshd", pid: 85),
                                 PortListener(address: "127.0.0.1", port: 47010, process: "python3", pid: 4321, unit: "session-3.scope")]
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.events.events.last?.message == "port 47010 of the blue slot of 'web' (hello (production)) is held by python3 (pid 4321, unit session-3.scope), so nothing was changed; stop that process or give 'web' another port in berth.yml.")
        try expectNothingOf(host, startedSince: [])

        // Its own leftover instance of that slot is no obstacle: the start step stops it.
        host.system.listeners = [PortListener(address: "127.0.0.1", port: 47010, process: "python3", pid: 4321, unit: "hello.production.web@blue.service")]
        #expect(try await host.deploy("1.0.0") == 0)
    }

    /// Names cannot collide any more, but a record says what is whose: an app environment whose
    /// record claims a unit (here forged) is never overwritten or stopped by another.
    @Test func whatAnotherAppEnvironmentOwnsIsNeverOverwritten() async throws {
        let (first, second) = try twoApps()
        #expect(try await first.deploy("1.0.0") == 0)
        var record = try #require(try OwnershipStore(layout: first.layout).load())
        record.units.append(second.layout.templateUnitName(service: "worker"))
        try OwnershipStore(layout: first.layout).save(record)
        let before = first.system.log
        #expect(try await second.deploy("1.0.0") == 1)
        #expect(second.events.events.last?.message == "the unit shop-prod.eu.worker@.service of shop-prod (eu) belongs to Berth app 'shop', environment 'prod-eu', so nothing was changed; rename the app or the environment, or, if shop (prod-eu) no longer runs here, remove \(first.layout.appDir).")
        try expectNothingOf(second, startedSince: before)
        #expect(first.system.active.isSuperset(of: ["shop.prod-eu.web@blue.service", "shop.prod-eu.worker@blue.service"]))
    }

    @Test func aHandMadeUnitAtTheUnitsPathIsNeverOverwritten() async throws {
        let host = try Host()
        try FileManager.default.createDirectory(atPath: host.layout.systemdDir, withIntermediateDirectories: true)
        let path = host.layout.templateUnitFile(service: "worker")
        try "[Service]\nExecStart=/usr/local/bin/mine\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await host.deploy("1.0.0") == 1)
        #expect(host.events.events.last?.message == "\(path) exists and is not written by Berth, not hello (production)'s, so nothing was changed; move that file away if it is not needed.")
        #expect(host.read(path) == "[Service]\nExecStart=/usr/local/bin/mine\n")
    }

    /// A host an earlier Berth deployed to: old-style names, a manifest, no ownership record.
    /// The next deploy starts under the new names, replaces the old site in the same reload, and
    /// then retires its own old units, leaving those of the app that shares the old names alone.
    @Test func theNextDeployRetiresItsOwnOldStyleNamesOnly() async throws {
        let (first, second) = try twoApps()
        let layout = first.layout
        let old = LegacyNames(layout: layout)
        #expect(old.templateUnitFile(service: "web") == "\(layout.systemdDir)/shop-prod-eu-web@.service")
        try simulateEarlierBerth(first, id: "id-0.9.0")
        // The app sharing the old names wrote its worker template last and runs it (its blue slot).
        try simulateEarlierBerth(second, id: "id-0.1.0", services: ["worker"], siteAndCatchUp: false)
        let wants = "\(layout.systemdDir)/multi-user.target.wants"
        #expect(first.system.active == ["shop-prod-eu-web@blue.service", "shop-prod-eu-worker@blue.service"])

        #expect(try await first.deploy("1.0.0") == 0, "\(first.events.events)")
        #expect(first.outcome?.slot == .green)
        #expect(first.warnings == [])
        // Started under the new names; the old site went in the same reload as the new one came.
        #expect(first.system.log.contains("start shop.prod-eu.web@green.service shop.prod-eu.worker@green.service"))
        #expect(!exists(old.nginxSiteFile))
        #expect(first.read(layout.nginxSiteFile)?.contains("server 127.0.0.1:47011;") == true)
        #expect(first.system.log.filter { $0 == "nginx reload" }.count == 1)
        // Its own old web template and links are gone; the worker template, written last by the
        // other app, and the other app's running instance stay.
        #expect(!exists(old.templateUnitFile(service: "web")))
        #expect(first.link("\(wants)/shop-prod-eu-web@blue.service") == nil)
        #expect(exists(old.templateUnitFile(service: "worker")))
        #expect(first.link("\(wants)/shop-prod-eu-worker@blue.service") != nil)
        #expect(first.system.active == ["shop.prod-eu.web@green.service", "shop.prod-eu.worker@green.service",
                                        "shop-prod-eu-worker@blue.service"])
        #expect(!exists(old.catchUpUnitFile))
        #expect(try OwnershipStore(layout: layout).load()?.units == ["shop.prod-eu.web@.service", "shop.prod-eu.worker@.service"])

        // Once moved, the next deploy has nothing old left to do.
        first.system.log = []
        #expect(try await first.deploy("2.0.0") == 0)
        #expect(first.system.log.contains("stop shop.prod-eu.web@green.service shop.prod-eu.worker@green.service"))
        #expect(!first.system.log.contains { $0.contains("shop-prod-eu") })
    }

    /// What an earlier Berth left for `host`: a manifest (blue active), old-style template units
    /// with their first lines, boot links, the site and the catch-up unit, its blue slot running.
    func simulateEarlierBerth(_ host: Host, id: String, services: [String]? = nil, siteAndCatchUp: Bool = true) throws {
        let layout = host.layout, old = LegacyNames(layout: layout)
        let wants = "\(layout.systemdDir)/multi-user.target.wants"
        try FileManager.default.createDirectory(atPath: wants, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: layout.nginxDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: layout.appDir, withIntermediateDirectories: true)
        let names = services ?? host.services.map(\.name)
        for name in names {
            try "# Generated by Berth for \(layout.app) (\(layout.env)), service \(name).\n[Service]\n"
                .write(toFile: old.templateUnitFile(service: name), atomically: true, encoding: .utf8)
            let link = "\(wants)/\(old.unitName(service: name, slot: .blue))"
            try? FileManager.default.removeItem(atPath: link)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: old.templateUnitFile(service: name))
            host.system.active.insert(old.unitName(service: name, slot: .blue))
        }
        guard siteAndCatchUp else { return try saveManifest() }
        try "# Generated by Berth for \(layout.app) (\(layout.env)); traffic goes to the blue slot.\nserver { listen 80; server_name \(host.proxy?.sites.first?.domains.first ?? "x"); }\n"
            .write(toFile: old.nginxSiteFile, atomically: true, encoding: .utf8)
        try "# Generated by Berth for \(layout.app) (\(layout.env)): catch-up to the desired release at boot.\n"
            .write(toFile: old.catchUpUnitFile, atomically: true, encoding: .utf8)
        try saveManifest()

        func saveManifest() throws {
            let manifest = Manifest(app: layout.app, env: layout.env, current: Samples.release(id), activeSlot: .blue,
                                    releases: [Samples.release(id)], services: host.services.filter { names.contains($0.name) },
                                    updatedAt: "2026-01-01T00:00:00Z")
            try StateStore(layout: layout).save(manifest)
        }
    }

    /// The engine keeps to the names' rule too: a '.' would let two app environments share names.
    @Test func namesWithTheSeparatorAreRejected() async throws {
        let host = try Host()
        var plan = host.plan(.deploy, Samples.release("ok"))
        plan.app = "shop.prod"
        #expect(try await host.run(.deploy, plan) == 2)
        #expect(host.events.events.last?.message == "the deploy plan is invalid: app 'shop.prod' must be 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit.")
        plan = host.plan(.deploy, Samples.release("ok"))
        plan.services[1].name = "eu.worker"
        #expect(try await host.run(.deploy, plan) == 2)
        #expect(host.events.events.last?.message == "the deploy plan is invalid: service name 'eu.worker' must be 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit.")
    }

    /// A refused deploy wrote no unit, env file, site or record and started nothing.
    func expectNothingOf(_ host: Host, startedSince before: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let layout = host.layout
        #expect(host.system.log == before, "nothing may start, stop or reload", sourceLocation: sourceLocation)
        for path in [layout.nginxSiteFile, layout.templateUnitFile(service: "web"), layout.envFile, layout.manifestFile,
                     layout.ownershipFile, layout.releasesDir, layout.historyFile] {
            #expect(!exists(path), "\(path) was written", sourceLocation: sourceLocation)
        }
        #expect(host.events.events.contains { $0.event == .releaseNeeded } == false, sourceLocation: sourceLocation)
    }
}

/// What the engine reads from nginx, `ss` and `/proc`: pure parsers, fed real output.
@Suite struct HostInspectionTests {
    @Test func argvOfEachQuestion() {
        #expect(HostInspection.nginxTest.joined(separator: " ") == "nginx -t -q")
        #expect(HostInspection.nginxConfiguration.joined(separator: " ") == "nginx -T -q")
        #expect(HostInspection.listeningSockets.joined(separator: " ") == "ss --listening --tcp --numeric --processes --no-header")
    }

    @Test func nginxDumpSplitsIntoFiles() {
        let dump = """
            # configuration file /etc/nginx/nginx.conf:
            http {
                include /etc/nginx/conf.d/*.conf;
            }

            # configuration file /etc/nginx/conf.d/a.conf:
            server { listen 80; server_name a.test; }

            """
        #expect(NginxConfiguration.files(inDump: dump) == [
            NginxConfigFile(path: "/etc/nginx/nginx.conf", text: "http {\n    include /etc/nginx/conf.d/*.conf;\n}\n"),
            NginxConfigFile(path: "/etc/nginx/conf.d/a.conf", text: "server { listen 80; server_name a.test; }\n"),
        ])
    }

    @Test func serversWithTheirListensAndNames() {
        let text = """
            upstream berth.x.y.web { server 127.0.0.1:8000; }
            map $host $x { default "server {"; }
            server {
                listen 8080;
                listen [::]:8080 ipv6only=on;
                listen unix:/run/x.sock;
                server_name A.test .b.test ~^c\\d+$ "quoted.test"; # d.test
                location /server { server_name not.this; }
            }
            server { server_name plain.test; }
            http { server { listen 127.0.0.1:81; server_name _; } }
            stream { server { listen 5432; } }
            """
        #expect(NginxServers.parse(text) == [
            .init(listens: [NginxListen(host: "*", port: 8080), NginxListen(host: "[::]", port: 8080)],
                  names: ["a.test", "b.test", "*.b.test", "quoted.test"]),
            .init(listens: [NginxListen(host: "*", port: 80)], names: ["plain.test"]),
            .init(listens: [NginxListen(host: "127.0.0.1", port: 81)], names: ["_"]),
        ])
        #expect(NginxListen("*:80") == NginxListen(host: "*", port: 80))
        #expect(NginxListen("0.0.0.0:80") == NginxListen(host: "*", port: 80))
        #expect(NginxListen("localhost") == NginxListen(host: "localhost", port: 80))
        #expect(NginxListen("[::1]") == NginxListen(host: "[::1]", port: 80))
        #expect(NginxListen("unix:/x") == nil)
    }

    @Test func conflictingServerNamesAreNginxFailures() {
        let warned = CommandResult(status: 0, output: "", errorOutput: """
            nginx: [warn] conflicting server name "shop.test" on 0.0.0.0:80, ignored
            2026/12/01 21:57:56 [warn] 2893#2893: conflicting server name "b.test" on 0.0.0.0:80, ignored
            nginx: [warn] the "listen ... http2" directive is deprecated
            """)
        let mine: Set = ["shop.test", "b.test"]
        #expect(NginxTest.complaint(warned, serving: mine) == #"conflicting server name "shop.test" on 0.0.0.0:80, ignored; conflicting server name "b.test" on 0.0.0.0:80, ignored"#)
        // Two other sites that share a name are not this deploy's failure.
        #expect(NginxTest.complaint(warned, serving: ["c.test"]) == nil)
        #expect(NginxTest.complaint(CommandResult(status: 0, output: "", errorOutput: "nginx: [warn] the \"listen ... http2\" directive is deprecated"), serving: mine) == nil)
        #expect(NginxTest.complaint(CommandResult(status: 1, output: "", errorOutput: "nginx: [emerg] unknown directive \"bogus\""), serving: mine) == "nginx: [emerg] unknown directive \"bogus\"")
        #expect(NginxTest.complaint(CommandResult(status: 127, output: "", errorOutput: ""), serving: mine) == "nginx is not installed on this host")
    }

    @Test func listenersFromSS() {
        let output = """
            LISTEN 0      512    127.0.0.1:23358 0.0.0.0:* users:(("python3",pid=75,fd=3))
            LISTEN 0      511      0.0.0.0:80    0.0.0.0:* users:(("nginx",pid=2454,fd=5),("nginx",pid=86,fd=5))
            LISTEN 0      128         [::]:22       [::]:*
            LISTEN 0      4096 127.0.0.53%lo:53    0.0.0.0:* users:(("systemd-resolve",pid=9,fd=14))

            """
        #expect(PortListener.parse(ssOutput: output) == [
            PortListener(address: "127.0.0.1", port: 23358, process: "python3", pid: 75),
            PortListener(address: "0.0.0.0", port: 80, process: "nginx", pid: 2454),
            PortListener(address: "[::]", port: 22),
            PortListener(address: "127.0.0.53%lo", port: 53, process: "systemd-resolve", pid: 9),
        ])
        #expect(PortListener(address: "[::]", port: 22).holder == "a process this engine cannot see (listening on [::]:22)")
        #expect(PortListener.unit(fromCgroup: "0::/system.slice/system-shop.prod\\x2deu.web.slice/shop.prod-eu.web@blue.service\n")
            == "shop.prod-eu.web@blue.service")
        #expect(PortListener.unit(fromCgroup: "0::/user.slice/user-0.slice/session-3.scope\n") == "session-3.scope")
        #expect(PortListener.unit(fromCgroup: "0::/\n") == nil)
    }

    /// Every generated file's first line says whose it is, and reads back exactly.
    @Test func generatedFilesNameTheirOwner() {
        let layout = HostLayout(app: "shop-prod", env: "eu")
        let service = ServicePlan(name: "web", command: "run", port: 8000, health: nil, proxied: true, stopTimeoutMs: 1000)
        let texts = [
            SystemdUnit(service: service, layout: layout).render(),
            NginxSite(app: "shop-prod", env: "eu", proxy: ProxyConfig(listen: 80, sites: [ProxySite(domains: ["a.test"], service: "web")]),
                      services: [service], slot: .blue).render(),
            CatchUpUnit(layout: layout).render(waitMs: 0),
        ]
        for text in texts {
            #expect(GeneratedFile.owner(of: text).map { "\($0.app) \($0.env)" } == "shop-prod eu", "\(text.prefix(80))")
        }
        #expect(GeneratedFile.owner(of: "# Generated by Berth for shop (prod-eu), service web.\n").map { "\($0.app) \($0.env)" } == "shop prod-eu")
        #expect(GeneratedFile.owner(of: "server {}\n") == nil)
        #expect(GeneratedFile.owner(of: "# Generated by Berth for Sh op (x)\n") == nil)
    }
}
