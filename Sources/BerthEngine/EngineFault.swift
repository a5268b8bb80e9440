import BerthCore
import Glibc

/// A test hook that makes an activation stop at a step boundary the way a crash would, so tests can
/// prove that every such point leaves a host the next deploy (or a boot) brings back to serving.
///
/// Never active unless a test asks: either `BERTH_ENGINE_FAULT=<fault>` in the engine's own
/// environment, or — since `berth` runs the engine over ssh with a fixed command and no
/// environment — a file `<app dir>/engine-fault` holding `<fault>`, which only root can write and
/// which the engine removes as it reads it (it fires once). An active hook is always announced
/// with a warning event, so it cannot go unnoticed.
///
/// `<fault>` is one of:
/// - `after:<step>`: SIGKILL the engine right after `<step>` ended (done or skipped);
/// - `pause:<step>`: stop there until the engine is killed (a test then cuts the host's power);
/// - `fail:record`: the `record` step's manifest write fails with ENOSPC, as on a full disk.
public struct EngineFault: Sendable, Equatable, CustomStringConvertible {
    public enum Action: String, Sendable {
        case kill = "after"
        case pause
        case fail
        /// In-process tests only (not readable from text): behave as if the process died at the
        /// boundary: let the deploy lock go without clearing its record, and never return.
        case abandon
    }

    public var action: Action
    public var step: String

    public static let environmentVariable = "BERTH_ENGINE_FAULT"

    public init(_ action: Action, _ step: String) {
        self.action = action
        self.step = step
    }

    /// Parses `after:<step>`, `pause:<step>` or `fail:record`; nil for anything else.
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: " \n\t")
        guard let colon = trimmed.firstIndex(of: ":"),
              let action = Action(rawValue: String(trimmed[..<colon])), action != .abandon else { return nil }
        let step = String(trimmed[trimmed.index(after: colon)...])
        guard ReleaseActivation.stepNames.contains(step), action != .fail || step == "record" else { return nil }
        self.init(action, step)
    }

    public var description: String { "\(action.rawValue):\(step)" }

    /// `BERTH_ENGINE_FAULT` of this process, if set (an unreadable value is reported by `load`).
    public static func fromEnvironment() -> String? {
        getenv(environmentVariable).map { String(cString: $0) }
    }

    /// The fault for this activation: `configured` (settings or environment) first, else the
    /// environment's fault file, removed as it is read. Returns the fault and, when something was
    /// found, the warning to announce (also for text that is not a fault: it is ignored).
    static func load(configured: EngineFault?, environmentText: String?, file: String) -> (EngineFault?, String?) {
        if let configured { return (configured, "test fault hook active (\(configured)).") }
        let source: String
        let text: String
        if let environmentText {
            source = environmentVariable
            text = environmentText
        } else if let contents = try? Files.readString(file) {
            try? Files.remove(file)
            source = file
            text = contents
        } else {
            return (nil, nil)
        }
        guard let fault = EngineFault(text) else {
            return (nil, "ignored the test fault hook in \(source): '\(text.prefix(60))' is not after:<step>, pause:<step> or fail:record.")
        }
        return (fault, "test fault hook active (\(fault), from \(source)): this activation stops there on purpose.")
    }

    /// Acts at the end of `step`: kills, pauses or abandons when this is the fault's step.
    func reached(_ step: String, announce: (String) -> Void, letLockGo: () -> Void) async {
        guard step == self.step else { return }
        switch action {
        case .kill:
            announce("test fault hook: killing the engine (SIGKILL) after '\(step)'.")
            kill(getpid(), SIGKILL)
            await Self.parkForever()
        case .pause:
            announce("test fault hook: paused after '\(step)' until this engine is killed.")
            await Self.parkForever()
        case .abandon:
            letLockGo()
            announce("test fault hook: abandoned after '\(step)', as if the engine had died.")
            await Self.parkForever()
        case .fail:
            break
        }
    }

    /// Whether the write of the manifest in `record` should fail as on a full disk.
    var failsRecord: Bool { action == .fail && step == "record" }

    nonisolated(unsafe) private static var parked: [CheckedContinuation<Void, Never>] = []

    /// Suspends for good (kept, so the runtime does not report a leaked continuation).
    private static func parkForever() async {
        await withCheckedContinuation { parked.append($0) }
    }
}
