/// One of the two places a service runs on a host. A deploy starts the new release in the idle slot
/// while the active one keeps serving, then moves traffic across.
public enum Slot: String, Codable, Sendable, CaseIterable {
    case blue, green

    /// The other slot: where the next release goes.
    public var other: Slot { self == .blue ? .green : .blue }

    /// Port of a service in this slot: blue listens on the base port, green on the next one.
    public func port(base: Int) -> Int { self == .blue ? base : base + 1 }
}
