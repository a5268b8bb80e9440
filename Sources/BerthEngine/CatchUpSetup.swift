import BerthCore
import Glibc

/// Prepares a host to catch up by itself: its own SSH key (for the store's forced command), the
/// settings the boot-time unit reads, and `berth-catchup.<app>.<env>.service`, enabled for boot.
/// Runs at the end of every deploy, rollback and catch-up; a plan without `catchUp` removes them.
/// Cheap when nothing changed: a key is made once, files are written and systemd reloaded only
/// when their text differs.
struct CatchUpSetup {
    let plan: DeployPlan
    let layout: HostLayout
    let system: any SystemControl

    init(plan: DeployPlan, system: any SystemControl) {
        self.plan = plan
        layout = plan.layout
        self.system = system
    }

    /// The host's public catch-up key (nil when the app has no release store).
    func apply() async throws(StepFailure) -> String? {
        guard let source = plan.catchUp else {
            try await remove()
            return nil
        }
        do throws(SystemCallError) {
            try Files.makeDirectories(layout.catchUpDir, mode: 0o700)
            guard chmod(layout.catchUpDir, 0o700) == 0 else { throw SystemCallError("set the mode of", layout.catchUpDir) }
        } catch {
            throw StepFailure("\(error).")
        }
        try await makeKey()
        let changed: Bool
        do throws(SystemCallError) {
            // The plan's date is kept apart (`catch-up/issued-at`), so settings change only with the app file.
            var settled = source
            settled.issuedAt = nil
            let settings = CatchUpSettings(app: plan.app, env: plan.env, host: plan.host, root: plan.root,
                                           systemdDir: plan.systemdDir, nginxDir: plan.nginxDir, source: settled)
            let json = ((try? EngineJSON.encodeLine(settings)) ?? "{}") + "\n"
            if try Files.readString(layout.catchUpSettingsFile) != json {
                try Files.writeAtomically(layout.catchUpSettingsFile, json, mode: 0o600)
            }
            // A pinned store key replaces whatever was learnt on first use.
            if source.isPinned {
                let known = KnownHostKeys.pinnedFile(source.hostKeys ?? [])
                if try Files.readString(layout.catchUpKnownHostsFile) != known {
                    try Files.writeAtomically(layout.catchUpKnownHostsFile, known, mode: 0o600)
                }
            }
            try PlanVerification.install(signer: source.signer, issuedAt: source.issuedAt, layout: layout)
            let unit = CatchUpUnit(layout: layout).render(waitMs: source.waitMs)
            changed = try Files.readString(layout.catchUpUnitFile) != unit
            if changed {
                try Files.makeDirectories(layout.systemdDir)
                try Files.writeAtomically(layout.catchUpUnitFile, unit, mode: 0o644)
            }
            let link = HostFiles(layout: layout).wantsLink(layout.catchUpUnitName)
            try Files.makeDirectories(Files.directory(of: link))
            if Files.linkTarget(link) != layout.catchUpUnitFile { try Files.replaceSymlink(link, to: layout.catchUpUnitFile) }
        } catch {
            throw StepFailure("\(error).")
        }
        if changed {
            do { try await system.daemonReload() } catch { throw StepFailure("\(error.message).") }
        }
        let key = (try? Files.readString(layout.catchUpKeyFile + ".pub")) ?? nil
        return key?.split(separator: "\n").first.map(String.init)
    }

    /// The host's own key pair, made once (`ssh-keygen`, no passphrase, readable by root only).
    private func makeKey() async throws(StepFailure) {
        guard Files.kind(layout.catchUpKeyFile) != .file || Files.kind(layout.catchUpKeyFile + ".pub") != .file else { return }
        try? Files.remove(layout.catchUpKeyFile)
        try? Files.remove(layout.catchUpKeyFile + ".pub")
        let made = await Commands.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                       StoreLayout.keyMarker(app: plan.app, env: plan.env, host: plan.host),
                                       "-f", layout.catchUpKeyFile])
        guard made.succeeded else {
            throw StepFailure("could not make the catch-up key (ssh-keygen: \(made.complaint)); is openssh-client installed?")
        }
    }

    /// Takes catch-up away from a host whose app no longer has a release store.
    private func remove() async throws(StepFailure) {
        guard Files.exists(layout.catchUpUnitFile) || Files.exists(layout.catchUpDir) else { return }
        do {
            try Files.remove(HostFiles(layout: layout).wantsLink(layout.catchUpUnitName))
            try Files.remove(layout.catchUpUnitFile)
            try Files.removeTree(layout.catchUpDir)
        } catch {
            throw StepFailure("\(error).")
        }
        do { try await system.daemonReload() } catch { throw StepFailure("\(error.message).") }
    }
}
