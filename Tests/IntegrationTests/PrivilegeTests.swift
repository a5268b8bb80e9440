import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// What a service may do on a real host: it runs as its environment's own user inside systemd's
/// sandbox (not as root), reads its env file but nobody else can, cannot change its release, and
/// still serves through nginx; root only when the app file says so. And the deploying machine may
/// reach hosts as a user with passwordless sudo, while a user without it is told so in a sentence.
extension Integration {
    @Suite(.serialized) struct PrivilegeTests {
        static let host = "h1"

        /// A deployed app of its own on h1, with `edit` applied to its app file.
        static func app(_ prefix: String, edit: (String) -> String = { $0 }) throws -> AppWorkspace {
            let app = try AppWorkspace.make(appName: DeployTests.freshName(prefix), hosts: [host], port: DeployTests.freshPort(),
                                            domain: "\(DeployTests.freshName(prefix)).test")
            let file = app.directory + "/berth.yml"
            try edit(try String(contentsOfFile: file, encoding: .utf8)).write(toFile: file, atomically: true, encoding: .utf8)
            return app
        }

        /// Runs a shell command on h1 and returns its trimmed stdout; a failure fails the test.
        @discardableResult
        static func onHost(_ testbed: Testbed, _ command: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let output = try testbed.run(on: host, command)
            #expect(output.status == 0, "\(command): \(output.combined)", sourceLocation: sourceLocation)
            return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// The uid of the main process of a unit.
        static func uid(of unit: String, _ testbed: Testbed) throws -> String {
            let pid = try onHost(testbed, "systemctl show --property=MainPID --value \(unit)")
            return try onHost(testbed, "ps -o uid= -p \(pid)")
        }

        @Test func aServiceRunsAsItsOwnUserInASandboxAndStillServes() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let app = try Self.app("priv")
            defer { app.remove() }
            let deploy = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(deploy.status == 0, "\(deploy.combined)")
            #expect(try Curl.version(testbed.address(of: Self.host), host: app.domain) == "1.0.0", "served through nginx")

            let layout = HostLayout(app: app.appName, env: "production")
            let user = layout.serviceUser
            let userID = try Self.onHost(testbed, "id -u \(user)")
            #expect(userID != "0" && !userID.isEmpty)
            #expect(try Self.onHost(testbed, "getent passwd \(user) | cut -d: -f6,7") == "/nonexistent:/usr/sbin/nologin")
            for service in ["web", "worker"] {
                #expect(try Self.uid(of: layout.unitName(service: service, slot: .blue), testbed) == userID,
                        "\(service) runs as \(user), not root")
            }

            // The env file: root's, readable by the service's group only.
            #expect(try Self.onHost(testbed, "stat -c '%a %U %G' \(layout.envFile)") == "640 root \(user)")
            #expect(try testbed.run(on: Self.host, "runuser -u nobody -- cat \(layout.envFile)").status != 0,
                    "another user cannot read the env file")
            #expect(try testbed.run(on: Self.host, "runuser -u \(user) -- cat \(layout.envFile) >/dev/null").status == 0)

