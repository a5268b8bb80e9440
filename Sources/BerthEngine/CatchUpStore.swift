import BerthCore
import Glibc

/// The release store on its host: every successful deploy publishes the release archive, each
/// host's plan and the desired state here; booting hosts read them through `serve`.
///
/// A publish holds `<path>/.publish.lock`. The archive is in place before a state names it, and a
/// state (`desired.json`, every host's plan and the controller's signature of it) is written whole
/// into a new `states/<n>` directory that one rename of the `current` link makes visible: a booting
/// host sees the old state or the new one, each with its archive, never a mix.
public struct CatchUpStore {
    public let layout: StoreLayout
    /// The store host's `authorized_keys`, where each host's catch-up key gets its forced command.
    public let authorizedKeysFile: String

    public init(layout: StoreLayout, authorizedKeysFile: String) {
        self.layout = layout
        self.authorizedKeysFile = authorizedKeysFile
    }

    /// `~/.ssh/authorized_keys` of the user the engine runs as.
    public static func defaultAuthorizedKeysFile() -> String {
        let home = getpwuid(getuid()).flatMap { $0.pointee.pw_dir.map { String(cString: $0) } } ?? "/root"
        return "\(home)/.ssh/authorized_keys"
    }

    public func desired() throws(EngineError) -> DesiredState? {
        try desired(in: currentState())
    }

    /// The published state directory (`current` resolved once, so one answer reads one state), or
    /// nil when nothing was published since stores had `current`.
    func currentState() -> String? {
        guard let target = Files.linkTarget(layout.currentLink) else { return nil }
        return target.hasPrefix("/") ? target : "\(layout.envDir)/\(target)"
    }

    private func desired(in state: String?) throws(EngineError) -> DesiredState? {
        let file = state.map { StoreLayout.desiredFile(in: $0) } ?? layout.legacyDesiredFile
        return try EngineJSON.decodeFile(DesiredState.self, at: file, remedy: "the next deploy rewrites it")
    }

    /// Makes `request.release` the desired release. `archive` is where the release's archive comes
    /// from when the store lacks it; `events` hears `release-needed` first, `desired` last.
    public func publish(_ request: PublishRequest, archive: ReleaseStore.Source, events: any EventSink) async throws(EngineError) {
        do throws(SystemCallError) {
            try Files.makeDirectories(layout.path, mode: 0o700)
        } catch {
            throw .internal(error.description)
        }
        let lock: FileLock?
        do { lock = try await FileLock.acquire(layout.publishLock, timeoutMs: 60_000) } catch { throw .internal(error.description) }
        guard let lock else {
            throw .internal("another publish to the release store at \(layout.path) has held \(layout.publishLock) for a minute; try again when it is done")
        }
        defer { lock.release() }
        try await publishLocked(request, archive: archive, events: events)
    }

