import BerthCore
import FoundationEssentials
import Glibc

/// The deploy lock of one app environment: an `flock` on `deploy.lock`, held by the engine for its
/// whole run, plus a record in the file of who took it and when.
///
/// The kernel drops an `flock` when its holder dies, so a lock can never be held by a dead deploy;
/// the record outlives it, which is how a dead deploy shows (`stale`): the lock is free but the
/// record was never cleared.
public final class DeployLock {
    public let path: String
    /// The record a deploy that died left behind, if the lock was taken over from one.
    public let takenOver: LockInfo?
    private var fd: Int32

    /// How long to retry a lock that is taken: `lock-status` holds it for microseconds, and a
    /// deploy that starts during one must not be turned away.
    static let retryMilliseconds = 200

    private init(path: String, fd: Int32, takenOver: LockInfo?) {
        self.path = path
        self.fd = fd
        self.takenOver = takenOver
    }

    public enum Failure: Error, Equatable {
        /// A live engine holds the lock; its record, if it had written one.
        case held(LockInfo)
        case system(SystemCallError)
    }

    /// Takes the lock and writes `holder`'s record into it, or says who holds it.
    public static func acquire(_ path: String, holder: Requester, since: String) throws(Failure) -> DeployLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system(SystemCallError("open the deploy lock", path)) }
        guard lock(fd, LOCK_EX) else {
            let record = readRecord(fd)
            close(fd)
            throw .held(LockInfo(state: .held, holder: record?.holder, since: record?.since))
        }
        let stale = readRecord(fd)
        let record = LockInfo(state: .held, holder: holder, since: since)
        do {
            try writeRecord(fd, record, path: path)
        } catch {
            close(fd)
            throw .system(error)
        }
        return DeployLock(path: path, fd: fd, takenOver: stale.map { LockInfo(state: .stale, holder: $0.holder, since: $0.since) })
    }

    /// Clears the record and lets go of the lock.
    public func release() {
        guard fd >= 0 else { return }
        ftruncate(fd, 0)
        close(fd)
        fd = -1
    }

    /// Lets go of the lock but keeps the record, as a holder that dies does (test hook only).
    func abandon() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }

    /// free, held (with the holder's record) or stale (with the dead deploy's record).
    public static func inspect(_ path: String) -> LockInfo {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return LockInfo(state: .free) }
        defer { close(fd) }
        let record = readRecord(fd)
        guard lock(fd, LOCK_SH) else {
            return LockInfo(state: .held, holder: record?.holder, since: record?.since)
        }
        flock(fd, LOCK_UN)
        guard let record else { return LockInfo(state: .free) }
        return LockInfo(state: .stale, holder: record.holder, since: record.since)
    }

    /// Removes a stale record; returns what the lock looked like before (free, or stale with the
    /// record that was removed). Throws `.held` if a live engine holds it.
    public static func clearStale(_ path: String) throws(Failure) -> LockInfo {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return LockInfo(state: .free) }
            throw .system(SystemCallError("open the deploy lock", path))
        }
        defer { close(fd) }
        let record = readRecord(fd)
        guard lock(fd, LOCK_EX) else {
            throw .held(LockInfo(state: .held, holder: record?.holder, since: record?.since))
        }
        guard let record = readRecord(fd) else { return LockInfo(state: .free) }
        guard ftruncate(fd, 0) == 0 else { throw .system(SystemCallError("clear the deploy lock", path)) }
        return LockInfo(state: .stale, holder: record.holder, since: record.since)
    }

    /// Takes `operation` (LOCK_EX or LOCK_SH), retrying briefly: a holder for a moment only (another
    /// engine's query, or a just-forked child that still shares the descriptor until it execs) is
    /// not a live deploy.
    private static func lock(_ fd: Int32, _ operation: Int32) -> Bool {
        let stopwatch = Stopwatch()
        while flock(fd, operation | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, stopwatch.milliseconds < retryMilliseconds else {
                return false
            }
            usleep(10_000)
        }
        return true
    }

    private static func readRecord(_ fd: Int32) -> LockInfo? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var offset = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
            offset += count
        }
        guard bytes.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }) else { return nil }
        // A record that cannot be read still says someone took the lock.
        return (try? EngineJSON.decode(LockInfo.self, from: bytes)) ?? LockInfo(state: .held)
    }

    private static func writeRecord(_ fd: Int32, _ record: LockInfo, path: String) throws(SystemCallError) {
        guard ftruncate(fd, 0) == 0 else { throw SystemCallError("write the deploy lock", path) }
        let line = ((try? EngineJSON.encodeLine(record)) ?? "{}") + "\n"
        let bytes = Array(line.utf8)
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { throw SystemCallError("write the deploy lock", path) }
    }
}
