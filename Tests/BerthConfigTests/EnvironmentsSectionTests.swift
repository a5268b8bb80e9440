import BerthCore
import Testing
@testable import BerthConfig

@Suite struct EnvironmentsSectionTests {
    static let twoHosts = """
        hosts:
          web1: {address: a, roles: [web]}
          web2: {address: b, roles: [web]}

        """

    @Test func everyKey() throws {
        let environments = try config(top: """
            environments:
              production:
                hosts: [web1, web2]
                env_file: [.env, .env.production, /etc/shop/secrets.env]
              staging:
                hosts: [web1]
                env_file: .env.staging
                port_offset: 100
                proxy:
                  listen: 8080
                  domains: {staging.example.com: web}
            """ + "\n" + Self.twoHosts).environments
        #expect(environments == [
            EnvironmentConfig(name: "production", hosts: ["web1", "web2"],
                              envFiles: [".env", ".env.production", "/etc/shop/secrets.env"], portOffset: 0, proxy: nil),
            EnvironmentConfig(name: "staging", hosts: ["web1"], envFiles: [".env.staging"], portOffset: 100,
                              proxy: ProxyConfig(listen: 8080, sites: [
                                  ProxySite(domains: ["staging.example.com"], service: "web"),
                              ])),
        ])
    }

    @Test func hostsAreRequiredAndNotEmpty() {
        #expect(problems(top: "environments:\n  production:\n    port_offset: 0\n") == [
            "berth.yml:3:5: missing required key 'hosts' in environment 'production'",
        ])
        #expect(problems(top: "environments:\n  production:\n    hosts: []\n") == [
            "berth.yml:3:12: 'hosts' must list at least one host",
        ])
        #expect(problems(top: "environments:\n  production:\n    hosts: web1\n") == [
            "berth.yml:3:12: expected a list of host names for 'hosts', found 'web1'; write [web1]",
        ])
    }

    @Test func hostsExistAndAreListedOnce() {
        #expect(problems(top: "environments:\n  production:\n    hosts: [web1, web3, db, web1]\n" + Self.twoHosts) == [
            "berth.yml:3:19: unknown host 'web3'; did you mean 'web1'?",
            "berth.yml:3:25: unknown host 'db'; hosts are: web1, web2",
            "berth.yml:3:29: host 'web1' is listed twice in 'hosts'",
        ])
    }

    @Test func environmentNamesAreSafeNames() {
        #expect(problems(top: "environments:\n  Production:\n    hosts: [web1]\n") == [
            "berth.yml:2:3: 'Production' is not a valid environment name; use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit",
        ])
        #expect(problems(top: "environments: {}\n") == [
            "berth.yml:1:15: 'environments' must define at least one environment",
        ])
    }

    @Test func envFileIsAPathOrAListOfPaths() {
        #expect(problems(top: "environments:\n  production:\n    hosts: [web1]\n    env_file: {path: .env}\n") == [
            "berth.yml:4:15: expected a path or a list of paths for 'env_file', found a mapping",
        ])
        #expect(problems(top: "environments:\n  production:\n    hosts: [web1]\n    env_file: [.env, [x], \"\"]\n") == [
            "berth.yml:4:22: expected a path in 'env_file', found a list",
            "berth.yml:4:27: 'env_file' must not be empty",
        ])
        #expect(problems(top: "environments:\n  production:\n    hosts: [web1]\n    env_file: \".env\\n.env2\"\n") == [
            "berth.yml:4:15: 'env_file' must be a single line",
        ])
        #expect(problems(top: "environments:\n  production:\n    hosts: [web1]\n    env_file:\n") == [
            "berth.yml:4:14: expected a path or a list of paths for 'env_file', found nothing",
        ])
    }

    @Test func portOffsetIsBetween0And10000() {
        #expect(problems(top: "environments:\n  production:\n    hosts: [web1]\n    port_offset: 10001\n") == [
            "berth.yml:4:18: 'port_offset' must be between 0 and 10000, found 10001",
        ])
        #expect(problems(top: "environments:\n  production:\n    hosts: [web1]\n    port_offset: -1\n") == [
            "berth.yml:4:18: 'port_offset' must be between 0 and 10000, found -1",
        ])
    }

    @Test func unknownKeysSuggestTheClosest() {
        #expect(problems(top: "environments:\n  production:\n    hosts: [web1]\n    envfile: .env\n    vars: {}\n") == [
            "berth.yml:4:5: unknown key 'envfile' in environment 'production'; did you mean 'env_file'?",
            "berth.yml:5:5: unknown key 'vars' in environment 'production'; allowed keys: hosts, env_file, port_offset, proxy, rollout, watch",
        ])
        #expect(problems(top: "environments:\n  production:\n    hosts: [web1]\n    proxy: {listn: 80}\n") == [
            "berth.yml:4:13: unknown key 'listn' in the proxy of environment 'production'; did you mean 'listen'?",
        ])
    }

    /// `<app>.<env>.<service>` names units and journals; past 64 characters it is unreadable.
    @Test func unitNamesStayShort() {
        let long = String(repeating: "a", count: 30)
        #expect(problems("""
            app: \(long)
            release: {path: app}
            hosts: {web1: {address: a, roles: [web]}}
            services: {\(long): {command: run, role: web}}
            environments:
              production: {hosts: [web1]}
              qa: {hosts: [web1]}
            """) == [
            "berth.yml:6:3: unit names in environment 'production' would be too long: '\(long).production.\(long)' has 72 characters, at most 64 are allowed; shorten the app, environment or service name",
        ])
    }
}