            // The release is the service's to read, not to change; its shared directories are its own.
            let release = try Self.onHost(testbed, "readlink \(layout.currentLink)")
            #expect(try testbed.run(on: Self.host, "runuser -u \(user) -- cat \(release)/server.py >/dev/null").status == 0)
            #expect(try testbed.run(on: Self.host, "runuser -u \(user) -- touch \(release)/written").status != 0,
                    "the release must not be writable by the service user")
            #expect(try testbed.run(on: Self.host, "runuser -u \(user) -- touch \(layout.sharedDir)/media/written").status == 0,
                    "the shared directory is writable by the service user")

            // systemd's own rating of the sandbox (a unit without one is 9.6 UNSAFE).
            let unit = layout.unitName(service: "web", slot: .blue)
            let rating = try Self.onHost(testbed, "systemd-analyze security \(unit) --no-pager | tail -n 1")
            let words = rating.split(separator: " ")
            let exposure = try #require(words.firstIndex { $0.hasSuffix(":") }.flatMap { Double(words[$0 + 1]) }, "\(rating)")
            #expect(exposure <= 2.5, "\(rating)")
            #expect(rating.contains(" OK") || rating.contains(" SAFE"), "\(rating)")
            // A second deploy keeps all of it (the green slot, same user).
            try app.setVersion("2.0.0")
            let second = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(second.status == 0, "\(second.combined)")
            #expect(try Curl.version(testbed.address(of: Self.host), host: app.domain) == "2.0.0")
            #expect(try Self.uid(of: layout.unitName(service: "web", slot: .green), testbed) == userID)
        }

        @Test func aServiceRunsAsRootOnlyWhenTheAppFileSaysSo() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let app = try Self.app("root") {
                $0.replacingOccurrences(of: "    command: python3 worker.py\n    role: web\n",
                                        with: "    command: python3 worker.py\n    role: web\n    user: root\n")
            }
            defer { app.remove() }
            let deploy = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(deploy.status == 0, "\(deploy.combined)")
            let layout = HostLayout(app: app.appName, env: "production")
            #expect(try Self.uid(of: layout.unitName(service: "worker", slot: .blue), testbed) == "0")
            #expect(try Self.uid(of: layout.unitName(service: "web", slot: .blue), testbed) != "0")
            #expect(try Curl.version(testbed.address(of: Self.host), host: app.domain) == "1.0.0")
        }

        @Test func aDeployUserWithPasswordlessSudoDeploysAndOneWithoutIsToldWhy() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let deployer = "deploy\(suffix)", stranger = "nosudo\(suffix)"
            for user in [deployer, stranger] {
                try Self.onHost(testbed, """
                    useradd --create-home --shell /bin/sh \(user) && install -d -m 700 -o \(user) -g \(user) /home/\(user)/.ssh \
                    && install -m 600 -o \(user) -g \(user) /root/.ssh/authorized_keys /home/\(user)/.ssh/authorized_keys
                    """)
            }
            try Self.onHost(testbed, "echo '\(deployer) ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/\(deployer) && chmod 440 /etc/sudoers.d/\(deployer)")
            defer {
                _ = try? testbed.run(on: Self.host, "rm -f /etc/sudoers.d/\(deployer); pkill -u \(deployer); pkill -u \(stranger); userdel -r \(deployer); userdel -r \(stranger)")
            }

            // The engine is installed through sudo too: take away the one the other tests installed.
            try Self.onHost(testbed, "rm -f /var/lib/berth/engine/berth-engine-*")
            let app = try Self.app("sudo") { $0.replacingOccurrences(of: "    address: h1\n", with: "    address: h1\n    user: \(deployer)\n") }
            defer { app.remove() }
            let deploy = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(deploy.status == 0, "\(deploy.combined)")
            #expect(deploy.combined.contains("installed the host engine"), "\(deploy.combined)")
            #expect(try Curl.version(testbed.address(of: Self.host), host: app.domain) == "1.0.0")
            let layout = HostLayout(app: app.appName, env: "production")
            #expect(try Self.onHost(testbed, "stat -c %U \(layout.manifestFile)") == "root", "the engine ran as root")
            #expect(try Self.onHost(testbed, "stat -c %U /var/lib/berth/engine/berth-engine") == "root")
            let status = try berth.run(["status"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(status.status == 0, "\(status.combined)")

            let file = app.directory + "/berth.yml"
            try (try String(contentsOfFile: file, encoding: .utf8)).replacingOccurrences(of: "user: \(deployer)", with: "user: \(stranger)")
                .write(toFile: file, atomically: true, encoding: .utf8)
            try app.setVersion("2.0.0")
            let refused = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(refused.status == 9, "\(refused.combined)")
            #expect(refused.combined.contains("the ssh user \(stranger) on h1 is not root and cannot use sudo without a password"),
                    "\(refused.combined)")
            #expect(try Curl.version(testbed.address(of: Self.host), host: app.domain) == "1.0.0", "the old release serves on")
        }
    }
}
