import BerthCore
import Glibc

/// What `berth-catchup.<app>.<env>.service` runs at boot: asks the release store for this host's
/// desired release and plan, fetches the archive if the host lacks it, and runs the very same
/// `ReleaseActivation` a deploy runs (lock, health gate, switch, drain, history), as kind
/// `catch-up`. Everything it does is said in plain sentences on stdout, i.e. the journal.
///
/// If the store cannot be reached within `waitMs`, the host keeps serving the release it booted
/// with (its slot units start at boot on their own), says so, and the unit ends failed
/// (`EngineExit.storeUnreachable`) so `systemctl --failed` shows it.
public struct CatchUp {
    public let settings: CatchUpSettings
    public let system: any SystemControl
    public let engineSettings: EngineSettings
    let log: JournalSink

    public init(settings: CatchUpSettings, system: any SystemControl = LiveSystem(),
                engineSettings: EngineSettings = EngineSettings(), output: Int32 = STDOUT_FILENO) {
        self.settings = settings
        self.system = system
        self.engineSettings = engineSettings
        log = JournalSink(fd: output)
    }

    /// Reads `catch-up/settings.json`.
    public static func load(_ path: String) throws(EngineError) -> CatchUpSettings {
        let bytes: [UInt8]?
        do { bytes = try Files.read(path) } catch { throw .internal(error.description) }
        guard let bytes else { throw .badInput("\(path) does not exist; the next deploy writes it.") }
        do {
            return try EngineJSON.decode(CatchUpSettings.self, from: bytes)
        } catch {
            throw .badInput("\(path) is not catch-up settings: \(EngineJSON.describe(error)); the next deploy rewrites it.")
        }
    }

    private var layout: HostLayout { settings.layout }
    private var source: CatchUpSource { settings.source }
    private var storeName: String { "\(source.user)@\(source.address):\(source.port)" }

    public func run() async -> Int32 {
        let current = ((try? StateStore(layout: layout).manifest()) ?? nil)?.current
        log.say("catch-up of \(settings.app) (\(settings.env)) on \(settings.host): asking the release store at \(storeName) for the desired release; this host runs \(describe(current)).")
        let answer: CatchUpAnswer
        switch await ask(.desired) {
        case let .answered(text):
            guard let decoded = try? EngineJSON.decode(CatchUpAnswer.self, from: Array(text.utf8)) else {
                return await give(up: "the release store at \(storeName) answered something that is not a catch-up answer: \(String(text.prefix(200)))",
                                  state: "failed", current: current, status: EngineExit.internalFailure)
            }
            answer = decoded
        case let .unreachable(reason):
            return await give(up: "could not reach the release store at \(storeName) within \(source.waitMs / 1000) s (\(reason)); this host stays on \(describe(current)), its last good release.",
                              state: "store-unreachable", current: current, status: EngineExit.storeUnreachable)
        case let .refused(reason):
            return await give(up: "the release store at \(storeName) refused this host (\(reason)); this host stays on \(describe(current)). Deploy once while this host is up: that authorizes its key and pins the store's host key again.",
                              state: "failed", current: current, status: EngineExit.internalFailure)
        }
        guard var desired = answer.desired, var plan = answer.plan else {
            log.say("the release store has no desired release for \(settings.host) yet; nothing to do.")
            return EngineExit.ok
        }
        if source.signer != nil {
            switch await PlanVerification(settings: settings).check(answer) {
            case let .trusted(signedPlan, signedDesired):
                plan = signedPlan
                desired = signedDesired
            case let .refusedDesired(reason):
                return await give(up: "the release store at \(storeName) served a desired.json that is not signed by the deploying controller (\(reason)); this host stays on \(describe(current)), its last good release. The store's files were changed by someone else than berth: check the store host, then deploy again.",
                                  state: "failed", current: current, status: EngineExit.badInput)
            case let .stale(issued, newest):
                log.say("the release store's plan for this host was made at \(issued), before the newest plan this host ran (\(newest): a deploy that did not publish, or an old plan served again); this host stays on \(describe(current)).")
                return EngineExit.ok
            case let .refused(reason):
                return await give(up: "the release store at \(storeName) served a plan that is not signed by the deploying controller (\(reason)); this host stays on \(describe(current)), its last good release. The store's files were changed by someone else than berth: check the store host, then deploy again.",
                                  state: "failed", current: current, status: EngineExit.badInput)
            }
        }
        plan.kind = .catchUp
        plan.requestedBy = Requester(user: "berth-catchup", machine: settings.host, pid: Int(getpid()),
                                     command: "berth-engine catch-up (\(layout.catchUpUnitName))")
        do {
            try PlanCheck.validate(plan, kind: .catchUp)
        } catch {
            return await give(up: error.description, state: "failed", current: current, status: error.exitCode)
        }

        var activationSettings = engineSettings
        let download = layout.catchUpDownload(desired.release.id)
        if !ReleaseStore(layout: layout).isPresent(desired.release.id) {
            log.say("fetching \(describe(desired.release)) from the release store.")
            if let bytes = plan.release?.archiveBytes {
                do { try DiskSpace.require(bytes, for: "the release archive", in: layout.catchUpDir) } catch {
                    return await give(up: "\(error.message) This host stays on \(describe(current)).", state: "failed", current: current,
                                      status: EngineExit.failed)
                }
            }
            if let problem = await fetch(desired.release.id, to: download) {
                return await give(up: "could not fetch \(describe(desired.release)) from the release store (\(problem)); this host stays on \(describe(current)).",
                                  state: "failed", current: current, status: EngineExit.storeUnreachable)
            }
        }
        activationSettings.releaseSource = .file(download)
        let recorder = RecordingSink(forwardingTo: log)
        let status = await ReleaseActivation(plan: plan, system: system, events: recorder, settings: activationSettings).run()
        try? Files.remove(download)
        if status == EngineExit.lockHeld {
            // A deploy reached this host while it booted: that deploy brings it up to date.
            log.say("a deploy is running on this host now; it brings the host up to date, so the catch-up stops here.")
            return EngineExit.ok
        }
        let outcome = recorder.outcome
        if outcome?.result != .unchanged {
            await notify(state: outcome?.result.rawValue ?? "failed", release: desired.release, previous: outcome?.previousRelease ?? current?.id,
                         message: outcome?.message ?? recorder.lastError, status: status)
        }
        return status
    }

