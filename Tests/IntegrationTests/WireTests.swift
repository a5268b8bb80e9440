import BerthTestSupport
import Foundation
import Testing

/// Trusting what comes over the wire, on real hosts: a host key or client key that does not
/// match is a failure of its own (exit 8), never "offline"; a corrupt engine file is not run; a
/// catch-up runs only what the deploying controller signed.
extension Integration {
    @Suite(.serialized) struct WireTests {
        /// A copy of the testbed's ssh config in a temporary directory, with its own known_hosts
        /// (and identity, when given), so a test can break trust without touching the shared files.
        struct BrokenSSH {
            let directory: String
            var config: String { directory + "/ssh_config" }

            init(_ testbed: Testbed, wrongHostKeyFor badHost: String? = nil, wrongClientKey: Bool = false) throws {
                directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-wire-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                var knownHosts = try String(contentsOfFile: testbed.directory + "/known_hosts", encoding: .utf8)
                if let badHost {
                    let fake = try Self.makeKey(directory + "/fake_host_key")
                    knownHosts = knownHosts.split(separator: "\n").map { line in
                        line.hasPrefix("\(badHost),") ? "\(line.split(separator: " ")[0]) \(fake)" : String(line)
                    }.joined(separator: "\n") + "\n"
                }
                try knownHosts.write(toFile: directory + "/known_hosts", atomically: true, encoding: .utf8)
                var text = try String(contentsOfFile: testbed.sshConfig, encoding: .utf8)
                    .replacingOccurrences(of: "UserKnownHostsFile \"\(testbed.directory)/known_hosts\"",
                                          with: "UserKnownHostsFile \"\(directory)/known_hosts\"")
                if wrongClientKey {
                    _ = try Self.makeKey(directory + "/wrong_client_key")
                    text = text.replacingOccurrences(of: #"IdentityFile "[^"]*""#, with: "IdentityFile \"\(directory)/wrong_client_key\"",
                                                     options: .regularExpression)
                }
                try text.write(toFile: config, atomically: true, encoding: .utf8)
            }

            /// A fresh ed25519 key pair; returns the public key's `type base64`.
            static func makeKey(_ path: String) throws -> String {
                _ = try RunningProcess.start(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path]).wait()
                return try String(contentsOfFile: path + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
            }

            /// Closes berth's multiplexed connection to `host`, so the next command really connects.
            func closeMaster(_ host: String) throws {
                _ = try RunningProcess.start(["ssh", "-F", config, "-o", "ControlPath=/tmp/berth-ssh-\(getuid())/%C",
                                              "-O", "exit", host]).wait()
            }

            func remove() { try? FileManager.default.removeItem(atPath: directory) }
        }

        static func app(_ testbed: Testbed, _ prefix: String) throws -> AppWorkspace {
            let name = DeployTests.freshName(prefix)
            return try AppWorkspace.make(appName: name, hosts: ["h1", "h2"], port: DeployTests.freshPort(), domain: "\(name).test",
                                         optional: ["h2"], extraYAML: """
                release_store:
                  host: h1
                  address: \(testbed.address(of: "h1"))
                """)
        }

        @Test(arguments: ["host key", "client key"])
        func anOptionalHostThatFailsSSHTrustIsNotOfflineAndNothingIsPublished(_ broken: String) throws {
            let testbed = try FleetAccess.ensure(hosts: 2)
            let berth = try BerthCLI.locate()
            let app = try Self.app(testbed, "trust")
            defer { app.remove() }
            let first = try berth.run(["deploy", "--json", "--label", "1.0.0"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 0, "\(first.combined)")

            let ssh = try BrokenSSH(testbed, wrongHostKeyFor: broken == "host key" ? "h2" : nil, wrongClientKey: broken == "client key")
            defer { ssh.remove() }
            try ssh.closeMaster("h1")
            try ssh.closeMaster("h2")
            defer { try? ssh.closeMaster("h2") }
            try app.setVersion("2.0.0")
            // With a wrong client key h1 refuses too; with a wrong host key only h2 is wrong.
            let output = try berth.run(["deploy", "--json", "--label", "2.0.0"], in: app.directory, sshConfig: ssh.config)
            #expect(output.status == 8, "ssh trust failed: exit 8. \(output.combined)")
            let summary = try OfflineHostTests.summary(output.stdout)
            #expect(summary["h2"]?["state"] as? String == "ssh-rejected", "\(summary)")
            let message = summary["h2"]?["message"] as? String ?? ""
            if broken == "host key" {
                #expect(message.hasPrefix("the SSH host key of h2 is not the one this machine knows"), "\(message)")
                #expect(summary["h1"]?["state"] as? String == "deployed", "\(summary)")
            } else {
                #expect(message.hasPrefix("h2 refused this machine's SSH key (") && message.contains("Permission denied"), "\(message)")
            }
            #expect(!message.contains("offline"), "\(message)")
            #expect(output.stdout.contains("did not succeed everywhere"), "nothing is published: \(output.stdout)")
            let status = try berth.run(["status", "--json"], in: app.directory, sshConfig: testbed.sshConfig)
            let hosts = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]]) ?? []
            let desired = hosts.first { $0["host"] as? String == "h1" }?["desired"] as? [String: Any]
            #expect(desired?["label"] as? String == "1.0.0", "the store still holds 1.0.0: \(status.stdout)")
        }

        @Test func aCorruptEngineFileIsNotRunAndTheNextDeployInstallsItAgain() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let name = DeployTests.freshName("engine")
            let app = try AppWorkspace.make(appName: name, hosts: ["h1"], port: DeployTests.freshPort(), domain: "\(name).test")
            defer { app.remove() }
            #expect(try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig).status == 0)
            // Damage the installed engine in place: same name (its checksum), other bytes.
            let damaged = try testbed.run(on: "h1", """
                e=$(readlink /var/lib/berth/engine/berth-engine) && printf 'XXXX' | dd of="$e" bs=1 seek=8192 conv=notrunc status=none && echo "$e"
                """)
            let path = damaged.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(damaged.status == 0 && path.hasPrefix("/var/lib/berth/engine/berth-engine-"), "\(damaged.combined)")
            try app.setVersion("2.0.0")
            let output = try berth.run(["deploy"], in: app.directory, sshConfig: testbed.sshConfig)
            #expect(output.status == 0, "\(output.combined)")
            #expect(output.stdout.contains("the host engine there did not match its SHA-256 (corrupt or changed); installed it again"), "\(output.stdout)")
            let expected = path.replacingOccurrences(of: "/var/lib/berth/engine/berth-engine-", with: "")
            let check = try testbed.run(on: "h1", #"sum=$(sha256sum < "\#(path)") && [ "${sum%% *}" = "\#(expected)" ] && echo ok"#)
            #expect(check.stdout.contains("ok"), "the engine file matches its checksum again: \(check.combined)")
            #expect(try Curl.version(testbed.address(of: "h1"), host: app.domain) == "2.0.0")
        }
    }
}

