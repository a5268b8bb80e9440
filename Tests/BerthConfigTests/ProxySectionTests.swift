import BerthCore
import Testing
@testable import BerthConfig

@Suite struct ProxySectionTests {
    static let services = """
        services:
          web: {command: run, role: web, port: 8000}
          api: {command: run, role: web, port: 9000}
          worker: {command: run, role: web}

        """

    @Test func domainsAreGroupedByServiceInOrderOfFirstAppearance() throws {
        let app = try config(top: """
            proxy:
              listen: 8080
              domains:
                example.com: web
                api.example.com: api
                www.example.com: web
                "*.example.com": web
            """ + "\n" + Self.services)
        #expect(app.proxy == ProxyConfig(listen: 8080, sites: [
            ProxySite(domains: ["example.com", "www.example.com", "*.example.com"], service: "web"),
            ProxySite(domains: ["api.example.com"], service: "api"),
        ]))
        #expect(app.services.map(\.proxied) == [true, true, false])
    }

    @Test func listenDefaultsTo80() throws {
        let app = try config(top: "proxy:\n  domains: {example.com: web}\n")
        #expect(app.proxy == ProxyConfig(listen: 80, sites: [ProxySite(domains: ["example.com"], service: "web")]))
    }

    /// A service routed only by an environment's proxy is proxied too.
    @Test func servicesRoutedByAnEnvironmentProxyAreProxied() throws {
        let app = try config(top: Self.services + """
            environments:
              production:
                hosts: [web1]
                proxy:
                  domains: {api.example.com: api}
            """)
        #expect(app.proxy == ProxyConfig())
        #expect(app.environments[0].proxy == ProxyConfig(sites: [ProxySite(domains: ["api.example.com"], service: "api")]))
        #expect(app.services.map(\.proxied) == [false, true, false])
    }

    @Test func listenIsAPort() {
        #expect(problems(top: "proxy:\n  listen: 0\n") == ["berth.yml:2:11: 'listen' must be between 1 and 65535, found 0"])
        #expect(problems(top: "proxy:\n  listen: 65536\n") == [
            "berth.yml:2:11: 'listen' must be between 1 and 65535, found 65536",
        ])
    }

    @Test func domainsAreLowercaseDNSNames() {
        let rule = "use a lowercase DNS name such as 'example.com' or '*.example.com'"
        #expect(problems(top: """
            proxy:
              domains:
                Example.com: web
                "a b.com": web
                "x.com;": web
                "{x}.com": web
                "x.com/path": web
                "$host": web
                "'x.com'": web
                "a.*.com": web
                "*.": web
                -x.com: web
                x..com: web
            """) == [
            "berth.yml:3:5: 'Example.com' is not a valid domain; \(rule)",
            "berth.yml:4:5: 'a b.com' is not a valid domain; \(rule)",
            "berth.yml:5:5: 'x.com;' is not a valid domain; \(rule)",
            "berth.yml:6:5: '{x}.com' is not a valid domain; \(rule)",
            "berth.yml:7:5: 'x.com/path' is not a valid domain; \(rule)",
            "berth.yml:8:5: '$host' is not a valid domain; \(rule)",
            "berth.yml:9:5: ''x.com'' is not a valid domain; \(rule)",
            "berth.yml:10:5: 'a.*.com' is not a valid domain; \(rule)",
            "berth.yml:11:5: '*.' is not a valid domain; \(rule)",
            "berth.yml:12:5: '-x.com' is not a valid domain; \(rule)",
            "berth.yml:13:5: 'x..com' is not a valid domain; \(rule)",
        ])
    }

    @Test func aDomainRoutesToAServiceThatExistsAndHasAPort() {
        #expect(problems(top: "proxy:\n  domains:\n    a.test: wbe\n    b.test: db\n    c.test: worker\n" + Self.services) == [
            "berth.yml:3:13: unknown service 'wbe'; did you mean 'web'?",
            "berth.yml:4:13: unknown service 'db'; services are: web, api, worker",
            "berth.yml:5:13: domain 'c.test' routes to service 'worker', which has no port; add a port to 'worker'",
        ])
        #expect(problems(top: "proxy:\n  domains:\n    a.test: [web]\n") == [
            "berth.yml:3:13: expected a service name for 'a.test', found a list",
        ])
    }

    @Test func aDomainIsListedOncePerProxy() {
        #expect(problems(top: "proxy:\n  domains:\n    a.test: web\n    b.test: web\n    a.test: web\n") == [
            "berth.yml:5:5: domain 'a.test' is listed twice in proxy; the first is at line 3",
        ])
        #expect(problems(top: """
            environments:
              production:
                hosts: [web1]
                proxy:
                  domains:
                    a.test: web
                    'a.test': web
            """) == [
            "berth.yml:7:9: domain 'a.test' is listed twice in the proxy of environment 'production'; the first is at line 6",
        ])
    }

    /// An environment's proxy replaces the top-level one, so the same domain in both is fine.
    @Test func theSameDomainMayAppearInTheTopLevelAndAnEnvironmentProxy() throws {
        let app = try config(top: """
            proxy:
              domains: {a.test: web}
            environments:
              production:
                hosts: [web1]
                proxy:
                  domains: {a.test: web}
            """)
        #expect(app.environments[0].proxy?.sites == app.proxy.sites)
    }

    @Test func unknownKeysAndWrongShapes() {
        #expect(problems(top: "proxy:\n  domain: {a.test: web}\n") == [
            "berth.yml:2:3: unknown key 'domain' in proxy; did you mean 'domains'?",
        ])
        #expect(problems(top: "proxy:\n  domains: [a.test]\n") == [
            "berth.yml:2:12: expected a mapping of domains to services for 'domains', found a list",
        ])
        #expect(problems(top: "proxy: nginx\n") == [
            "berth.yml:1:8: expected a mapping with the keys listen, domains for 'proxy', found 'nginx'",
        ])
    }
}
