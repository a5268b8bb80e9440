import FoundationEssentials
import Glibc

/// Wall-clock timestamps as the protocol writes them: ISO 8601 in UTC, to the second.
public enum Timestamp {
    public static func now() -> String { Date().formatted(.iso8601) }

    /// Wall-clock microseconds since 1970, the journal's timestamp unit.
    public static func microseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }
}

/// Elapsed time on the monotonic clock, in whole milliseconds.
public struct Stopwatch: Sendable {
    private let start = ContinuousClock.now

    public init() {}

    public var milliseconds: Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// Sleeps the calling task for `milliseconds`.
func pause(milliseconds: Int) async {
    try? await Task.sleep(for: .milliseconds(max(milliseconds, 0)))
}
