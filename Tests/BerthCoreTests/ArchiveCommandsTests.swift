import BerthCore
import Testing

@Suite struct ArchiveCommandsTests {
    @Test func theArgvThatCheckAndUnpackAnArchive() {
        #expect(ArchiveCommands.sha256("/r/.incoming-ab.tar.gz").joined(separator: " ") == "sha256sum -- /r/.incoming-ab.tar.gz")
        #expect(ArchiveCommands.list("/r/a.tar.gz").joined(separator: " ")
            == "tar --list --verbose --numeric-owner --gzip --file /r/a.tar.gz")
        #expect(ArchiveCommands.extract("/r/a.tar.gz", into: "/r/.incoming-ab").joined(separator: " ")
            == "tar --extract --gzip --no-same-owner --no-same-permissions --no-overwrite-dir --directory /r/.incoming-ab --file /r/a.tar.gz")
    }

    @Test func aDigestIsSixtyFourLowercaseHexDigits() {
        let digest = String(repeating: "0a", count: 32)
        #expect(ArchiveCommands.digest(fromSHA256Output: "\(digest)  /r/a.tar.gz\n") == digest)
        #expect(ArchiveCommands.digest(fromSHA256Output: "sha256sum: /r/a.tar.gz: No such file or directory") == nil)
        #expect(!ArchiveCommands.isSHA256(String(repeating: "0A", count: 32)))
        #expect(!ArchiveCommands.isSHA256("0123456789abcdef"))
    }

    @Test func aListingOfPlainFilesGivesItsSize() {
        let listing = """
            drwxr-xr-x 0/0               0 1970-01-01 00:00 ./
            -rw-r--r-- 0/0             120 1970-01-01 00:00 ./a file with spaces.py
            lrwxrwxrwx 0/0               0 1970-01-01 00:00 ./lib/current -> ../lib/v1
            hrw-r--r-- 0/0               0 1970-01-01 00:00 ./twin link to ./a file with spaces.py
            -rwxr-xr-x 0/0            1000 1970-01-01 00:00 ./bin/run

            """
        #expect(ArchiveListing.read(listing) == ArchiveListing(unpackedBytes: 1120, refusal: nil))
    }

    @Test func eachHostileMemberIsNamed() {
        func refusal(_ line: String) -> String? { ArchiveListing.read(line).refusal }
        #expect(refusal("crw-r--r-- 0/0 1,3 1970-01-01 00:00 ./null") == "it contains the device file './null'")
        #expect(refusal("brw-r--r-- 0/0 8,0 1970-01-01 00:00 ./sda") == "it contains the device file './sda'")
        #expect(refusal("prw-r--r-- 0/0 0 1970-01-01 00:00 ./pipe") == "it contains the FIFO './pipe'")
        #expect(refusal("-rwsr-xr-x 0/0 3 1970-01-01 00:00 ./su") == "'./su' has the setuid or setgid bit")
        #expect(refusal("-rwxr-Sr-x 0/0 3 1970-01-01 00:00 ./sg") == "'./sg' has the setuid or setgid bit")
        #expect(refusal("-rw-r--r-- 0/0 3 1970-01-01 00:00 /etc/cron.d/x") == "the name '/etc/cron.d/x' points outside the release directory")
        #expect(refusal("-rw-r--r-- 0/0 3 1970-01-01 00:00 ./a/../../x") == "the name './a/../../x' points outside the release directory")
        #expect(refusal("lrwxrwxrwx 0/0 0 1970-01-01 00:00 ./etc -> /etc") == "the link './etc' points outside the release directory (to '/etc')")
        #expect(refusal("lrwxrwxrwx 0/0 0 1970-01-01 00:00 ./a/b -> ../../x") == "the link './a/b' points outside the release directory (to '../../x')")
        #expect(refusal("hrw-r--r-- 0/0 0 1970-01-01 00:00 ./p link to /etc/passwd") == "the link './p' points outside the release directory (to '/etc/passwd')")
        #expect(refusal("hrw-r--r-- 0/0 0 1970-01-01 00:00 ./p link to ../etc/passwd") == "the link './p' points outside the release directory (to '../etc/passwd')")
        #expect(refusal("-rw-r--r-- 0/0 3 1970-01-01 00:00 ./a/../b") == nil)
    }
}

@Suite struct ArchiveListingWarningsTests {
    @Test func tarRewritingALinkTargetRefusesTheArchive() {
        let listing = ArchiveListing.read("hrw-r--r-- 0/0 0 1970-01-01 00:00 ./p link to etc/passwd\n",
                                          errors: "/usr/bin/tar: Removing leading `/' from hard link targets\n")
        #expect(listing.refusal == "a hard link in it points outside the release directory (tar: Removing leading `/' from hard link targets)")
    }
}

