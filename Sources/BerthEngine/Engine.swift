import BerthCore
import FoundationEssentials
import Glibc

/// The engine as `berth-engine` runs it: picks the command, decodes its input, runs it, and
/// returns the exit status. Every failure becomes one `error` event (or a deploy's `outcome`).
public struct Engine {
    public var system: any SystemControl
    public var events: any EventSink
    public var settings: EngineSettings

    public init(system: any SystemControl = LiveSystem(), events: any EventSink = JSONLinesSink(),
                settings: EngineSettings = EngineSettings()) {
        self.system = system
        self.events = events
        self.settings = settings
    }

    public static let usage = "usage: berth-engine <\(EngineCommand.allCases.map(\.rawValue).joined(separator: "|"))> with one JSON line on stdin"

    /// Runs `command` on `input` (the JSON line read from stdin).
    public func run(_ command: String, input: [UInt8]) async -> Int32 {
        do throws(EngineError) {
            guard let command = EngineCommand(rawValue: command) else {
                throw EngineError.badInput("unknown command '\(command)'; \(Self.usage).")
            }
            return try await run(command, input: input)
        } catch {
            events.emit(EngineEvent(event: .error, message: error.description))
            return error.exitCode
        }
    }

    private func run(_ command: EngineCommand, input: [UInt8]) async throws(EngineError) -> Int32 {
        switch command {
        case .deploy, .rollback:
            let plan = try decode(DeployPlan.self, from: input, what: "a deploy plan", command: command)
            try PlanCheck.validate(plan, command: command)
            return await ReleaseActivation(plan: plan, system: system, events: events, settings: settings).run()
        case .preflight:
            let plan = try decode(DeployPlan.self, from: input, what: "a deploy plan", command: command)
            try PlanCheck.validate(plan, command: command)
            events.emit(EngineEvent(event: .preflight, findings: await PreflightRun(plan: plan, system: system).findings()))
            return EngineExit.ok
        case .maintenance:
            let plan = try decode(DeployPlan.self, from: input, what: "a maintenance plan", command: command)
            try PlanCheck.validate(plan, command: command)
            return await MaintenanceMode(plan: plan, system: system, events: events,
                                         drainLimitMilliseconds: settings.drainLimitMilliseconds).run()
        case .migrateRollback:
            let plan = try decode(DeployPlan.self, from: input, what: "a migrate-rollback plan", command: command)
            try PlanCheck.validate(plan, command: command)
            return await MigrationRollback(plan: plan, system: system, events: events).run()
        case .status, .history, .lockStatus, .lockRelease:
            let query = try decode(StateQuery.self, from: input, what: "a state query", command: command)
            try PlanCheck.validate(query)
            let queries = StateQueries(query: query, system: system, events: events)
            switch command {
            case .status: try await queries.status()
            case .history: try queries.history()
            case .lockStatus: queries.lockStatus()
            default: try queries.lockRelease()
            }
            return EngineExit.ok
        case .publish:
            let request = try decode(PublishRequest.self, from: input, what: "a publish request", command: command)
            try PlanCheck.validate(request)
            let store = CatchUpStore(layout: StoreLayout(path: request.path, app: request.app, env: request.env),
                                     authorizedKeysFile: settings.authorizedKeysFile)
            try await store.publish(request, archive: settings.releaseSource, events: events)
            return EngineExit.ok
        case .storeStatus:
            let query = try decode(StoreQuery.self, from: input, what: "a store query", command: command)
            try PlanCheck.validate(query)
            let store = CatchUpStore(layout: StoreLayout(path: query.path, app: query.app, env: query.env),
                                     authorizedKeysFile: settings.authorizedKeysFile)
            events.emit(EngineEvent(event: .desired, desired: try store.desired()))
            return EngineExit.ok
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, from input: [UInt8], what: String,
                                      command: EngineCommand) throws(EngineError) -> T {
        guard input.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }) else {
            throw .badInput("'\(command.rawValue)' needs \(what) as one JSON line on stdin, and stdin was empty.")
        }
        do {
            return try EngineJSON.decode(type, from: input)
        } catch {
            throw .badInput("the input of '\(command.rawValue)' is not \(what): \(EngineJSON.describe(error)).")
        }
    }
}

/// Reads the first line of stdin one byte at a time, so that nothing after it (the release
/// archive of a deploy) is consumed: whatever follows stays in fd 0 for `tar`.
public enum StandardInput {
    public static let lineLimit = EngineInput.maxLineBytes

    public static func readLine(fd: Int32 = STDIN_FILENO) throws(EngineError) -> [UInt8] {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0 {
                if errno == EINTR { continue }
                throw .badInput("could not read stdin: \(String(cString: strerror(errno))).")
            }
            if count == 0 || byte == UInt8(ascii: "\n") { return line }
            line.append(byte)
            guard line.count <= lineLimit else {
                throw .badInput("the JSON line on stdin is longer than \(lineLimit >> 20) MiB.")
            }
        }
    }
}
