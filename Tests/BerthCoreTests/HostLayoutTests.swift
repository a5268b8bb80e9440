import BerthCore
import Testing

@Suite struct HostLayoutTests {
    let layout = HostLayout(app: "shop", env: "staging")

    @Test func everyPathIsNamespacedByAppAndEnvironment() {
        #expect(layout.releaseDir("0123456789abcdef") == "/var/lib/berth/apps/shop/staging/releases/0123456789abcdef")
        #expect(layout.envFile == "/var/lib/berth/apps/shop/staging/app.env")
        #expect(layout.lockFile == "/var/lib/berth/apps/shop/staging/deploy.lock")
        #expect(layout.ownershipFile == "/var/lib/berth/apps/shop/staging/ownership.json")
        #expect(layout.instanceEnvFile(service: "web", slot: .green) == "/var/lib/berth/apps/shop/staging/run/web@green.env")
        #expect(layout.slotLink(.blue) == "/var/lib/berth/apps/shop/staging/slots/blue")
    }

    @Test func unitSiteAndUpstreamNamesJoinAppEnvironmentAndServiceWithADot() {
        #expect(layout.unitName(service: "web", slot: .blue) == "shop.staging.web@blue.service")
        #expect(layout.templateUnitFile(service: "web") == "/etc/systemd/system/shop.staging.web@.service")
        #expect(layout.nginxSiteFile == "/etc/nginx/conf.d/berth.shop.staging.conf")
        #expect(layout.upstreamName(service: "web") == "berth.shop.staging.web")
        #expect(layout.catchUpUnitName == "berth-catchup.shop.staging.service")
    }

    /// Reproduced: `shop`/`prod-eu` and `shop-prod`/`eu` shared `shop-prod-eu-web@.service` and
    /// `berth-shop-prod-eu.conf`, so deploying one replaced the other.
    @Test func appsWhoseDashedNamesRunTogetherGetNamesOfTheirOwn() {
        let pairs = [("shop", "prod-eu"), ("shop-prod", "eu"), ("shop-prod-eu", "x"), ("shop", "prod")]
        let layouts = pairs.map { HostLayout(app: $0.0, env: $0.1) }
        for (service, other) in [("web", "web"), ("eu-web", "web")] {
            // `shop`/`prod` with service `eu-web` was `shop-prod-eu-web` too.
            #expect(layouts[3].unitName(service: service, slot: .blue) != layouts[1].unitName(service: other, slot: .blue))
        }
        #expect(layouts[0].unitName(service: "web", slot: .blue) == "shop.prod-eu.web@blue.service")
        #expect(layouts[1].unitName(service: "web", slot: .blue) == "shop-prod.eu.web@blue.service")
        #expect(LegacyNames(layout: layouts[0]).unitName(service: "web", slot: .blue)
            == LegacyNames(layout: layouts[1]).unitName(service: "web", slot: .blue), "what the old names did")
        for (index, a) in layouts.enumerated() {
            for b in layouts[(index + 1)...] {
                #expect(a.nginxSiteFile != b.nginxSiteFile)
                #expect(a.upstreamName(service: "web") != b.upstreamName(service: "web"))
                #expect(a.catchUpUnitName != b.catchUpUnitName)
                #expect(a.appDir != b.appDir)
                #expect(a.serviceUser != b.serviceUser)
                #expect(a.catchUpControlPath != b.catchUpControlPath)
            }
        }
    }

    /// Over many (app, env, service) triples, including every split of the same dashed text, no
    /// two share a unit, site, upstream or user name.
    @Test func namesAreInjective() {
        var words = ["a", "b", "ab", "a-b", "b-a", "a_b", "shop", "prod", "eu", "shop-prod", "prod-eu", "shop-prod-eu", "web", "eu-web"]
        words += (0..<40).map { "n\($0)" }
        var units: [String: String] = [:], sites: [String: String] = [:], users: [String: String] = [:]
        for app in words {
            for env in words {
                let layout = HostLayout(app: app, env: env)
                let pair = "\(app)/\(env)"
                #expect(sites.updateValue(pair, forKey: layout.nginxSiteFile) == nil)
                #expect(users.updateValue(pair, forKey: layout.serviceUser) == nil, "\(layout.serviceUser)")
                for service in ["web", "eu-web", "a", "b-a"] {
                    let triple = "\(pair)/\(service)"
                    #expect(units.updateValue(triple, forKey: layout.unitName(service: service, slot: .blue)) == nil)
                }
            }
        }
        #expect(users.count == words.count * words.count)
    }

    @Test func theServiceUserIsReadableShortAndSafeForUseradd() {
        #expect(HostLayout(app: "shop", env: "prod-eu").serviceUser.hasPrefix("berth-shop-prod-eu-"))
        #expect(HostLayout(app: "shop-prod", env: "eu").serviceUser.hasPrefix("berth-shop-prod-eu-"))
        #expect(HostLayout(app: "shop", env: "prod-eu").serviceUser != HostLayout(app: "shop-prod", env: "eu").serviceUser)
        #expect(HostLayout(app: "hello", env: "production").serviceUser == "berth-hello-productio-413fe3ce7c")

        let long = String(repeating: "a", count: 40)
        let cases = [(long, long), (long, "b"), ("b", long), (long + "", String(repeating: "a", count: 39) + "b"),
                     (String(repeating: "a", count: 39) + "b", long), ("0day", "x"), ("_", "_"), ("-", "-")]
        var seen: Set<String> = []
        for (app, env) in cases {
            let user = HostLayout(app: app, env: env).serviceUser
            #expect(user.count <= HostLayout.maxUserLength, "\(user)")
            #expect(user.first == "b")
            #expect(user.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }, "\(user)")
            #expect(seen.insert(user).inserted, "\(app)/\(env) shares \(user)")
        }
        // Truncated to the same readable part, told apart by the hash.
        let a = HostLayout(app: long, env: long).serviceUser, b = HostLayout(app: long, env: String(repeating: "a", count: 39) + "b").serviceUser
        #expect(a.dropLast(10) == b.dropLast(10) && a != b)
        #expect(HostLayout(app: long, env: "b").serviceUser.count == 32)
        #expect(HostLayout(app: "b", env: long).serviceUser.count == 32)
    }

    @Test func namesNeverHoldTheSeparator() {
        for valid in ["a", "0day", "shop-prod", "a_b", String(repeating: "x", count: 40)] { #expect(HostLayout.isValidName(valid)) }
        for invalid in ["", "a.b", "a/b", "Shop", "-a", "_a", String(repeating: "x", count: 41), "a b", "ä"] {
            #expect(!HostLayout.isValidName(invalid), "\(invalid)")
        }
    }

    @Test func slotsAlternateAndGreenUsesTheNextPort() {
        #expect(Slot.blue.other == .green)
        #expect(Slot.green.other == .blue)
        #expect(Slot.blue.port(base: 8000) == 8000)
        #expect(Slot.green.port(base: 8000) == 8001)
    }
}
