import BerthCore
import Glibc

/// The accounts an app environment's services run as, made ready before their units start: the
/// environment's own system user is created when missing (`useradd --system`, no home, no login
/// shell), a `user:` named in the app file must already exist, and the environment's account
/// owns the shared directories and may read the env file. Releases stay root's: readable by the
/// service, never writable by it.
struct ServiceAccounts {
    let plan: DeployPlan
    let system: any SystemControl

    /// The account that owns the shared directories and reads the env file: the environment's own
    /// user when a service runs as it, else the first other non-root account; nil when every
    /// service runs as root.
    static func environmentAccount(_ services: [ServicePlan], layout: HostLayout) -> String? {
        let accounts = services.map { $0.account(in: layout) }.filter { $0 != "root" }
        return accounts.contains(layout.serviceUser) ? layout.serviceUser : accounts.first
    }

    /// Makes every account exist and gives the shared directories to the environment's account;
    /// returns that account (nil: root only).
    func prepare(_ services: [ServicePlan]) async throws(StepFailure) -> SystemAccount? {
        let layout = plan.layout
        var ready: [String: SystemAccount] = [:]
        do {
            for service in services {
                let name = service.account(in: layout)
                guard name != "root", ready[name] == nil else { continue }
                if let account = try await system.account(name) {
                    ready[name] = account
                } else if name == layout.serviceUser {
                    try await system.createAccount(name, app: plan.app, env: plan.env)
                    guard let account = try await system.account(name) else {
                        throw StepFailure("the user \(name) was created but cannot be found; check /etc/passwd on this host.")
                    }
                    ready[name] = account
                } else {
                    throw StepFailure("service \(service.name) runs as the user '\(name)' ('user' in the app file), which does not exist on this host; create it, or remove 'user' to run as \(layout.serviceUser).")
                }
            }
            guard let name = Self.environmentAccount(services, layout: layout), let account = ready[name] else { return nil }
            for dir in plan.sharedDirs {
                let path = "\(layout.sharedDir)/\(dir)"
                try Files.makeDirectories(path)
                var info = stat()
                // Once given, a shared directory keeps its owner: only a new one (or one an older
                // Berth left to root) is handed over, so a deploy never walks a large tree again.
                if lstat(path, &info) == 0, info.st_uid != account.uid || info.st_gid != account.gid {
                    try await system.own(path, by: account)
                }
            }
            return account
        } catch let failure as StepFailure {
            throw failure
        } catch let failure as ControlFailure {
            throw StepFailure("\(failure.message).")
        } catch {
            throw StepFailure("\(error).")
        }
    }

    /// Gives every account read access to a release just unpacked, and none write access.
    static func makeReadOnly(_ release: String) async throws(StepFailure) {
        let result = await Commands.run(AccountCommands.makeReadOnly(release))
        guard result.succeeded else { throw StepFailure("could not make \(release) readable to its services (chmod: \(result.complaint)).") }
    }

    /// Whether the env file is root's with the access `writeEnvironmentFile` gives it.
    static func canRead(_ path: String, reader: SystemAccount?) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        return info.st_uid == 0 && info.st_gid == (reader?.gid ?? 0) && info.st_mode & 0o777 == (reader == nil ? 0o600 : 0o640)
    }

    /// Writes the env file: root's, readable by the group of `reader` (0640), else by root only (0600).
    static func writeEnvironmentFile(_ path: String, _ text: String, reader: SystemAccount?) throws(SystemCallError) {
        try Files.writeAtomically(path, text, mode: reader == nil ? 0o600 : 0o640, group: reader?.gid ?? 0)
    }
}
