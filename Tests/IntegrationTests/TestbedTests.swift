import BerthTestSupport
import Foundation
import Testing

/// The testbed itself, on real hosts: each is a Debian machine with systemd as PID 1, sshd and
/// nginx, reachable from here and from the other hosts but from nowhere else; and every control
/// (up, crash, boot, cut, heal, exec, status, down) does what it says.
extension Integration {
    @Suite(.serialized) struct TestbedTests {
        let testbed: Testbed

        init() throws {
            testbed = try FleetAccess.ensure(hosts: 2)
        }

        @Test func everyHostAnswersSSHWithSystemdRunning() throws {
            let inventory = try testbed.inventory
            var hostKeys: Set<String> = []
            for (index, name) in ["h1", "h2"].enumerated() {
                let host = try #require(inventory.host(name), "\(inventory)")
                #expect(host.address == "10.77.0.\(11 + index)")
                #expect(host.port == 22 && host.user == "root" && host.netns == "berth-\(name)")
                #expect(host.sshConfig == testbed.sshConfigPath)
                let pid = try #require(host.pid, "a running host has a pid: \(host)")
                // systemd runs chrooted into the host's own root, never in this machine's /.
                #expect(try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) == "systemd\n")
                #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root") != "/")

                let out = try testbed.run(on: name, """
                    hostname; systemctl is-system-running --wait; cat /proc/1/comm
                    systemctl is-enabled postgresql || true
                    . /etc/os-release; echo $VERSION_CODENAME
                    """)
                #expect(out.status == 0, "\(out.combined)")
                #expect(lines(out.stdout) == [name, "running", "systemd", "disabled", "bookworm"], "\(out.combined)")
                hostKeys.insert(try hostKey(name))
            }
            #expect(hostKeys.count == 2, "each host has its own ssh host key")
        }

        @Test func nginxAnswersTheControllerAndTheOtherHost() throws {
            for name in ["h1", "h2"] {
                #expect(try curlStatus("http://\(testbed.address(of: name))/") == "200")
            }
            let out = try testbed.run(on: "h1", "curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://h2/")
            #expect(out.stdout == "200", "h1 reaches h2 by name: \(out.combined)")
        }

        @Test func hostsCannotReachBeyondTheMachine() throws {
            // An address this machine may reach (the Debian mirror): a host's packets to it are
            // dropped, as there is no forwarding from the testbed's bridge.
            let resolved = try RunningProcess.start(["sh", "-c", "getent ahostsv4 deb.debian.org | awk 'NR==1 {print $1}'"]).wait()
            let outside = resolved.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let target = outside.isEmpty ? "192.0.2.1" : outside
            let out = try testbed.run(on: "h1", "curl -s -o /dev/null --connect-timeout 3 http://\(target)/; echo $?")
            #expect(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "28",
                    "h1 must not connect to \(target) (curl exit 28 = timeout): \(out.combined)")
        }

        @Test func crashThenBootKeepsTheDiskAddressAndHostKey() throws {
            defer { _ = try? FleetAccess.ensure(hosts: 2) }
            let token = UUID().uuidString
            let write = try testbed.run(on: "h2", "echo \(token) > /var/lib/berth-testbed-token")
            #expect(write.status == 0, "\(write.combined)")
            let keyBefore = try hostKey("h2")
            let pidBefore = try #require(try testbed.inventory.host("h2")?.pid)

            try testbed.crash("h2")
            #expect(try testbed.inventory.host("h2")?.pid == nil)
            #expect(!isSystemd(pidBefore), "the crashed host's systemd is gone")
            #expect(try testbed.status().contains(#/h2\s+10\.77\.0\.12\s+-\s+stopped/#))
            let unreachable = try testbed.run(on: "h2", "true", timeout: 20, connectTimeout: 2)
            #expect(unreachable.status == 255, "\(unreachable.combined)")
            #expect(try testbed.run(on: "h1", "true").status == 0, "the other host is unaffected")

            try testbed.boot("h2")
            let host = try #require(try testbed.inventory.host("h2"))
            #expect(host.address == "10.77.0.12")
            #expect(host.pid != nil && host.pid != pidBefore)
            let read = try testbed.run(on: "h2", "cat /var/lib/berth-testbed-token; systemctl is-system-running --wait")
            #expect(lines(read.stdout) == [token, "running"], "the disk survives the crash: \(read.combined)")
            #expect(try hostKey("h2") == keyBefore, "same host key after boot")
            #expect(try curlStatus("http://10.77.0.12/") == "200")
        }