@Suite struct PlanSigningTests {
    @Test func signAndVerifyUseTheirOwnNamespace() {
        #expect(PlanSigning.sign(keyFile: "/k", file: "/p.json").joined(separator: " ") == "ssh-keygen -q -Y sign -f /k -n berth-plan /p.json")
        #expect(PlanSigning.verify(allowedSigners: "/a", signatureFile: "/s").joined(separator: " ")
            == "ssh-keygen -Y verify -f /a -I berth-deploy -n berth-plan -s /s")
        #expect(PlanSigning.sign(keyFile: "/k", file: "/d.json", namespace: PlanSigning.desiredNamespace).joined(separator: " ")
            == "ssh-keygen -q -Y sign -f /k -n berth-desired /d.json")
        #expect(PlanSigning.verify(allowedSigners: "/a", signatureFile: "/s", namespace: PlanSigning.desiredNamespace).joined(separator: " ")
            == "ssh-keygen -Y verify -f /a -I berth-deploy -n berth-desired -s /s")
        #expect(PlanSigning.allowedSigners(publicKey: "ssh-ed25519 AAAAk berth-deploy@laptop")
            == "berth-deploy namespaces=\"berth-plan,berth-desired\" ssh-ed25519 AAAAk\n")
        #expect(PlanSigning.makeKey(file: "/k", comment: "berth-deploy@x").joined(separator: " ")
            == "ssh-keygen -q -t ed25519 -N  -C berth-deploy@x -f /k")
    }

    @Test func fromTakesOnlyIPLiterals() {
        let line = CatchUpUnit.authorizedKeyLine(publicKey: "ssh-ed25519 AAAAk c", engineLink: "/e", storePath: "/s", app: "a",
                                                 env: "p", host: "h1", from: ["10.0.0.5", "web.example.com", "fd00::5"])
        #expect(line == #"restrict,from="10.0.0.5,fd00::5",command="/e serve-store /s a p h1" ssh-ed25519 AAAAk berth-catchup:a/p/h1"#)
        let named = CatchUpUnit.authorizedKeyLine(publicKey: "ssh-ed25519 AAAAk c", engineLink: "/e", storePath: "/s", app: "a",
                                                  env: "p", host: "h1", from: ["h1"])
        #expect(named == #"restrict,command="/e serve-store /s a p h1" ssh-ed25519 AAAAk berth-catchup:a/p/h1"#)
        #expect(!CatchUpUnit.isIPLiteral("256.1.1.1") && !CatchUpUnit.isIPLiteral("1.2.3") && CatchUpUnit.isIPLiteral("::1"))
    }
}

@Suite struct ReleaseJobTests {
    @Test func aJobIsATransientUnitWithTheAccountTheReleaseAndTheEnvFiles() {
        let job = ReleaseJob(command: "python3 manage.py collectstatic --noinput", unit: "shop.production.after-release-1-42.service",
                             user: "berth-shop-production-0123456789", workingDirectory: "/var/lib/berth/apps/shop/production/releases/abc",
                             environmentFiles: ["/var/lib/berth/apps/shop/production/app.env"],
                             facts: [EnvVar(name: "BERTH_SLOT", value: "green")], timeoutMs: 90_500)
        #expect(job.argv == [
            "systemd-run", "--quiet", "--wait", "--pipe", "--collect", "--service-type=exec",
            "--unit=shop.production.after-release-1-42.service", "--description=Berth job shop.production.after-release-1-42.service",
            "--uid=berth-shop-production-0123456789", "--working-directory=/var/lib/berth/apps/shop/production/releases/abc",
            "--property=EnvironmentFile=/var/lib/berth/apps/shop/production/app.env", "--setenv=BERTH_SLOT=green",
            "--property=RuntimeMaxSec=90500ms", "--property=TimeoutStopSec=5s", "--", "/bin/sh", "-c",
            "python3 manage.py collectstatic --noinput",
        ])
        var root = job
        root.user = "root"
        #expect(!root.argv.contains { $0.hasPrefix("--uid=") })
        #expect(ReleaseJob.unitWord("after_release x") == "after-release-x")
    }

    @Test func aLocalHookRunsUnderTimeoutWithPlainFacts() {
        #expect(LocalHookCommand.argv(Hook(command: "./notify \"$BERTH_RESULT\"", timeoutMs: 60_000),
                                      facts: [EnvVar(name: "BERTH_APP", value: "shop")]) == [
            "env", "BERTH_APP=shop", "timeout", "--kill-after=5s", "60s", "/bin/sh", "-c", "./notify \"$BERTH_RESULT\"",
        ])
    }
}
