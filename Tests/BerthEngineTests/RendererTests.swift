import BerthCore
import Testing

@Suite struct SystemdUnitTests {
    let layout = HostLayout(app: "hello", env: "production")

    @Test func webTemplateRunsABareProgramFoundBySystemd() throws {
        try expectGolden(SystemdUnit(service: Samples.web, layout: layout).render(), "hello.production.web@.service")
    }

    @Test func workerTemplateStopsWithinMilliseconds() throws {
        try expectGolden(SystemdUnit(service: Samples.worker, layout: layout).render(), "hello.production.worker@.service")
    }

    @Test func programInsideTheReleaseRunsThroughTheSlotAndPercentIsEscaped() throws {
        let api = ServicePlan(name: "api", command: "  ./bin/api --port ${PORT} --sample 5%  ", port: 9000, health: nil,
                              proxied: true, stopTimeoutMs: 30_000)
        let layout = HostLayout(root: "/srv/berth", app: "shop", env: "staging")
        try expectGolden(SystemdUnit(service: api, layout: layout).render(), "shop.staging.api@.service")
    }

    @Test func aRootServiceWithItsOwnHardeningKeepsItsCapabilities() throws {
        var admin = Samples.worker
        admin.name = "admin"
        admin.user = "root"
        admin.hardening = [UnitDirective("ProtectHome", "read-only"), UnitDirective("MemoryDenyWriteExecute", "yes")]
        try expectGolden(SystemdUnit(service: admin, layout: layout).render(), "hello.production.admin@.service")
    }

    @Test func withoutTheSandboxOnlyTheUserAndWhatTheAppFileWritesRemain() throws {
        var legacy = Samples.worker
        legacy.name = "legacy"
        legacy.user = "www-data"
        legacy.sandbox = false
        legacy.hardening = [UnitDirective("PrivateTmp", "yes")]
        try expectGolden(SystemdUnit(service: legacy, layout: layout).render(), "hello.production.legacy@.service")
    }

    @Test func execStartKeepsAbsoluteProgramsAndEnvironmentReferences() {
        #expect(SystemdUnit.execStart("/usr/bin/python3 -m app --port $PORT", slotDirectory: "/s/%i")
            == "/usr/bin/python3 -m app --port $PORT")
        #expect(SystemdUnit.execStart("gunicorn -b 127.0.0.1:${PORT} app:wsgi", slotDirectory: "/s/%i")
            == "gunicorn -b 127.0.0.1:${PORT} app:wsgi")
        #expect(SystemdUnit.execStart("bin/server", slotDirectory: "/s/%i") == "/s/%i/bin/server")
        #expect(SystemdUnit.execStart("printf 100%", slotDirectory: "/s/%i") == "printf 100%%")
    }

    @Test func stopTimeoutIsATimeSpan() {
        #expect(SystemdUnit.timeSpan(milliseconds: 10_000) == "10s")
        #expect(SystemdUnit.timeSpan(milliseconds: 1500) == "1500ms")
    }
}

@Suite struct NginxSiteTests {
    @Test func oneSiteRoutesToTheGreenSlot() throws {
        let site = NginxSite(app: "hello", env: "production", proxy: Samples.proxy, services: [Samples.web, Samples.worker],
                             slot: .green)
        try expectGolden(site.render(), "berth.hello.production-green.conf")
    }

    @Test func twoServicesTwoSitesOnAnotherPort() throws {
        let api = ServicePlan(name: "api", command: "bin/api", port: 9100, health: nil, proxied: true, stopTimeoutMs: 5000)
        let proxy = ProxyConfig(listen: 8080, sites: [
            ProxySite(domains: ["staging.shop.test"], service: "web"),
            ProxySite(domains: ["api.staging.shop.test", "*.api.staging.shop.test"], service: "api"),
        ])
        let site = NginxSite(app: "shop", env: "staging", proxy: proxy,
                             services: [Samples.web, Samples.worker, api], slot: .blue)
        try expectGolden(site.render(), "berth.shop.staging-blue.conf")
    }
}

@Suite struct EnvironmentFileTests {
    @Test func everyValueIsDoubleQuotedWithTheFourSpecialCharactersEscaped() {
        let text = EnvironmentFile.render([
            EnvVar(name: "PLAIN", value: "hello"),
            EnvVar(name: "SPACES", value: "  two  words  "),
            EnvVar(name: "QUOTES", value: #"say "hi" and 'bye'"#),
            EnvVar(name: "DOLLAR", value: "$HOME and ${PATH}"),
            EnvVar(name: "HASH", value: "#not a comment ; nor this"),
            EnvVar(name: "BACKSLASH", value: #"C:\path\n\"#),
            EnvVar(name: "BACKTICK", value: "`id`"),
            EnvVar(name: "EMPTY", value: ""),
            EnvVar(name: "MULTILINE", value: "line 1\nline 2"),
            EnvVar(name: "UNICODE", value: "grüße ✓"),
        ], header: ["Generated."])
        #expect(text == #"""
            # Generated.
            PLAIN="hello"
            SPACES="  two  words  "
            QUOTES="say \"hi\" and 'bye'"
            DOLLAR="\$HOME and \${PATH}"
            HASH="#not a comment ; nor this"
            BACKSLASH="C:\\path\\n\\"
            BACKTICK="\`id\`"
            EMPTY=""
            MULTILINE="line 1
            line 2"
            UNICODE="grüße ✓"

            """#)
    }

    @Test func namesFollowTheShellRule() {
        #expect(EnvironmentFile.isValidName("DATABASE_URL"))
        #expect(EnvironmentFile.isValidName("_private1"))
        #expect(!EnvironmentFile.isValidName("1ST"))
        #expect(!EnvironmentFile.isValidName("WITH-DASH"))
        #expect(!EnvironmentFile.isValidName(""))
    }
}
