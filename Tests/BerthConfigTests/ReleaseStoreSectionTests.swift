import BerthCore
import Testing
@testable import BerthConfig

@Suite struct ReleaseStoreSectionTests {
    @Test func defaults() throws {
        let app = try config(top: "release_store:\n  host: web1\n")
        #expect(app.releaseStore == ReleaseStoreConfig(host: "web1", address: nil, port: nil, path: "/var/lib/berth/store",
                                                       waitMs: 60_000))
    }

    @Test func everyKey() throws {
        let app = try config(top: "release_store:\n  host: web1\n  address: 192.168.1.5\n  port: 2222\n  path: /srv/berth-store/\n  wait: 2m\n")
        #expect(app.releaseStore == ReleaseStoreConfig(host: "web1", address: "192.168.1.5", port: 2222, path: "/srv/berth-store",
                                                       waitMs: 120_000))
    }

    @Test func theHostMustExist() {
        #expect(problems(top: "release_store:\n  host: web2\n") == [
            "berth.yml:2:9: unknown host 'web2'; did you mean 'web1'?",
        ])
    }

    @Test func theHostMustNotBeOptional() {
        let hosts = "hosts:\n  web1:\n    address: 10.0.0.5\n    roles: [web]\n    optional: true\n"
        #expect(problems(top: "release_store:\n  host: web1\n" + hosts) == [
            "berth.yml:2:9: the release store host 'web1' is optional, but hosts catch up from it when they boot; keep the store on a host that is always on",
        ])
    }

    @Test func badValuesSayWhatAndWhere() {
        #expect(problems(top: "release_store:\n  host: web1\n  path: relative/dir\n  wait: 11m\n  port: 0\n  adress: x\n") == [
            "berth.yml:3:9: the store path must be an absolute directory made of letters, digits, '/', '.', '_' or '-' (no '..'), found 'relative/dir'",
            "berth.yml:4:9: wait is how long a booting host looks for the store; at most 10m, found '11m'",
            "berth.yml:5:9: 'port' must be between 1 and 65535, found 0",
            "berth.yml:6:3: unknown key 'adress' in release_store; did you mean 'address'?",
        ])
        #expect(problems(top: "release_store:\n  address: x\n") == [
            "berth.yml:2:3: missing required key 'host' in release_store",
        ])
    }
}