extension Integration.CatchUpTests {
    /// Someone with root on the store host edits what it serves: the booting host refuses, says so
    /// in its journal and keeps its last good release; what the controller signed still works.
    @Test func aCatchUpRefusesAPlanOrDesiredReleaseChangedOnTheStore() throws {
        let fixture = try Fixture.make("signed", wait: "10s")
        defer { fixture.cleanUp() }
        #expect(try fixture.deploy("1.0.0").status == 0)
        try fixture.testbed.crash("h3")
        #expect(try fixture.deploy("2.0.0").status == 10)
        let state = "/var/lib/berth/store/\(fixture.app.appName)/production/current"

        func bootAndRead() throws -> (result: String, journal: String) {
            try fixture.testbed.boot("h3")
            var result = ""
            _ = RunningProcess.waitUntil(seconds: 40) {
                let show = try? fixture.testbed.run(on: "h3", "systemctl show -p ActiveState,Result --value \(fixture.unit)", timeout: 10)
                result = (show?.stdout.split(separator: "\n").map(String.init) ?? []).sorted().joined(separator: " ")
                return result.split(separator: " ").contains("failed") || result == "inactive success"
            }
            let journal = try fixture.testbed.run(on: "h3", "journalctl -b --no-pager -o cat -u \(fixture.unit)").stdout
            return (result, journal)
        }

        // 1. The plan is changed: another command for the web service.
        let edit = try fixture.testbed.run(on: "h1", """
            cp \(state)/plans/h3.json /root/h3.json.orig && sed -i 's/python3 server.py/python3 -c evil/' \(state)/plans/h3.json && grep -c evil \(state)/plans/h3.json
            """)
        #expect(edit.status == 0, "\(edit.combined)")
        let changedPlan = try bootAndRead()
        #expect(changedPlan.result == "exit-code failed", "\(changedPlan.journal)")
        #expect(changedPlan.journal.contains("served a plan that is not signed by the deploying controller (ssh-keygen:"), "\(changedPlan.journal)")
        #expect(changedPlan.journal.contains("this host stays on release") && changedPlan.journal.contains("(1.0.0), its last good release"), "\(changedPlan.journal)")
        #expect(try fixture.served(on: "h3") == "1.0.0")

        // 2. The plan is back, but desired.json names the older release the store still keeps.
        try fixture.testbed.crash("h3")
        let old = try fixture.testbed.run(on: "h1", """
            cp /root/h3.json.orig \(state)/plans/h3.json && cp \(state)/desired.json /root/desired.json.orig && \
            python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["release"]=d["kept"][1]; json.dump(d,open(p,"w"))' \(state)/desired.json
            """)
        #expect(old.status == 0, "\(old.combined)")
        let changedDesired = try bootAndRead()
        #expect(changedDesired.result == "exit-code failed", "\(changedDesired.journal)")
        #expect(changedDesired.journal.contains("served a desired.json that is not signed by the deploying controller (ssh-keygen:"), "\(changedDesired.journal)")
        #expect(changedDesired.journal.contains("this host stays on release") && changedDesired.journal.contains("(1.0.0), its last good release"), "\(changedDesired.journal)")
        #expect(try fixture.served(on: "h3") == "1.0.0")

        // 3. As the controller published it: the host catches up.
        try fixture.testbed.crash("h3")
        #expect(try fixture.testbed.run(on: "h1", "cp /root/desired.json.orig \(state)/desired.json").status == 0)
        let restored = try bootAndRead()
        #expect(restored.result == "inactive success", "\(restored.journal)")
        #expect(try fixture.served(on: "h3") == "2.0.0")
    }
}
