import BerthCore
import BerthTransport
import Foundation

/// What one engine command did on one host.
public struct EngineRun: Sendable {
    /// The engine's exit status (255: ssh could not reach the host).
    public var status: Int32
    public var events: [EngineEvent]
    public var stderr: String
    /// Whether the engine had to be installed first.
    public var installedEngine: Bool
    /// Whether the file at the engine's path was not this engine (corrupt or changed), so it was
    /// removed and installed again.
    public var replacedEngine = false
    /// Whether the release archive was sent.
    public var sentRelease: Bool

    public var outcome: DeployOutcome? { events.last { $0.event == .outcome }?.outcome }
    public var errorMessage: String? { events.last { $0.event == .error }?.message }
    /// The host's catch-up key, reported when the app has a release store.
    public var catchUpKey: String? { events.last { $0.event == .catchUpKey }?.publicKey }
    /// The answer of `publish` and `store-status`.
    public var desired: DesiredState? { events.last { $0.event == .desired }?.desired }
}

/// Talks to the host engine over a transport: one session per command. Installs the engine when
/// the host lacks this exact build (seen as exit status 127) and retries once.
public struct EngineClient: Sendable {
    public let transport: any Transport
    public let engine: EngineBinary
    public let invocation: EngineInvocation

    public init(transport: any Transport, engine: EngineBinary, root: String = HostLayout.defaultRoot) {
        self.transport = transport
        self.engine = engine
        self.invocation = EngineInvocation(root: root, engineSHA256: engine.sha256)
    }

    /// Runs `command` with `input` as its JSON line; streams `archive` if the engine asks for it.
    public func run<Input: Encodable & Sendable>(
        _ command: EngineCommand, input: Input, archive: String? = nil,
        onEvent: @escaping @Sendable (EngineEvent) -> Void = { _ in }
    ) async throws -> EngineRun {
        var first = try await session(command, input: input, archive: archive, onEvent: onEvent)
        guard first.events.isEmpty, first.status == EngineInvocation.notInstalledStatus || first.status == 126 else { return first }
        let installed = try await install()
        guard installed.succeeded else {
            first.stderr = installed.stderr
            first.status = installed.status
            return first
        }
        var second = try await session(command, input: input, archive: archive, onEvent: onEvent)
        second.installedEngine = true
        second.replacedEngine = first.stderr.contains(EngineInvocation.mismatchMarker)
        return second
    }

    /// Uploads the gzip'd engine and puts it in place atomically.
    public func install() async throws -> CommandResult {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: engine.compressedPath)))
        return try await ProcessRunner.run(transport.argv(for: EngineInvocation.asRoot(invocation.install())), stdin: bytes)
    }

    private func session<Input: Encodable & Sendable>(
        _ command: EngineCommand, input: Input, archive: String?, onEvent: @escaping @Sendable (EngineEvent) -> Void
    ) async throws -> EngineRun {
        var line = try [UInt8](JSONEncoder.stable().encode(input))
        line.append(UInt8(ascii: "\n"))
        let log = EventLog()
        let result = try await ProcessRunner.stream(transport.argv(for: EngineInvocation.asRoot(invocation.command(command))),
                                                    initialInput: line) { text, stdin in
            guard let event = try? JSONDecoder().decode(EngineEvent.self, from: Data(text.utf8)) else {
                let warning = EngineEvent(event: .warning, message: text)
                log.append(warning)
                onEvent(warning)
                return
            }
            log.append(event)
            onEvent(event)
            if event.event == .releaseNeeded {
                if event.present == false, let archive {
                    log.sentRelease = true
                    try await Self.send(file: archive, to: stdin)
                }
                await stdin.close()
            }
        }
        return EngineRun(status: result.status, events: log.events, stderr: result.stderr,
                         installedEngine: false, sentRelease: log.sentRelease)
    }

    private static func send(file: String, to stdin: StandardInput) async throws {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw ControlError.toolFailed(tool: "read", reason: "cannot open \(file)")
        }
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 256 * 1024), !chunk.isEmpty {
            await stdin.write([UInt8](chunk))
        }
    }
}

/// Events gathered from the output stream's callback.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _events: [EngineEvent] = []
    private var _sentRelease = false

    func append(_ event: EngineEvent) { lock.withLock { _events.append(event) } }
    var events: [EngineEvent] { lock.withLock { _events } }
    var sentRelease: Bool {
        get { lock.withLock { _sentRelease } }
        set { lock.withLock { _sentRelease = newValue } }
    }
}