    // MARK: Talking to the store

    enum Answer {
        case answered(String)
        case unreachable(String)
        case refused(String)
    }

    /// What ssh says (with its exit 255) when the store was reached but refuses this host.
    static let refusals = ["Permission denied", "Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED"]

    /// Asks the store, retrying while ssh cannot connect (exit 255) until `waitMs` has passed: at
    /// boot the network or the store host may come up a moment later than this host.
    func ask(_ request: CatchUpRequest) async -> Answer {
        let watch = Stopwatch()
        var attempts = 0
        while true {
            attempts += 1
            // Never wait longer for one connection than the whole wait allows.
            let connectTimeout = max(1, min(5, (source.waitMs - watch.milliseconds) / 1000))
            let result = await Commands.run(CatchUpUnit.sshArgv(source, layout: layout, request: request,
                                                                connectTimeoutSeconds: connectTimeout))
            if result.succeeded { return .answered(result.output.split(separator: "\n").first.map(String.init) ?? "") }
            guard result.status == 255 else { return .refused(result.complaint.isEmpty ? "exit \(result.status)" : result.complaint) }
            let reason = result.complaint.isEmpty ? "ssh exit 255" : result.complaint
            // The store answered but will not talk to this host: waiting does not change that.
            if Self.refusals.contains(where: { reason.contains($0) }) { return .refused(reason) }
            guard watch.milliseconds + engineSettings.catchUpRetryMilliseconds < source.waitMs else {
                return .unreachable("\(attempts) attempt\(attempts == 1 ? "" : "s"), the last said: \(reason)")
            }
            try? await Task.sleep(for: .milliseconds(engineSettings.catchUpRetryMilliseconds))
        }
    }

    /// Downloads an archive into `path`; nil when it worked, else what went wrong.
    func fetch(_ id: String, to path: String) async -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return SystemCallError("write", path).description }
        let result = await Commands.run(CatchUpUnit.sshArgv(source, layout: layout, request: .archive(id: id)), writingTo: fd)
        close(fd)
        guard result.succeeded else {
            try? Files.remove(path)
            return result.complaint.isEmpty ? "ssh exit \(result.status)" : result.complaint
        }
        return nil
    }

    // MARK: Telling

    private func give(up message: String, state: String, current: ReleaseRef?, status: Int32) async -> Int32 {
        log.say(message)
        await notify(state: state, release: nil, previous: current?.id, message: message, status: status)
        return status
    }

    /// Posts the result to the app's webhook (curl, 10 s); a failed delivery is only logged.
    private func notify(state: String, release: ReleaseRef?, previous: String?, message: String?, status: Int32) async {
        guard let webhook = source.webhook else { return }
        let notice = CatchUpNotice(app: settings.app, environment: settings.env, host: settings.host, state: state,
                                   release: release, previousRelease: previous, message: message, exitCode: status,
                                   finishedAt: Timestamp.now())
        guard let body = try? EngineJSON.encodeLine(notice) else { return }
        let result = await Commands.run(WebhookPost.argv, feeding: Array(WebhookPost.stdin(url: webhook, body: body).utf8))
        if !result.succeeded { log.say("warning: \(WebhookPost.shownAs) was not notified: \(result.complaint)") }
    }

    private func describe(_ release: ReleaseRef?) -> String {
        guard let release else { return "no release" }
        return release.label == release.id ? "release \(release.id)" : "release \(release.id) (\(release.label))"
    }
}
