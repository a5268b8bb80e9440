import BerthCore
import Testing
@testable import BerthConfig

/// What a host engine would refuse for a reason the app file alone decides is refused here first,
/// with its place in the file, before any host is touched. One test per rule; `PlanCheck` keeps
/// checking the same on the host.
@Suite struct EngineRulesTests {
    /// Engine: "there are no services to run on this host".
    @Test func aHostWhoseRolesMatchNoServiceIsAnErrorAtItsRoles() {
        #expect(problems(top: """
            hosts:
              web1:
                address: 10.0.0.5
                roles: [web]
              db1:
                address: 10.0.0.6
                roles: [db, cache]
            environments:
              production:
                hosts: [web1, db1]
            """) == [
            "berth.yml:7:12: no service has any of the roles of host 'db1' (db, cache), so environment 'production' would deploy nothing to it; give it the role of a service (web) or take it out of 'production'",
        ])
    }

    @Test func aHostNoEnvironmentDeploysToMayRunNothing() {
        // e.g. a host that only keeps the release store
        #expect(problems(top: """
            hosts:
              web1:
                address: 10.0.0.5
                roles: [web]
              store:
                address: 10.0.0.6
                roles: [store]
            release_store:
              host: store
            """) == [])
    }

    /// Engine (catch-up source): "the release store user '...' must be letters, digits, '.', '_' or '-'".
    @Test func theReleaseStoreHostsUserMustBeOneTheEngineAccepts() {
        #expect(problems(top: """
            hosts:
              web1:
                address: 10.0.0.5
                user: _deploy
                roles: [web]
            release_store:
              host: web1
            """) == [
            "berth.yml:4:11: hosts catch up from the release store host 'web1' as its user '_deploy', which goes into a key line and a unit file on every host: use a user of letters, digits, '.', '_' or '-', starting with a letter or digit",
        ])
        #expect(problems(top: "hosts:\n  web1:\n    address: 10.0.0.5\n    user: deploy.bot\n    roles: [web]\nrelease_store:\n  host: web1\n") == [])
    }

    /// Engine: "port 8000 of the blue slot is taken by a process that is not ..." (nginx holds it).
    @Test func nginxMustNotListenOnAServicePort() {
        #expect(problems(top: """
            proxy:
              listen: 8001
              domains:
                example.com: web
            """) == [
            "berth.yml:2:11: nginx of environment 'production' would listen on port 8001 of host 'web1', where service 'web' uses ports 8000 and 8001; choose a listen port that no service uses",
        ])
    }

    @Test func nginxMustNotListenOnAPortOfAnotherEnvironmentOnTheSameHost() {
        #expect(problems(top: """
            environments:
              production:
                hosts: [web1]
                proxy:
                  listen: 8100
                  domains:
                    example.com: web
              staging:
                hosts: [web1]
                port_offset: 100
            """) == [
            "berth.yml:5:15: nginx of environment 'production' would listen on port 8100 of host 'web1', where service 'web' of environment 'staging' uses ports 8100 and 8101; choose a listen port that no service uses",
        ])
    }

    /// Engine: nginx's "conflicting server name" (one of the two sites never answers).
    @Test func twoEnvironmentsOnOneHostMustNotServeTheSameDomainOnOnePort() {
        #expect(problems(top: """
            proxy:
              domains:
                example.com: web
            environments:
              production:
                hosts: [web1]
              staging:
                hosts: [web1]
                port_offset: 10
            """) == [
            "berth.yml:7:3: environments 'production' and 'staging' share host 'web1' and would both serve 'example.com' on port 80, where nginx answers only one of them; give 'staging' its own proxy domains or listen port",
        ])
        // Own domains, another listen port, or other hosts: fine.
        #expect(problems(top: """
            proxy:
              domains:
                example.com: web
            hosts:
              web1: {address: a, roles: [web]}
              web2: {address: b, roles: [web]}
            environments:
              production:
                hosts: [web1]
              staging:
                hosts: [web1]
                port_offset: 10
                proxy: {listen: 81, domains: {example.com: web}}
              qa:
                hosts: [web2]
                port_offset: 20
            """) == [])
    }

    @Test func theSameDomainWrittenInAnEnvironmentsOwnProxyIsReportedThere() {
        #expect(problems(top: """
            environments:
              production:
                hosts: [web1]
                proxy: {domains: {example.com: web}}
              staging:
                hosts: [web1]
                port_offset: 10
                proxy:
                  domains:
                    example.com: web
            """) == [
            "berth.yml:10:9: environments 'production' and 'staging' share host 'web1' and would both serve 'example.com' on port 80, where nginx answers only one of them; give 'staging' its own proxy domains or listen port",
        ])
    }
}