    private func publishLocked(_ request: PublishRequest, archive: ReleaseStore.Source, events: any EventSink) async throws(EngineError) {
        let id = request.release.id
        let previous = try? desired()
        let state: DesiredState
        if let signedDesired = request.signedDesired {
            // The controller wrote (and signed) the desired state: the store keeps it as it is.
            state = try Self.check(signedDesired, of: request)
        } else {
            // A rollback names a release by id only; the store knows its label and date.
            state = DesiredState.next(after: previous, app: request.app, env: request.env, release: request.release,
                                      hosts: request.plans.map(\.host), keep: request.keep, publishedAt: Timestamp.now(),
                                      requestedBy: request.requestedBy, isKept: { Files.kind(layout.archive($0)) == .file })
        }
        var request = request
        request.release = state.release
        do throws(SystemCallError) {
            try Files.makeDirectories(layout.envDir, mode: 0o700)
            guard chmod(layout.envDir, 0o700) == 0 else { throw SystemCallError("set the mode of", layout.envDir) }
            try Files.makeDirectories(layout.archivesDir, mode: 0o700)
            try Files.makeDirectories(layout.statesDir, mode: 0o700)
        } catch {
            throw .internal(error.description)
        }
        let present = Files.kind(layout.archive(id)) == .file
        events.emit(EngineEvent(event: .releaseNeeded, present: present))
        if !present { try await receiveArchive(request.release, from: archive) }

        let kept = state.kept
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let name = "\(now.tv_sec)-\(now.tv_nsec)-\(getpid())"
        let incoming = "\(layout.statesDir)/.incoming-\(name)"
        let stateDir = "\(layout.statesDir)/\(name)"
        do throws(SystemCallError) {
            try Files.removeTree(incoming)
            try Files.makeDirectories(StoreLayout.plansDir(in: incoming), mode: 0o700)
            let signed = Dictionary((request.signed ?? []).map { ($0.host, $0) }, uniquingKeysWith: { first, _ in first })
            for var plan in request.plans {
                // A signed plan is kept exactly as the controller signed it.
                if let signedPlan = signed[plan.host] {
                    try Files.writeAtomically(StoreLayout.planFile(in: incoming, host: plan.host), signedPlan.plan, mode: 0o600, durable: true)
                    try Files.writeAtomically(StoreLayout.signatureFile(in: incoming, host: plan.host), signedPlan.signature, mode: 0o600, durable: true)
                } else {
                    plan.release = request.release
                    let json = (try? EngineJSON.encodeLine(plan)) ?? "{}"
                    try Files.writeAtomically(StoreLayout.planFile(in: incoming, host: plan.host), json + "\n", mode: 0o600, durable: true)
                }
            }
            if let signedDesired = request.signedDesired {
                try Files.writeAtomically(StoreLayout.desiredFile(in: incoming), signedDesired.text, mode: 0o644, durable: true)
                try Files.writeAtomically(StoreLayout.desiredSignatureFile(in: incoming), signedDesired.signature, mode: 0o644, durable: true)
            } else {
                try Files.writeAtomically(StoreLayout.desiredFile(in: incoming), ((try? EngineJSON.encodeLine(state)) ?? "{}") + "\n",
                                          mode: 0o644, durable: true)
            }
            try Self.sync(StoreLayout.plansDir(in: incoming))
            try Self.sync(incoming)
            guard rename(incoming, stateDir) == 0 else { throw SystemCallError("move the new state to", stateDir) }
            // The one rename that makes the new state visible.
            try Files.replaceSymlink(layout.currentLink, to: "states/\(name)")
            try Self.sync(layout.envDir)
        } catch {
            try? Files.removeTree(incoming)
            throw .internal(error.description)
        }
        for old in (try? Files.list(layout.statesDir)) ?? [] where old != name {
            try? Files.removeTree("\(layout.statesDir)/\(old)")
        }
        try? Files.remove(layout.legacyDesiredFile)
        try? Files.removeTree("\(layout.envDir)/plans")
        let keep = Set(kept.map { "\($0.id).tar.gz" })
        for name in (try? Files.list(layout.archivesDir)) ?? [] where !keep.contains(name) {
            try? Files.remove("\(layout.archivesDir)/\(name)")
        }
        do {
            try authorize(request.keys, hosts: state.hosts,
                          engineLink: HostLayout(root: request.root, app: request.app, env: request.env).engineLink,
                          from: request.fromAddresses ?? [:])
        } catch {
            events.emit(EngineEvent(event: .warning, message: "hosts may not catch up from this store: \(error)."))
        }
        events.emit(EngineEvent(event: .desired, desired: state))
    }

    /// The desired state the controller signed, if it is the one `request` publishes (this app,
    /// environment, release and hosts, the release kept). The store does not check the signature:
    /// the hosts do, and the store is what they do not trust.
    static func check(_ signed: SignedDesired, of request: PublishRequest) throws(EngineError) -> DesiredState {
        guard let state = try? EngineJSON.decode(DesiredState.self, from: Array(signed.text.utf8)) else {
            throw .badInput("the signed desired state of this publish is not a desired state; deploy again with this version of berth.")
        }
        guard state.app == request.app, state.env == request.env, state.release.id == request.release.id,
              state.hosts == request.plans.map(\.host), state.kept.first?.id == state.release.id else {
            throw .badInput("the signed desired state names \(state.app) (\(state.env)) release \(state.release.id) on \(state.hosts.joined(separator: ", ")), not what this publish sends; deploy again with this version of berth.")
        }
        return state
    }

