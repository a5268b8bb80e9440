import BerthCore
import BerthEngine
import Foundation
import Testing

@Suite struct DeployLockTests {
    @Test func freeLockIsTakenRecordedAndClearedOnRelease() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = "\(dir.path)/deploy.lock"
        #expect(DeployLock.inspect(path) == LockInfo(state: .free))

        let lock = try DeployLock.acquire(path, holder: Samples.requester, since: "2025-01-01T00:00:00Z")
        #expect(lock.takenOver == nil)
        let record = try String(contentsOfFile: path, encoding: .utf8)
        #expect(record.contains(#""user":"alice""#))
        lock.release()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "")
        #expect(DeployLock.inspect(path) == LockInfo(state: .free))
    }

    @Test func lockHeldByAnotherProcessIsReportedWithItsRecord() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = "\(dir.path)/deploy.lock"
        let first = try DeployLock.acquire(path, holder: Samples.requester, since: "2025-01-01T00:00:00Z")
        first.release()
        // Another process (flock(1)) holds the lock; the record says who.
        try #"{"state":"held","holder":{"user":"bob","machine":"ci","pid":7,"command":"berth deploy"},"since":"2025-02-03T04:05:06Z"}"#
            .write(toFile: path, atomically: false, encoding: .utf8)
        let holder = try LockHolder(path)
        defer { holder.stop() }

        let info = DeployLock.inspect(path)
        #expect(info.holder?.user == "bob")
        #expect(info.since == "2025-02-03T04:05:06Z")
        #expect(throws: DeployLock.Failure.held(info)) {
            try DeployLock.acquire(path, holder: Samples.requester, since: "now")
        }
        #expect(throws: DeployLock.Failure.held(info)) { try DeployLock.clearStale(path) }
        #expect(EngineError.lockHeld(info, releasing: false).description
            == "another deploy holds the lock: bob@ci (pid 7, 'berth deploy') since 2025-02-03T04:05:06Z; wait for it to finish.")
    }

    @Test func recordWithoutHolderIsStaleAndIsTakenOver() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = "\(dir.path)/deploy.lock"
        // A deploy that died: it wrote its record, and the kernel dropped its flock.
        try #"{"state":"held","holder":{"user":"bob","machine":"ci","pid":7,"command":"berth deploy"},"since":"2025-02-03T04:05:06Z"}"#
            .write(toFile: path, atomically: false, encoding: .utf8)
        let stale = DeployLock.inspect(path)
        #expect(stale.state == .stale)
        #expect(stale.holder?.user == "bob")

        let lock = try DeployLock.acquire(path, holder: Samples.requester, since: "2025-03-01T00:00:00Z")
        #expect(lock.takenOver == LockInfo(state: .stale, holder: stale.holder, since: "2025-02-03T04:05:06Z"))
        #expect(DeployLock.inspect(path).holder?.user == "alice")
        lock.release()
    }

    @Test func lockReleaseClearsOnlyAStaleRecord() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = "\(dir.path)/deploy.lock"
        #expect(try DeployLock.clearStale(path) == LockInfo(state: .free))
        try #"{"state":"held","since":"2025-02-03T04:05:06Z"}"#.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try DeployLock.clearStale(path).state == .stale)
        #expect(DeployLock.inspect(path) == LockInfo(state: .free))
    }
}

func waitUntil(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
