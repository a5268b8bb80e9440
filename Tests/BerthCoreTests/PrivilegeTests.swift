import BerthCore
import Testing

@Suite struct ServiceAccountTests {
    @Test func everyAppEnvironmentHasItsOwnShortUser() {
        let user = HostLayout(app: "shop", env: "production").serviceUser
        #expect(user.hasPrefix("berth-") && user.count <= 32)
        #expect(ServiceSandbox.isUserName(user))
        #expect(user == HostLayout(app: "shop", env: "production").serviceUser)
        #expect(user != HostLayout(app: "shop", env: "staging").serviceUser)
        #expect(HostLayout(app: "shop", env: "prod-eu").serviceUser != HostLayout(app: "shop-prod", env: "eu").serviceUser)
    }

    @Test func lookUpAndCreateAreFixedArgv() {
        #expect(AccountCommands.lookUp("berth-0123456789").joined(separator: " ") == "getent passwd berth-0123456789")
        #expect(AccountCommands.create("berth-0123456789", app: "shop", env: "production").joined(separator: " ")
            == "useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --comment Berth service account of shop (production) -- berth-0123456789")
        #expect(AccountCommands.own("/var/lib/berth/apps/shop/production/shared/media", uid: 998, gid: 997).joined(separator: " ")
            == "chown -R --no-dereference 998:997 -- /var/lib/berth/apps/shop/production/shared/media")
    }

    @Test func aReleaseIsMadeReadableToAllAndWritableByNone() {
        #expect(AccountCommands.makeReadOnly("/var/lib/berth/apps/shop/production/releases/0123").joined(separator: " ")
            == "chmod -R u+rwX,go+rX,go-w -- /var/lib/berth/apps/shop/production/releases/0123")
    }

    @Test func aPasswdLineGivesUidAndGid() {
        #expect(AccountCommands.parse("berth-0123456789:x:998:997:Berth:/nonexistent:/usr/sbin/nologin")
            == SystemAccount(name: "berth-0123456789", uid: 998, gid: 997))
        #expect(AccountCommands.parse("garbage") == nil)
        #expect(AccountCommands.parse("a:x:one:2:::") == nil)
    }

    @Test func userNamesAreWhatUseraddAccepts() {
        for good in ["root", "www-data", "_app", "deploy2", String(repeating: "a", count: 32)] {
            #expect(ServiceSandbox.isUserName(good), "\(good)")
        }
        for bad in ["", "Root", "1app", "-x", "a b", "a:b", "a\nb", String(repeating: "a", count: 33)] {
            #expect(!ServiceSandbox.isUserName(bad), "\(bad)")
        }
    }
}

@Suite struct ServiceSandboxTests {
    let layout = HostLayout(app: "hello", env: "production")
    let web = ServicePlan(name: "web", command: "python3 app.py", port: 8000, health: nil, proxied: true, stopTimeoutMs: 10_000)

    @Test func byDefaultTheServiceRunsAsTheEnvironmentsUserWithTheSharedDirectoriesWritable() {
        #expect(ServiceSandbox.user(for: web, layout: layout) == layout.serviceUser)
        let directives = ServiceSandbox.directives(for: web, layout: layout)
        #expect(directives.contains(UnitDirective("ProtectSystem", "strict")))
        #expect(directives.contains(UnitDirective("ReadWritePaths", "-/var/lib/berth/apps/hello/production/shared")))
        #expect(directives.contains(UnitDirective("CapabilityBoundingSet", "")))
        #expect(directives.contains(UnitDirective("NoNewPrivileges", "yes")))
    }

    @Test func rootRunsOnlyWhenAskedAndKeepsItsCapabilities() {
        var root = web
        root.user = "root"
        #expect(ServiceSandbox.user(for: root, layout: layout) == nil)
        #expect(!ServiceSandbox.directives(for: root, layout: layout).contains { $0.name == "CapabilityBoundingSet" })
        #expect(ServiceSandbox.directives(for: root, layout: layout).contains(UnitDirective("ProtectSystem", "strict")))
    }

    @Test func hardeningReplacesADefaultInPlaceOrAddsAtTheEnd() {
        var service = web
        service.hardening = [UnitDirective("SystemCallFilter", "@system-service @resources"),
                             UnitDirective("ProtectHome", "read-only"), UnitDirective("MemoryDenyWriteExecute", "yes")]
        let directives = ServiceSandbox.directives(for: service, layout: layout)
        #expect(directives.filter { $0.name == "SystemCallFilter" } == [UnitDirective("SystemCallFilter", "@system-service @resources")])
        #expect(directives.filter { $0.name == "ProtectHome" } == [UnitDirective("ProtectHome", "read-only")])
        #expect(directives.firstIndex { $0.name == "ProtectHome" } == ServiceSandbox.directives(for: web, layout: layout).firstIndex { $0.name == "ProtectHome" })
        #expect(directives.last == UnitDirective("MemoryDenyWriteExecute", "yes"))
    }

    @Test func sandboxFalseKeepsOnlyWhatTheAppFileWrites() {
        var service = web
        service.sandbox = false
        #expect(ServiceSandbox.directives(for: service, layout: layout).isEmpty)
        service.hardening = [UnitDirective("PrivateTmp", "yes")]
        #expect(ServiceSandbox.directives(for: service, layout: layout) == [UnitDirective("PrivateTmp", "yes")])
        #expect(ServiceSandbox.user(for: service, layout: layout) == layout.serviceUser)
    }

    @Test func directiveNamesAndValuesStayOnTheirLine() {
        #expect(ServiceSandbox.isDirectiveName("ProtectHome"))
        #expect(!ServiceSandbox.isDirectiveName("protectHome"))
        #expect(!ServiceSandbox.isDirectiveName("Protect=Home"))
        #expect(!ServiceSandbox.isDirectiveName("[Install]"))
        #expect(ServiceSandbox.isDirectiveValue(""))
        #expect(ServiceSandbox.isDirectiveValue("AF_UNIX AF_INET"))
        #expect(!ServiceSandbox.isDirectiveValue("yes\nExecStartPre=/bin/sh"))
        #expect(!ServiceSandbox.isDirectiveValue("yes\\"))
    }
}

@Suite struct SecretMaskTests {
    let mask = SecretMask([EnvVar(name: "DATABASE_URL", value: "postgres://app:hunter22@db/shop"),
                           EnvVar(name: "PASSWORD", value: "hunter22"), EnvVar(name: "DEBUG", value: "on"),
                           EnvVar(name: "TOKEN", value: "tok3n")])

    @Test func everyValueOfFourCharactersOrMoreIsMasked() {
        #expect(mask.apply("connecting to postgres://app:hunter22@db/shop failed") == "connecting to *** failed")
        #expect(mask.apply("login hunter22 / tok3n tok3n") == "login *** / *** ***")
        #expect(mask.apply(["debug is on", "ünïcode tok3n ✓"]) == ["debug is on", "ünïcode *** ✓"])
    }

    @Test func withoutSecretsTextIsUnchanged() {
        #expect(SecretMask([]).apply("Traceback (most recent call last):") == "Traceback (most recent call last):")
    }
}
