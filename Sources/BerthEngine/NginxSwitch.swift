import BerthCore

/// Moves an environment's traffic by rewriting its nginx site and reloading nginx, and waits for
/// the workers that still serve the old slot to finish.
///
/// nginx's reload is graceful: the master starts new workers with the new site and tells the old
/// ones to finish their requests and exit. Only once they are gone may the old slot stop, or
/// requests still in flight through them fail; that wait is `drain`.
public struct NginxSwitch {
    public let system: any SystemControl
    public let siteFile: String
    /// How long a reload may take to start new workers before the switch counts as failed.
    public var reloadLimitMilliseconds = 5_000
    /// Files removed in the same reload that writes the site, and put back if it fails: the
    /// environment's site under its old-style name (`LegacyNames`), which serves the same domains.
    public var retiring: [String]

    public init(system: any SystemControl, siteFile: String, retiring: [String] = []) {
        self.system = system
        self.siteFile = siteFile
        self.retiring = retiring
    }

    /// The old workers of one reload, to wait for.
    public struct Drain: Equatable, Sendable {
        public var master: Int32
        public var workers: Set<Int32>
    }

    /// Whether the site on disk is already `site` (nil: no site file).
    public func isCurrent(_ site: String?) -> Bool {
        (try? Files.readString(siteFile)) == site && !retiring.contains(where: Files.exists)
    }

    /// Writes `site` (nil removes the file), has nginx check it and reloads. On any failure the
    /// previous file is put back and nginx keeps serving as before. Returns the old workers to
    /// drain, nil when nothing had to be reloaded.
    public func apply(_ site: String?) async throws(StepFailure) -> Drain? {
        let previous: String?
        do { previous = try Files.readString(siteFile) } catch { throw StepFailure("\(error).") }
        let retired = retiring.compactMap { path in ((try? Files.readString(path)) ?? nil).map { (path, $0) } }
        guard previous != site || !retired.isEmpty else { return nil }
        try write(site)
        for (path, _) in retired {
            do { try Files.remove(path) } catch {
                try? write(previous)
                for (path, text) in retired { try? Files.writeAtomically(path, text, mode: 0o644) }
                throw StepFailure("\(error).")
            }
        }
        return try await load(restoring: .some(previous), retired: retired,
                              serving: Set(NginxServers.parse(site ?? "").flatMap(\.names)))
    }

    /// Has nginx check and load the site as it is on disk, so that what nginx routes to is what
    /// the file says (after a crash between writing the site and the reload, it may not be).
    /// Returns every worker that ran before, to drain: also those an earlier reload left draining.
    public func reloadAsIs() async throws(StepFailure) -> Drain? {
        let onDisk = (try? Files.readString(siteFile)) ?? nil
        return try await load(restoring: nil, retired: [], serving: Set(NginxServers.parse(onDisk ?? "").flatMap(\.names)))
    }

    /// nginx -t, then a graceful reload (or a start when nginx does not run). `restoring`: the
    /// site to put back on a failure (inner nil: remove it); nil: leave the file alone. `retired`:
    /// old-style files removed with this reload, put back with the site. `serving`: the domains
    /// whose "conflicting server name" warnings fail the check.
    private func load(restoring previous: String??, retired: [(String, String)],
                      serving names: Set<String>) async throws(StepFailure) -> Drain? {
        func putBack() {
            if let previous { try? write(previous) }
            for (path, text) in retired { try? Files.writeAtomically(path, text, mode: 0o644) }
        }
        let back = previous == nil ? "" : "; the previous site is back"
        if let complaint = await system.testNginx(serving: names) {
            putBack()
            if previous == nil { throw StepFailure("nginx rejects the site on disk (\(complaint)); fix or remove \(siteFile).") }
            throw StepFailure("nginx rejected the new site (\(complaint)); the previous site is back and still serves.")
        }
        guard let master = system.nginxMaster() else {
            do {
                try await system.startNginx()
            } catch {
                putBack()
                throw StepFailure("nginx was not running and could not be started (\(error.message)).")
            }
            return nil
        }
        let before = system.children(of: master)
        do {
            try system.reloadNginx(master: master)
        } catch {
            putBack()
            throw StepFailure("\(error.message)\(back).")
        }
        let waited = Stopwatch()
        while waited.milliseconds < reloadLimitMilliseconds {
            if !system.children(of: master).subtracting(before).isEmpty {
                return Drain(master: master, workers: before)
            }
            await pause(milliseconds: 2)
        }
        putBack()
        if previous != nil { try? system.reloadNginx(master: master) }
        throw StepFailure("nginx started no new workers within \(reloadLimitMilliseconds / 1000) s of the reload\(back) (see nginx's error log).")
    }

    /// Waits until the old workers have exited; false if some still run after `limitMilliseconds`.
    public func drain(_ drain: Drain, limitMilliseconds: Int) async -> Bool {
        let waited = Stopwatch()
        while true {
            if system.children(of: drain.master).isDisjoint(with: drain.workers) { return true }
            if waited.milliseconds >= limitMilliseconds { return false }
            await pause(milliseconds: 10)
        }
    }

    private func write(_ site: String?) throws(StepFailure) {
        do {
            if let site {
                try Files.makeDirectories(Files.directory(of: siteFile))
                try Files.writeAtomically(siteFile, site, mode: 0o644, durable: true)
            } else {
                try Files.remove(siteFile)
                let directory = Files.directory(of: siteFile)
                if Files.kind(directory) == .directory { try Files.syncDirectory(directory) }
            }
        } catch {
            throw StepFailure("\(error).")
        }
    }
}
