import BerthCore
import FoundationEssentials
import Glibc

/// Where the engine's events go: stdout as JSON lines for `berth`, or a list in tests.
public protocol EventSink: AnyObject {
    func emit(_ event: EngineEvent)
}

/// One JSON object per line on a file descriptor, written with a single `write` each so a line
/// reaches the controller at once. A vanished reader (the controller died) is ignored: the engine
/// finishes its phase regardless.
public final class JSONLinesSink: EventSink {
    private let fd: Int32
    private let encoder = EngineJSON.encoder()

    public init(fd: Int32 = STDOUT_FILENO) {
        self.fd = fd
    }

    public func emit(_ event: EngineEvent) {
        guard var line = try? encoder.encode(event) else { return }
        line.append(UInt8(ascii: "\n"))
        try? Files.writeAll(fd, Array(line), path: "standard output")
    }
}

/// Keeps every event, for tests.
public final class CollectingSink: EventSink {
    public private(set) var events: [EngineEvent] = []
    public init() {}
    public func emit(_ event: EngineEvent) { events.append(event) }
}

/// Engine events as plain sentences, one per line: what the journal of a catch-up shows.
final class JournalSink: EventSink {
    let fd: Int32

    init(fd: Int32) {
        self.fd = fd
    }

    func say(_ line: String) {
        try? Files.writeAll(fd, Array((line + "\n").utf8), path: "standard output")
    }

    func emit(_ event: EngineEvent) {
        switch event.event {
        case .step where event.status == .done:
            say("  \(event.step ?? "?"): done in \(event.ms ?? 0) ms")
        case .step where event.status == .failed:
            say("  \(event.step ?? "?"): failed: \(event.message ?? "")")
        case .warning:
            say("warning: \(event.message ?? "")")
        case .error:
            say("error: \(event.message ?? "")")
        case .outcome:
            guard let outcome = event.outcome else { return }
            switch outcome.result {
            case .deployed: say("caught up: release \(outcome.release ?? "?") serves from the \(outcome.slot?.rawValue ?? "?") slot (it was \(outcome.previousRelease ?? "none")).")
            case .unchanged: say("already on the desired release \(outcome.release ?? "?"); nothing to do.")
            case .rolledBack: say("release \(outcome.release ?? "?") failed before the switch (\(outcome.message ?? "")); \(outcome.previousRelease ?? "the previous release") still serves.")
            case .failed: say("the catch-up failed: \(outcome.message ?? "")")
            }
            for line in outcome.journal ?? [] { say("  | \(line)") }
        default:
            break
        }
    }
}

/// Passes events on and remembers the outcome and the last error.
final class RecordingSink: EventSink {
    let next: any EventSink
    private(set) var outcome: DeployOutcome?
    private(set) var lastError: String?

    init(forwardingTo next: any EventSink) {
        self.next = next
    }

    func emit(_ event: EngineEvent) {
        if let value = event.outcome { outcome = value }
        if event.event == .error { lastError = event.message }
        next.emit(event)
    }
}

/// The JSON settings of every file and line the engine writes: sorted keys for stable output.
public enum EngineJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func encodeLine<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    /// The JSON file at `path`, decoded; nil when there is none. A file that cannot be read or
    /// decoded is an internal error that names the file, what is wrong and `remedy`.
    public static func decodeFile<T: Decodable>(_ type: T.Type, at path: String, remedy: String) throws(EngineError) -> T? {
        let bytes: [UInt8]?
        do { bytes = try Files.read(path) } catch { throw .internal(error.description) }
        guard let bytes else { return nil }
        do {
            return try decode(type, from: bytes)
        } catch {
            throw .internal("\(path) cannot be read (\(describe(error))); \(remedy)")
        }
    }

    /// A decoding failure as a short phrase: what is wrong, and where.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "at the top level" : "at \(keys.hasPrefix(".") ? String(keys.dropFirst()) : keys)"
        }
        switch error {
        case let .keyNotFound(key, context):
            return "the key '\(key.stringValue)' is missing \(path(context))"
        case let .typeMismatch(type, context):
            return "expected \(type) \(path(context))"
        case let .valueNotFound(type, context):
            return "expected \(type) but found null \(path(context))"
        case let .dataCorrupted(context):
            return "\(context.debugDescription.trimmingSuffix(".")) \(path(context))"
        @unknown default:
            return "\(error)"
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
