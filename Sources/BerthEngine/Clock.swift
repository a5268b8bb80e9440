import FoundationEssentials

/// Wall-clock timestamps as the protocol writes them: ISO 8601 in UTC, to the second.
public enum Timestamp {
    public static func now() -> String { Date().formatted(.iso8601) }
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
