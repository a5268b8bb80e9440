import BerthCore
@testable import BerthEngine
import Foundation
import Testing

/// Release archives made by hand to be hostile (Python's tarfile writes what GNU tar would refuse
/// or quietly rewrite): each is refused with one sentence, and nothing is left behind.
@Suite struct HostileArchiveTests {
    /// Writes a gzip'd tar with one harmless file and then `member` (a Python tarfile expression
    /// building `t`, a TarInfo) into the host's directory; returns its release.
    func hostile(_ host: Host, _ name: String, _ member: String) throws -> (ReleaseRef, String) {
        let path = "\(host.dir.path)/\(name).tar.gz"
        let script = """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], "w:gz") as tar:
                ok = tarfile.TarInfo("./server.py"); data = b"print(1)\\n"; ok.size = len(data)
                tar.addfile(ok, io.BytesIO(data))
                \(member)
                tar.addfile(t, io.BytesIO(b"x" * t.size) if t.isreg() else None)
            """
        let made = try runProgram(["python3", "-c", script, path])
        guard made.status == 0 else { throw POSIXFailure("python3: \(made.stderr)") }
        let digest = String(try runProgram(["sha256sum", path]).stdout.prefix(64))
        return (Samples.release(digest, label: name), path)
    }

    func expectRefused(_ name: String, _ member: String, because reason: String, outside: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let host = try Host()
        let (release, archive) = try hostile(host, name, member)
        #expect(try await host.run(.deploy, host.plan(.deploy, release), archive: archive) == 1, sourceLocation: sourceLocation)
        #expect(host.outcome?.result == .failed, sourceLocation: sourceLocation)
        #expect(host.outcome?.message == "the release archive was refused because \(reason); nothing was unpacked.",
                sourceLocation: sourceLocation)
        #expect(try FileManager.default.contentsOfDirectory(atPath: host.layout.releasesDir) == [], sourceLocation: sourceLocation)
        if let outside { #expect(!FileManager.default.fileExists(atPath: outside), sourceLocation: sourceLocation) }
    }

    @Test func aNameThatClimbsOutIsRefused() async throws {
        try await expectRefused("dotdot", #"t = tarfile.TarInfo("./media/../../escaped.txt"); t.size = 3"#,
                                because: "the name './media/../../escaped.txt' points outside the release directory")
    }

    @Test func anAbsoluteNameIsRefused() async throws {
        let outside = "/tmp/berth-hostile-\(UUID().uuidString)"
        try await expectRefused("absolute", #"t = tarfile.TarInfo("\#(outside)"); t.size = 3"#,
                                because: "the name '\(outside)' points outside the release directory", outside: outside)
    }

    @Test func aSymlinkOutOfTheReleaseIsRefused() async throws {
        try await expectRefused("symlink", #"t = tarfile.TarInfo("./config"); t.type = tarfile.SYMTYPE; t.linkname = "/etc""#,
                                because: "the link './config' points outside the release directory (to '/etc')")
        try await expectRefused("symlink-up", #"t = tarfile.TarInfo("./media/up"); t.type = tarfile.SYMTYPE; t.linkname = "../../..""#,
                                because: "the link './media/up' points outside the release directory (to '../../..')")
    }

    @Test func aHardLinkToAFileOutsideIsRefused() async throws {
        try await expectRefused("hardlink", #"t = tarfile.TarInfo("./passwd"); t.type = tarfile.LNKTYPE; t.linkname = "/etc/passwd""#,
                                because: "a hard link in it points outside the release directory (tar: Removing leading `/' from hard link targets)")
        try await expectRefused("hardlink-up", #"t = tarfile.TarInfo("./passwd"); t.type = tarfile.LNKTYPE; t.linkname = "../../etc/passwd""#,
                                because: "a hard link in it points outside the release directory (tar: Removing leading `../../' from hard link targets)")
    }

    @Test func aFIFOIsRefused() async throws {
        try await expectRefused("fifo", #"t = tarfile.TarInfo("./pipe"); t.type = tarfile.FIFOTYPE"#,
                                because: "it contains the FIFO './pipe'")
    }

    @Test func aDeviceFileIsRefused() async throws {
        try await expectRefused("device", #"t = tarfile.TarInfo("./mem"); t.type = tarfile.CHRTYPE; t.devmajor = 1; t.devminor = 1"#,
                                because: "it contains the device file './mem'")
    }