        @Test func cutAndHealPartitionAHost() throws {
            defer { try? testbed.heal("h2") }
            #expect(try testbed.run(on: "h2", "true").status == 0)  // leaves a multiplexed connection open

            try testbed.cut("h2")
            let started = Date()
            let ssh = try testbed.run(on: "h2", "true", timeout: 20, connectTimeout: 2)
            #expect(ssh.status == 255, "ssh to a cut host fails: \(ssh.combined)")
            #expect(Date().timeIntervalSince(started) < 8, "and fails fast, after ConnectTimeout")
            #expect(try curlStatus("http://10.77.0.12/", connectTimeout: 2) == "000")
            let fromH1 = try testbed.run(on: "h1", "curl -s -o /dev/null --connect-timeout 2 http://h2/; echo $?")
            #expect(fromH1.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "28", "\(fromH1.combined)")
            #expect(try testbed.status().contains(#/h2\s+10\.77\.0\.12\s+\d+\s+running\s+down\s+no/#))

            try testbed.heal("h2")
            let back = try testbed.run(on: "h2", "systemctl is-system-running", connectTimeout: 5)
            #expect(back.status == 0 && lines(back.stdout) == ["running"], "\(back.combined)")
            #expect(try curlStatus("http://10.77.0.12/") == "200")
        }

        @Test func execAndStatus() throws {
            let out = try testbed.exec("h1", ["echo", "on", "$(hostname)"])
            #expect(out.status == 0 && out.stdout == "on h1\n", "\(out.combined)")
            let failing = try testbed.exec("h2", ["exit", "3"])
            #expect(failing.status == 3, "exec passes the command's exit status on")

            let status = try testbed.status()
            #expect(status.hasPrefix("NAME"), "\(status)")
            for (name, address) in [("h1", "10.77.0.11"), ("h2", "10.77.0.12")] {
                #expect(status.contains(try Regex("\(name)\\s+\(address.replacingOccurrences(of: ".", with: "\\."))\\s+\\d+\\s+running\\s+up\\s+ok\\s+running")), "\(status)")
            }
        }

        @Test func downRemovesEverythingAndUpBringsTheFleetBack() throws {
            let before = try testbed.inventory
            defer { _ = try? testbed.up(max(before.hosts.count, 2)) }

            try testbed.down()
            let fm = FileManager.default
            #expect(!fm.fileExists(atPath: testbed.sshConfigPath) && !fm.fileExists(atPath: testbed.inventoryPath))
            for host in before.hosts {
                if let pid = host.pid { #expect(!isSystemd(pid), "\(host.name)'s systemd is gone") }
            }
            let namespaces = try RunningProcess.start(["ip", "netns", "list"]).wait().stdout
            #expect(!namespaces.contains("berth-h"), "\(namespaces)")
            #expect(try RunningProcess.start(["ip", "link", "show", "berthbr0"]).wait().status != 0, "the bridge is gone")
            let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(!mounts.contains(testbed.directory + "/"), "no mounts left under the testbed directory")
            try testbed.down()  // idempotent

            let inventory = try testbed.up(max(before.hosts.count, 2))
            for host in inventory.hosts {
                #expect(try testbed.run(on: host.name, "true").status == 0, "\(host.name) is back")
            }
        }

        // MARK: Helpers

        func lines(_ text: String) -> [String] {
            text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }

        /// The host key `known_hosts` pins for `host`.
        func hostKey(_ host: String) throws -> String {
            let knownHosts = try String(contentsOfFile: testbed.knownHostsPath, encoding: .utf8)
            let line = try #require(lines(knownHosts).first { $0.hasPrefix(host + ",") }, "\(knownHosts)")
            return String(line.split(separator: " ").dropFirst().joined(separator: " "))
        }

        func isSystemd(_ pid: Int) -> Bool {
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "systemd\n"
        }

        /// The HTTP status curl gets from `url` here on the machine ("000" when it cannot connect).
        func curlStatus(_ url: String, connectTimeout: Int = 5) throws -> String {
            try RunningProcess.start(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                      "--connect-timeout", String(connectTimeout), "--max-time", "10", url]).wait().stdout
        }
    }
}
