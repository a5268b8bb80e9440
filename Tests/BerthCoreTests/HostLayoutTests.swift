import BerthCore
import Testing

@Suite struct HostLayoutTests {
    let layout = HostLayout(app: "shop", env: "staging")

    @Test func everyPathIsNamespacedByAppAndEnvironment() {
        #expect(layout.releaseDir("0123456789abcdef") == "/var/lib/berth/apps/shop/staging/releases/0123456789abcdef")
        #expect(layout.envFile == "/var/lib/berth/apps/shop/staging/app.env")
        #expect(layout.lockFile == "/var/lib/berth/apps/shop/staging/deploy.lock")
        #expect(layout.instanceEnvFile(service: "web", slot: .green) == "/var/lib/berth/apps/shop/staging/run/web@green.env")
        #expect(layout.slotLink(.blue) == "/var/lib/berth/apps/shop/staging/slots/blue")
    }

    @Test func unitAndSiteNamesCarryAppAndEnvironment() {
        #expect(layout.unitName(service: "web", slot: .blue) == "shop-staging-web@blue.service")
        #expect(layout.templateUnitFile(service: "web") == "/etc/systemd/system/shop-staging-web@.service")
        #expect(layout.nginxSiteFile == "/etc/nginx/conf.d/berth-shop-staging.conf")
    }

    @Test func slotsAlternateAndGreenUsesTheNextPort() {
        #expect(Slot.blue.other == .green)
        #expect(Slot.green.other == .blue)
        #expect(Slot.blue.port(base: 8000) == 8000)
        #expect(Slot.green.port(base: 8000) == 8001)
    }
}