    @Test func aSetuidFileIsRefused() async throws {
        try await expectRefused("setuid", #"t = tarfile.TarInfo("./run-as-root"); t.size = 3; t.mode = 0o4755"#,
                                because: "'./run-as-root' has the setuid or setgid bit")
        try await expectRefused("setgid", #"t = tarfile.TarInfo("./run-as-group"); t.size = 3; t.mode = 0o2755"#,
                                because: "'./run-as-group' has the setuid or setgid bit")
    }

    @Test func bytesThatDoNotHashToTheIdAreRefused() async throws {
        let host = try Host()
        let release = host.release("1.0.0")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: try host.archive("1.0.0")))
        bytes[bytes.count / 2] ^= 0xff
        let corrupt = "\(host.dir.path)/corrupt.tar.gz"
        try bytes.write(to: URL(fileURLWithPath: corrupt))
        let digest = String(try runProgram(["sha256sum", corrupt]).stdout.prefix(64))
        #expect(try await host.run(.deploy, host.plan(.deploy, release), archive: corrupt) == 1)
        #expect(host.outcome?.message == "the release archive's SHA-256 is \(digest), not its release id \(release.id): the bytes were changed or cut short on the way, so nothing was unpacked; deploy again.")
        #expect(try FileManager.default.contentsOfDirectory(atPath: host.layout.releasesDir) == [])
        // The same release from whole bytes deploys.
        #expect(try await host.run(.deploy, host.plan(.deploy, release), archive: try host.archive("1.0.0")) == 0)
    }

    @Test func anIdThatIsNotASHA256IsRefused() async throws {
        let host = try Host()
        #expect(try await host.run(.deploy, host.plan(.deploy, Samples.release("1.0.0")), archive: try host.archive("1.0.0")) == 1)
        #expect(host.outcome?.message == "the release id '1.0.0' is not a SHA-256, so its archive cannot be checked; deploy it with this version of berth.")
    }

    @Test func anArchiveLargerThanTheFreeDiskIsRefusedBeforeItIsRead() async throws {
        let host = try Host()
        var release = host.release("1.0.0")
        release.archiveBytes = 1 << 60
        #expect(try await host.run(.deploy, host.plan(.deploy, release), archive: try host.archive("1.0.0")) == 1)
        let message = try #require(host.outcome?.message)
        #expect(message.hasPrefix("the release archive needs 1073741824 GiB but only "), "\(message)")
        #expect(message.hasSuffix("; free some space (or keep fewer releases) and try again."), "\(message)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: host.layout.releasesDir) == [])
    }

    /// The check after unpacking, on trees tar itself would not make (a hard link to a file outside).
    @Test func theUnpackedTreeIsCheckedWithLstat() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tree = "\(dir.path)/tree"
        try FileManager.default.createDirectory(atPath: "\(tree)/lib", withIntermediateDirectories: true)
        try "a".write(toFile: "\(dir.path)/outside", atomically: true, encoding: .utf8)
        try "b".write(toFile: "\(tree)/lib/inside", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/lib/sibling", withDestinationPath: "inside")
        try FileManager.default.linkItem(atPath: "\(tree)/lib/inside", toPath: "\(tree)/twin")
        #expect(UnpackedTree.refusal(tree) == nil)
        try FileManager.default.linkItem(atPath: "\(dir.path)/outside", toPath: "\(tree)/lib/stolen")
        #expect(UnpackedTree.refusal(tree) == "'lib/stolen' is a hard link to a file outside the release directory")
        try FileManager.default.removeItem(atPath: "\(tree)/lib/stolen")
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/lib/up", withDestinationPath: "../..")
        #expect(UnpackedTree.refusal(tree) == "the link 'lib/up' points outside the release directory (to '../..')")
        try FileManager.default.removeItem(atPath: "\(tree)/lib/up")
        #expect(mkfifo("\(tree)/fifo", 0o644) == 0)
        #expect(UnpackedTree.refusal(tree) == "it contains the FIFO 'fifo'")
        try FileManager.default.removeItem(atPath: "\(tree)/fifo")
        #expect(chmod("\(tree)/twin", 0o2755) == 0)
        #expect(UnpackedTree.refusal(tree) == "'lib/inside' has the setuid or setgid bit")
    }
}
