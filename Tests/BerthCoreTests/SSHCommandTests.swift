import BerthCore
import Testing

@Suite struct SSHCommandTests {
    let ssh = SSHCommand(configFile: "/tb/ssh_config", controlDirectory: "/tmp/berth-ssh-0")

    @Test func runsTheRemoteArgvQuotedAfterDoubleDash() {
        let host = HostConfig(name: "web1", address: "h1", roles: ["web"])
        #expect(ssh.argv(host: host, remote: ["/var/lib/berth/engine/berth-engine-ab", "status"]).joined(separator: " ")
            == "ssh -F /tb/ssh_config -o ControlMaster=auto -o ControlPath=/tmp/berth-ssh-0/%C -o ControlPersist=60 -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -- h1 '/var/lib/berth/engine/berth-engine-ab status'"
                .replacingOccurrences("'/var/lib/berth/engine/berth-engine-ab status'", "/var/lib/berth/engine/berth-engine-ab status"))
    }

    @Test func userAndPortComeFromTheHost() {
        let host = HostConfig(name: "web1", address: "10.0.0.5", user: "deploy", port: 2222, roles: ["web"])
        let argv = SSHCommand(controlDirectory: "/c").argv(host: host, remote: ["true"])
        #expect(argv.suffix(7) == ["-l", "deploy", "-p", "2222", "--", "10.0.0.5", "true"])
    }

    @Test func remoteWordsWithSpacesStayOneWord() {
        let host = HostConfig(name: "h", address: "h", roles: [])
        #expect(ssh.argv(host: host, remote: ["sh", "-c", "echo a b", "x"]).last == "sh -c 'echo a b' x")
    }

    @Test func exitMasterAsksTheControlSocket() {
        let host = HostConfig(name: "web1", address: "h1", roles: ["web"])
        let argv = ssh.exitMaster(host: host)
        #expect(Array(argv.prefix(3)) == ["ssh", "-O", "exit"])
        #expect(argv.last == "h1")
        #expect(!argv.contains("--"))
    }
}

private extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

@Suite struct ReleaseTarTests {
    @Test func packsExactlyTheListedMembersWithFixedOwnersTimesAndNoSetID() {
        #expect(ReleaseTar.create(archive: "/c/x.tar", directory: "/app/release", memberList: "/c/x.list").joined(separator: " ")
            == "tar --create --file /c/x.tar --directory /app/release --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=ug-s --no-recursion --null --verbatim-files-from --files-from /c/x.list")
    }

    @Test func theMemberListIsNULSeparatedSoAnyNameIsOneMember() {
        #expect(ReleaseTar.memberList([".", "./a b", "./-rf\nx"]) == Array(".\0./a b\0./-rf\nx\0".utf8))
    }

    @Test func compressesWithoutNameOrTime() {
        #expect(ReleaseTar.compress("/c/x.tar").joined(separator: " ") == "gzip -n -6 -f /c/x.tar")
    }
}
