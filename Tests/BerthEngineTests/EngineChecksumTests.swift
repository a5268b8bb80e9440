import BerthCore
import BerthEngine
import Foundation
import Testing

/// `EngineInvocation` run on this machine as a host's shell runs it: the engine file runs only
/// when its SHA-256 is the one in its name; a corrupt or truncated file is removed (exit 127, so
/// `berth` installs it again), and an upload whose checksum differs is never installed.
@Suite struct EngineChecksumTests {
    func installed(in dir: TemporaryDirectory) throws -> EngineInvocation {
        let engine = try EngineBinaryTests.engine()
        let sha = String(try runProgram(["sha256sum", engine]).stdout.prefix(64))
        let invocation = EngineInvocation(root: dir.path, engineSHA256: sha)
        try FileManager.default.createDirectory(atPath: "\(dir.path)/engine", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: engine, toPath: invocation.enginePath)
        return invocation
    }

    func query(_ root: String) throws -> String {
        String(decoding: try JSONEncoder().encode(StateQuery(app: "hello", env: "production", root: root)), as: UTF8.self) + "\n"
    }

    @Test func theRightEngineRuns() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let invocation = try installed(in: dir)
        let result = try runProgram(invocation.command(.status), stdin: try query(dir.path))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix(#"{"event":"state""#))
    }

    @Test func aCorruptOrTruncatedEngineIsNotRunButRemoved() throws {
        for damage in ["corrupt", "truncate"] {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let invocation = try installed(in: dir)
            let handle = try #require(FileHandle(forUpdatingAtPath: invocation.enginePath))
            if damage == "corrupt" {
                try handle.seek(toOffset: 4096)
                handle.write(Data([0x90, 0x90, 0x90, 0x90]))
            } else {
                try handle.truncate(atOffset: 1 << 20)
            }
            try handle.close()
            let result = try runProgram(invocation.command(.status), stdin: try query(dir.path))
            #expect(result.status == EngineInvocation.notInstalledStatus)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("\(invocation.enginePath) \(EngineInvocation.mismatchMarker)"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: invocation.enginePath))
        }
    }

    @Test func anUploadWhoseChecksumDiffersIsNotInstalled() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let invocation = EngineInvocation(root: dir.path, engineSHA256: String(repeating: "0", count: 64))
        let gz = "\(dir.path)/upload.gz"
        try runProgram(["sh", "-c", "printf 'not the engine' | gzip -c > \"$1\"", "gz", gz])
        let result = try runProgram(["sh", "-c", "\"$@\" < \"\(gz)\"", "install"] + invocation.install())
        #expect(result.status == 1)
        #expect(result.stderr.contains("the uploaded engine's SHA-256 is"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: invocation.enginePath))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir.path)/engine") == [])
    }
}
