import BerthCore
import Testing
@testable import BerthConfig

/// Effective ports: a service uses `port + port_offset` (blue) and the next port (green) in each
/// environment; environments that share a host must not collide there.
@Suite struct PortsTests {
    static let hostsAndServices = """
        hosts:
          web1: {address: a, roles: [web]}
          web2: {address: b, roles: [web]}
          db1: {address: c, roles: [db]}
        services:
          web: {command: run, role: web, port: 8000}
          api: {command: run, role: web, port: 8100}
          pg: {command: run, role: db, port: 5432}
          worker: {command: run, role: web}

        """

    @Test func anOffsetKeepsGreenWithin65535() throws {
        #expect(problems(top: """
            services:
              web: {command: run, role: web, port: 60000}
            environments:
              production: {hosts: [web1]}
              staging: {hosts: [web1], port_offset: 5535}
            """) == [
            "berth.yml:5:41: port_offset 5535 moves service 'web' to ports 65535 and 65536, past 65535",
        ])
        let app = try config(top: """
            services:
              web: {command: run, role: web, port: 60000}
            environments:
              staging: {hosts: [web1], port_offset: 5534}
            """)
        #expect(app.environments[0].portOffset == 5534)
    }

    @Test func environmentsOnTheSameHostNeedDifferentPorts() {
        #expect(problems(top: """
            environments:
              production: {hosts: [web1, web2]}
              staging: {hosts: [web2]}
            """ + "\n" + Self.hostsAndServices) == [
            "berth.yml:3:3: environments 'production' and 'staging' share host 'web2', where service 'web' of 'staging' (ports 8000 and 8001) overlaps service 'web' of 'production' (ports 8000 and 8001); choose port_offset values that keep them apart",
        ])
    }

    @Test func anOffsetOfOneStillOverlapsTheGreenSlot() {
        #expect(problems(top: """
            environments:
              production: {hosts: [web1]}
              staging: {hosts: [web1], port_offset: 1}
            """ + "\n" + Self.hostsAndServices) == [
            "berth.yml:3:41: environments 'production' and 'staging' share host 'web1', where service 'web' of 'staging' (ports 8001 and 8002) overlaps service 'web' of 'production' (ports 8000 and 8001); choose port_offset values that keep them apart",
        ])
    }

    @Test func anOffsetCanLandOnAnotherServicesPorts() {
        #expect(problems(top: """
            environments:
              production: {hosts: [web1]}
              staging: {hosts: [web1], port_offset: 99}
            """ + "\n" + Self.hostsAndServices) == [
            "berth.yml:3:41: environments 'production' and 'staging' share host 'web1', where service 'web' of 'staging' (ports 8099 and 8100) overlaps service 'api' of 'production' (ports 8100 and 8101); choose port_offset values that keep them apart",
        ])
    }

    @Test func eachPairOfEnvironmentsIsReported() {
        #expect(problems(top: """
            environments:
              production: {hosts: [web1]}
              staging: {hosts: [web1], port_offset: 2}
              qa: {hosts: [web1], port_offset: 2}
            """ + "\n" + Self.hostsAndServices) == [
            "berth.yml:4:36: environments 'staging' and 'qa' share host 'web1', where service 'web' of 'qa' (ports 8002 and 8003) overlaps service 'web' of 'staging' (ports 8002 and 8003); choose port_offset values that keep them apart",
        ])
    }

    @Test func offsetsThatKeepSlotsApartAreFine() throws {
        let app = try config(top: """
            environments:
              production: {hosts: [web1, db1]}
              staging: {hosts: [web1], port_offset: 2}
              qa: {hosts: [web2, db1], port_offset: 1000}
            """ + "\n" + Self.hostsAndServices)
        #expect(app.environments.map(\.portOffset) == [0, 2, 1000])
    }

    /// Only services that run on the shared host (by role) can collide there: `web` runs on web1
    /// and web2, which the two environments do not share.
    @Test func servicesThatDoNotRunOnTheSharedHostDoNotCollide() throws {
        let app = try config(top: """
            environments:
              production: {hosts: [web1, db1]}
              staging: {hosts: [web2, db1], port_offset: 1}
            hosts:
              web1: {address: a, roles: [web]}
              web2: {address: b, roles: [web]}
              db1: {address: c, roles: [db]}
            services:
              web: {command: run, role: web, port: 8000}
              pg: {command: run, role: db}
            """)
        #expect(app.environments.map(\.portOffset) == [0, 1])
    }
}
