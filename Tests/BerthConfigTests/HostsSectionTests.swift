import BerthCore
import Testing
@testable import BerthConfig

@Suite struct HostsSectionTests {
    static let rule = "use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit"

    @Test func everyKey() throws {
        let hosts = try config(top: """
            hosts:
              web1:
                address: 10.0.0.5
                user: deploy
                port: 2222
                roles: [web, scheduler]
                optional: true
              web2:
                address: web2.internal.example.com
                roles: [web]
            """).hosts
        #expect(hosts == [
            HostConfig(name: "web1", address: "10.0.0.5", user: "deploy", port: 2222, roles: ["web", "scheduler"],
                       optional: true),
            HostConfig(name: "web2", address: "web2.internal.example.com", user: nil, port: nil, roles: ["web"],
                       optional: false),
        ])
    }

    @Test func yesAndNoAreBooleans() throws {
        let hosts = try config(top: "hosts:\n  web1: {address: a, roles: [web], optional: yes}\n").hosts
        #expect(hosts[0].optional)
        #expect(problems(top: "hosts:\n  web1: {address: a, roles: [web], optional: maybe}\n") == [
            "berth.yml:2:46: expected true or false for 'optional', found 'maybe'",
        ])
        #expect(problems(top: "hosts:\n  web1: {address: a, roles: [web], optional: 'true'}\n") == [
            "berth.yml:2:46: expected true or false for 'optional', found the string 'true'",
        ])
    }

    @Test func hostNamesAreSafeNames() {
        #expect(problems(top: "hosts:\n  Web 1:\n    address: a\n    roles: [web]\n"
                         + "environments:\n  production:\n    hosts: [Web 1]\n") == [
            "berth.yml:2:3: 'Web 1' is not a valid host name; \(Self.rule)",
            "berth.yml:7:13: 'Web 1' is not a valid host name; \(Self.rule)",
        ])
    }

    /// Without hosts, names that refer to hosts are not reported as unknown too.
    @Test func theSectionNeedsAtLeastOneHost() {
        #expect(problems(top: "hosts: {}\n") == [
            "berth.yml:1:8: 'hosts' must define at least one host",
        ])
        #expect(problems(top: "hosts:\n  - web1\n") == [
            "berth.yml:2:3: expected a mapping of host names to hosts for 'hosts', found a list",
        ])
    }

    @Test func aHostMustBeAMapping() {
        #expect(problems(top: "hosts:\n  web1:\n") == [
            "berth.yml:2:8: expected a mapping with the keys address, user, port, roles, optional for 'web1', found nothing",
        ])
    }

    @Test func addressAndRolesAreRequired() {
        #expect(problems(top: "hosts:\n  web1:\n    user: deploy\n") == [
            "berth.yml:3:5: missing required key 'address' in host 'web1'",
            "berth.yml:3:5: missing required key 'roles' in host 'web1'",
        ])
    }

    @Test func addressAndUserCannotSmuggleSSHOptions() {
        let words = "must not contain whitespace, quotes, backslashes, '$' or ';'"
        #expect(problems(top: "hosts:\n  web1:\n    address: -oProxyCommand=sh\n    roles: [web]\n") == [
            "berth.yml:3:14: 'address' must not start with '-' (ssh would read it as an option), found '-oProxyCommand=sh'",
        ])
        #expect(problems(top: "hosts:\n  web1:\n    address: \"10.0.0.5 -p 2\"\n    roles: [web]\n") == [
            "berth.yml:3:14: 'address' \(words), found '10.0.0.5 -p 2'",
        ])
        #expect(problems(top: "hosts:\n  web1:\n    address: a;reboot\n    user: $USER\n    roles: [web]\n") == [
            "berth.yml:3:14: 'address' \(words), found 'a;reboot'",
            "berth.yml:4:11: 'user' \(words), found '$USER'",
        ])
        #expect(problems(top: "hosts:\n  web1:\n    address: a\n    user: \"'root'\"\n    roles: [web]\n") == [
            "berth.yml:4:11: 'user' \(words), found ''root''",
        ])
        #expect(problems(top: "hosts:\n  web1:\n    address: ''\n    user: \"\"\n    roles: [web]\n") == [
            "berth.yml:3:14: 'address' must not be empty",
            "berth.yml:4:11: 'user' must not be empty",
        ])
        #expect(problems(top: "hosts:\n  web1:\n    address: a\n    user: -l\n    roles: [web]\n") == [
            "berth.yml:4:11: 'user' must not start with '-' (ssh would read it as an option), found '-l'",
        ])
    }

    @Test func aNumericUserIsText() throws {
        let hosts = try config(top: "hosts:\n  web1: {address: 10.0.0.5, user: 1000, roles: [web]}\n").hosts
        #expect(hosts[0].user == "1000")
    }

    @Test func theSSHPortIsBetween1And65535() {
        #expect(problems(top: "hosts:\n  web1: {address: a, port: 0, roles: [web]}\n") == [
            "berth.yml:2:28: 'port' must be between 1 and 65535, found 0",
        ])
        #expect(problems(top: "hosts:\n  web1: {address: a, port: 65536, roles: [web]}\n") == [
            "berth.yml:2:28: 'port' must be between 1 and 65535, found 65536",
        ])
    }

    /// A host whose roles cannot be read does not make services' roles "unknown" as well.
    @Test func rolesAreANonEmptyListOfNames() {
        #expect(problems(top: "hosts:\n  web1: {address: a, roles: []}\n") == [
            "berth.yml:2:29: 'roles' must list at least one role",
        ])
        #expect(problems(top: "hosts:\n  web1: {address: a, roles: web}\n") == [
            "berth.yml:2:29: expected a list of role names for 'roles', found 'web'; write [web]",
        ])
        #expect(problems(top: "hosts:\n  web1: {address: a, roles: [web, Web, web]}\n") == [
            "berth.yml:2:35: 'Web' is not a valid role name; \(Self.rule)",
            "berth.yml:2:40: role 'web' is listed twice in 'roles'",
        ])
    }

    @Test func unknownKeysSuggestTheClosest() {
        #expect(problems(top: "hosts:\n  web1:\n    adress: a\n    address: a\n    roles: [web]\n    ssh_key: k\n") == [
            "berth.yml:3:5: unknown key 'adress' in host 'web1'; did you mean 'address'?",
            "berth.yml:6:5: unknown key 'ssh_key' in host 'web1'; allowed keys: address, user, port, roles, optional",
        ])
    }

    @Test func everyServiceRoleIsHeldBySomeHost() {
        #expect(problems(top: """
            services:
              web: {command: run, role: web, port: 8000}
              jobs: {command: run, role: worker}
              cron: {command: run, role: schedular}
            hosts:
              web1: {address: a, roles: [web, scheduler]}
            """) == [
            "berth.yml:3:30: no host has role 'worker'; roles are: web, scheduler",
            "berth.yml:4:30: no host has role 'schedular'; did you mean 'scheduler'?",
        ])
    }
}
