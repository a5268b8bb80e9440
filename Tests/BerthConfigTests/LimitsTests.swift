import BerthCore
import Foundation
import Testing
@testable import BerthConfig

/// Hostile app files: whatever their shape, they fail fast (well within a second) and say where.
@Suite struct LimitsTests {
    /// Runs `body` and returns how long it took.
    func timed(_ body: () -> Void) -> Duration {
        let start = ContinuousClock.now
        body()
        return ContinuousClock.now - start
    }

    /// Loads `text` as `berth.yml` from a folder of its own, through `AppFile.load` (as the CLI does).
    func load(_ text: String) throws -> (errors: [String], elapsed: Duration) {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("berth.yml", text)
        try folder.makeDirectory("app")
        var errors: [String] = []
        let elapsed = timed {
            do {
                _ = try AppFile.load(path: folder.path + "/berth.yml")
            } catch {
                errors = (error as? ConfigErrors)?.errors.map(\.description) ?? ["\(error)"]
            }
        }
        let prefix = folder.path + "/"
        return (errors.map { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : $0 }, elapsed)
    }

    @Test func aBillionLaughsFailsWithinASecondAtTheAliasThatCrossesTheLimit() throws {
        let (errors, elapsed) = try load(try Fixture.text("billion-laughs.yml"))
        // a4 holds 66430 values; the second *a4 of lol5 takes the file past 200000.
        #expect(errors == [
            "berth.yml:12:16: with its aliases expanded the app file would hold more than 200000 values, and this alias ('*a4', 66430 values) crosses that; write the values out instead of repeating them through aliases",
        ])
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    /// Yams hashes mapping keys to find repeats: an alias used as a key is hashed at its full
    /// expanded size, inside Yams, before Berth sees the tree. The limits run first.
    @Test func anAliasBombUsedAsAKeyFailsFastToo() throws {
        var text = Base.appFile("") + "bomb:\n"
        text += "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            text += "  a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        text += "keys: {? *a9 : 1}\n"
        let (errors, elapsed) = try load(text)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("berth.yml:") == true, "\(errors)")
        #expect(errors.first?.contains("with its aliases expanded the app file would hold more than 200000 values") == true)
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    @Test func longTextRepeatedThroughAliasesIsLimitedByItsSize() throws {
        let long = String(repeating: "x", count: 200_000)
        let text = Base.appFile("text: &t \(long)\nmore: [" + Array(repeating: "*t", count: 30).joined(separator: ", ") + "]\n")
        let (errors, elapsed) = try load(text)
        // Each *t is 2 characters plus ", ": the 20th alias crosses 4 MiB (200000 * 21 > 4194304).
        #expect(errors == [
            "berth.yml:2:\(8 + 4 * 19): with its aliases expanded the app file would hold more than 4 MiB of text, and this alias ('*t') crosses that; write the values out instead of repeating them through aliases",
        ])
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    @Test func moreThanAThousandAliasesAreRefusedAtTheFirstOneTooMany() throws {
        let aliases = Array(repeating: "*r", count: 1_001).joined(separator: ",")
        let (errors, _) = try load(Base.appFile("roles: &r web\nmany: [\(aliases)]\n"))
        // "many: [" is 7 characters; alias n starts at 8 + 3 * (n - 1).
        #expect(errors == [
            "berth.yml:2:\(8 + 3 * 1_000): the app file uses more than 1000 aliases; write the values out instead of repeating them through aliases",
        ])
    }

    @Test func deepNestingIsRefusedWhereItPassesTheLimit() throws {
        let (errors, elapsed) = try load(Base.appFile("deep: " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "\n"))
        // The document is level 1, 'deep:' opens nothing; list 32 starts at column 6 + 31.
        #expect(errors == [
            "berth.yml:1:\(7 + 31): the app file nests more than 32 levels deep here; an app file needs at most a few levels",
        ])
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    @Test func aHugeFileIsRefusedAtThePlaceItPassesTheLimitWithoutReadingAllOfIt() throws {
        // 100 bytes a line: byte 262144 is on line 2622, column 45.
        let line = "# " + String(repeating: "x", count: 97) + "\n"
        let (errors, elapsed) = try load(Base.appFile("") + String(repeating: line, count: 10_000))
        let baseLines = Base.appFile("").split(separator: "\n").count
        let baseBytes = Base.appFile("").utf8.count
        let offset = YAMLLimits.maxBytes - baseBytes
        #expect(errors == [
            "berth.yml:\(baseLines + offset / 100 + 1):\(offset % 100 + 1): the app file is larger than 256 KiB, the most an app file may have; this is where it passes that size",
        ])
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    @Test func anEnvFileThatNeverEndsIsCutAtTheLimit() throws {
        let (errors, elapsed) = try load(Base.appFile("environments:\n  production:\n    hosts: [web1]\n    env_file: /dev/zero\n"))
        #expect(errors == ["berth.yml:4:15: env file '/dev/zero' of environment 'production' is larger than 1 MiB, the most an env file may have; keep large files out of the environment"])
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    @Test func anEnvFileThatIsAFIFOIsRefusedInsteadOfWaitedFor() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        #expect(mkfifo(folder.path + "/fifo", 0o600) == 0)
        let (errors, elapsed) = try load(Base.appFile("environments:\n  production:\n    hosts: [web1]\n    env_file: \(folder.path)/fifo\n"))
        #expect(errors == ["berth.yml:4:15: cannot read env file '\(folder.path)/fifo': '\(folder.path)/fifo' is not a regular file"])
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    @Test func anEnvFileLargerThanOneMiBIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.makeDirectory("app")
        try folder.write(".env", String(repeating: "A=1234567\n", count: 110_000))
        try folder.write("berth.yml", Base.appFile("environments:\n  production:\n    hosts: [web1]\n    env_file: .env\n"))
        #expect(throws: ConfigErrors([ConfigError(location: SourceLocation(file: folder.path + "/berth.yml", line: 4, column: 15),
                                                  message: "env file '.env' of environment 'production' is larger than 1 MiB, the most an env file may have; keep large files out of the environment")])) {
            try AppFile.load(path: folder.path + "/berth.yml")
        }
    }

    /// A wide file (hundreds of hosts, roles and services, every service with an unknown role) is
    /// checked in well under a second: no check grows with the square of the file.
    @Test func aWideFileWithinTheSizeLimitIsCheckedQuickly() throws {
        var text = "app: hello\nrelease: {path: app}\nhosts:\n"
        for index in 0..<400 { text += "  h\(index): {address: 10.0.\(index / 250).\(index % 250), roles: [r\(index), web]}\n" }
        text += "services:\n"
        for index in 0..<400 { text += "  s\(index): {command: x, role: q\(index), port: \(2_000 + 2 * index)}\n" }
        text += "environments:\n  production:\n    hosts: [" + (0..<400).map { "h\($0)" }.joined(separator: ", ") + "]\n"
        #expect(text.utf8.count < YAMLLimits.maxBytes)
        var count = 0
        let elapsed = timed { count = problems(text).count }
        #expect(count >= 400, "every service's role is unknown")
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }
}
