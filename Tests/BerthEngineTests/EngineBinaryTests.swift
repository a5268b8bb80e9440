import BerthCore
import BerthEngine
import Foundation
import Testing

/// The built `berth-engine` binary, spoken to as `berth` does: one JSON line in, JSON lines out.
@Suite struct EngineBinaryTests {
    /// The engine built beside this test bundle (or `BERTH_ENGINE`).
    static func engine() throws -> String {
        if let path = ProcessInfo.processInfo.environment["BERTH_ENGINE"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("berth-engine").path
        guard FileManager.default.isExecutableFile(atPath: beside) else {
            throw POSIXFailure("no berth-engine beside the tests at \(beside); build it with 'swift build --product berth-engine' (same scratch path)")
        }
        return beside
    }

    func run(_ command: String, _ input: String) throws -> (status: Int32, events: [EngineEvent], stdout: String) {
        let result = try runProgram([try Self.engine(), command], stdin: input)
        let events = try result.stdout.split(separator: "\n").map { try JSONDecoder().decode(EngineEvent.self, from: Data($0.utf8)) }
        return (result.status, events, result.stdout)
    }

    func query(_ root: String, limit: Int? = nil) throws -> String {
        String(decoding: try JSONEncoder().encode(StateQuery(app: "hello", env: "production", root: root, limit: limit)), as: UTF8.self) + "\n"
    }

    @Test func statusOfAnEnvironmentNeverDeployed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try run("status", try query(dir.path))
        #expect(result.status == 0)
        #expect(result.stdout == #"{"event":"state","lock":{"state":"free"},"units":[]}"# + "\n")
    }

    @Test func lockStatusAndLockReleaseOfAStaleLock() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let layout = HostLayout(root: dir.path, app: "hello", env: "production")
        try FileManager.default.createDirectory(atPath: layout.appDir, withIntermediateDirectories: true)
        try #"{"holder":{"command":"berth deploy","machine":"ci","pid":7,"user":"bob"},"since":"2025-02-03T04:05:06Z","state":"held"}"#
            .write(toFile: layout.lockFile, atomically: false, encoding: .utf8)

        let status = try run("lock-status", try query(dir.path))
        #expect(status.status == 0)
        #expect(status.stdout == #"{"event":"lock","lock":{"holder":{"command":"berth deploy","machine":"ci","pid":7,"user":"bob"},"since":"2025-02-03T04:05:06Z","state":"stale"}}"# + "\n")

        let released = try run("lock-release", try query(dir.path))
        #expect(released.status == 0)
        #expect(released.events == [EngineEvent(event: .lock, message: "removed the stale lock left by bob@ci (pid 7, 'berth deploy') since 2025-02-03T04:05:06Z.", lock: LockInfo(state: .free))])
        #expect(try run("lock-status", try query(dir.path)).events.first?.lock == LockInfo(state: .free))
    }

    @Test func lockReleaseRefusesWhileADeployHoldsTheLock() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let layout = HostLayout(root: dir.path, app: "hello", env: "production")
        try FileManager.default.createDirectory(atPath: layout.appDir, withIntermediateDirectories: true)
        let holder = try LockHolder(layout.lockFile)
        defer { holder.stop() }

        #expect(try run("lock-status", try query(dir.path)).events.first?.lock == LockInfo(state: .held))
        let released = try run("lock-release", try query(dir.path))
        #expect(released.status == 3)
        #expect(released.events.first?.message == "a running deploy holds the lock (a deploy that has not said who it is), so it is not stale and stays; wait for that deploy to finish.")
    }

    @Test func historyIsNewestFirstAndLimited() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let layout = HostLayout(root: dir.path, app: "hello", env: "production")
        try FileManager.default.createDirectory(atPath: layout.appDir, withIntermediateDirectories: true)
        for id in ["a", "b", "c"] {
            try StateStore(layout: layout).append(HistoryEntry(
                kind: .deploy, release: Samples.release(id), previousRelease: nil, result: .deployed, message: nil,
                requestedBy: Samples.requester, startedAt: "s", finishedAt: "f", steps: []))
        }
        let result = try run("history", try query(dir.path, limit: 2))
        #expect(result.status == 0)
        #expect(result.events.first?.history?.map { $0.release?.id } == ["c", "b"])
    }

    @Test func badInputExitsTwoWithOneSentence() throws {
        let empty = try run("status", "")
        #expect(empty.status == 2)
        #expect(empty.events.first?.message == "'status' needs a state query as one JSON line on stdin, and stdin was empty.")
        let unknown = try run("deploy-everything", "{}\n")
        #expect(unknown.status == 2)
        let badPlan = try run("deploy", #"{"app":"hello"}"# + "\n")
        #expect(badPlan.status == 2)
        #expect(badPlan.events.first?.message == "the input of 'deploy' is not a deploy plan: the key 'schema' is missing at the top level.")
    }
}
