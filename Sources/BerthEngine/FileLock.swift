import Glibc

/// An exclusive `flock` on a lock file, held until `release()` (or the process ends: the kernel
/// drops it). Separate `open`s conflict even within one process, so threads are serialized too.
final class FileLock {
    private var fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { release() }

    func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    /// Waits for the lock (short critical sections only, such as one file's rewrite).
    static func acquire(_ path: String) throws(SystemCallError) -> FileLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SystemCallError("open the lock", path) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let error = SystemCallError("lock", path)
                close(fd)
                throw error
            }
        }
        return FileLock(fd: fd)
    }

    /// Tries every 50 ms for at most `timeoutMs`; nil when someone else kept holding it.
    static func acquire(_ path: String, timeoutMs: Int) async throws(SystemCallError) -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SystemCallError("open the lock", path) }
        let watch = Stopwatch()
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, watch.milliseconds < timeoutMs else {
                close(fd)
                return nil
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return FileLock(fd: fd)
    }
}