    /// `fsync` of a directory, so the names just made in it survive a power cut.
    private static func sync(_ path: String) throws(SystemCallError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemCallError("sync", path) }
    }

    /// Streams an archive into `archives/.incoming-<id>` once there is room for it, checks that its
    /// SHA-256 is the release id and that it is a whole gzip stream, then renames it into place.
    private func receiveArchive(_ release: ReleaseRef, from source: ReleaseStore.Source) async throws(EngineError) {
        let id = release.id
        guard ArchiveCommands.isSHA256(id) else {
            throw .badInput("the release id '\(id)' is not a SHA-256, so its archive cannot be checked; deploy it with this version of berth.")
        }
        if let bytes = release.archiveBytes {
            do { try DiskSpace.require(bytes, for: "the release archive", in: layout.archivesDir) } catch { throw .internal(error.message) }
        }
        let incoming = "\(layout.archivesDir)/.incoming-\(id)-\(getpid())"
        do throws(SystemCallError) {
            let fd = open(incoming, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SystemCallError("write", incoming) }
            defer { close(fd) }
            switch source {
            case .standardInput:
                try Files.copy(from: STDIN_FILENO, to: fd, what: incoming)
            case let .file(path):
                let input = open(path, O_RDONLY | O_CLOEXEC)
                guard input >= 0 else { throw SystemCallError("read", path) }
                defer { close(input) }
                try Files.copy(from: input, to: fd, what: incoming)
            }
            guard fsync(fd) == 0 else { throw SystemCallError("sync", incoming) }
        } catch {
            try? Files.remove(incoming)
            throw .internal(error.description)
        }
        do { try await ReleaseStore.verify(incoming, id: id) } catch {
            try? Files.remove(incoming)
            throw .internal(error.message)
        }
        let check = await Commands.run(["gzip", "-t", incoming])
        guard check.succeeded else {
            try? Files.remove(incoming)
            throw .releaseNotOnHost(requested: id, kept: [], current: nil, where: "in the release store (no whole archive was sent)")
        }
        guard rename(incoming, layout.archive(id)) == 0 else {
            let error = SystemCallError("move the archive to", layout.archive(id))
            try? Files.remove(incoming)
            throw .internal(error.description)
        }
    }

    /// Gives each host's key exactly one line in `authorized_keys`, limited to `serve-store` for
    /// this environment and host, and drops the lines of hosts that left the environment. Lines
    /// Berth did not write (and those of other environments) are kept as they are.
    /// The rewrite holds `authorized_keys.berth-lock`, so publishes of other environments (other
    /// engines at the same time) never lose each other's lines. `from` gives the addresses a host's
    /// key may connect from (IP literals only; without any, the line has no `from=`).
    func authorize(_ keys: [HostKey], hosts: [String], engineLink: String, from: [String: [String]] = [:]) throws(SystemCallError) {
        let dir = Files.directory(of: authorizedKeysFile)
        if !Files.exists(dir) { try Files.makeDirectories(dir, mode: 0o700) }
        let lock = try FileLock.acquire(authorizedKeysFile + ".berth-lock")
        defer { lock.release() }
        let existing = try Files.readString(authorizedKeysFile) ?? ""
        var lines = existing.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        // Berth's lines end with the marker `berth-catchup:<app>/<env>/<host>`.
        let prefix = StoreLayout.keyMarker(app: layout.app, env: layout.env, host: "")
        lines.removeAll { line in
            guard let last = line.split(separator: " ").last, last.hasPrefix(prefix) else { return false }
            return !hosts.contains(String(last.dropFirst(prefix.count)))
        }
        for key in keys {
            guard let line = CatchUpUnit.authorizedKeyLine(publicKey: key.publicKey, engineLink: engineLink, storePath: layout.path,
                                                           app: layout.app, env: layout.env, host: key.host,
                                                           from: from[key.host] ?? []) else { continue }
            let marker = " " + StoreLayout.keyMarker(app: layout.app, env: layout.env, host: key.host)
            lines.removeAll { $0.hasSuffix(marker) }
            lines.append(line)
        }
        let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        guard text != existing else { return }
        try Files.writeAtomically(authorizedKeysFile, text, mode: 0o600, durable: true)
    }

    // MARK: Serving booting hosts

    /// Answers one request of `host` (from its forced command) on stdout.
    public func serve(_ request: CatchUpRequest, host: String) throws(EngineError) {
        switch request {
        case .desired:
            let current = currentState()
            let state = try desired(in: current)
            var answer = CatchUpAnswer(desired: state, plan: nil)
            if let current, let signature = try? Files.readString(StoreLayout.desiredSignatureFile(in: current)),
               let text = try? Files.readString(StoreLayout.desiredFile(in: current)) {
                answer.signedDesired = SignedDesired(text: text, signature: signature)
            }
            if state?.hosts.contains(host) == true {
                let planFile = current.map { StoreLayout.planFile(in: $0, host: host) } ?? "\(layout.envDir)/plans/\(host).json"
                do {
                    if let bytes = try Files.read(planFile) {
                        answer.plan = try? EngineJSON.decode(DeployPlan.self, from: bytes)
                        if let current, let signature = try Files.readString(StoreLayout.signatureFile(in: current, host: host)) {
                            answer.signedPlan = String(decoding: bytes, as: UTF8.self)
                            answer.signature = signature
                        }
                    }
                } catch {
                    throw .internal(error.description)
                }
            }
            let line = ((try? EngineJSON.encodeLine(answer)) ?? "{}") + "\n"
            do { try Files.writeAll(STDOUT_FILENO, Array(line.utf8), path: "standard output") } catch { throw .internal(error.description) }
        case let .archive(id):
            let path = layout.archive(id)
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw .releaseNotOnHost(requested: id, kept: (try? desired())?.kept ?? [], current: nil, where: "in the release store")
            }
            defer { close(fd) }
            do { try Files.copy(from: fd, to: STDOUT_FILENO, what: path) } catch { throw .internal(error.description) }
        }
    }
}
