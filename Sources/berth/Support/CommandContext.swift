import ArgumentParser
import BerthConfig
import BerthControl
import BerthCore
import BerthTransport
import Foundation

/// Everything a subcommand needs after the app file is read: validated before any host is touched.
struct CommandContext {
    let app: LoadedApp
    let planner: Planner
    let env: EnvironmentConfig
    let hosts: [HostConfig]
    let ssh: SSHCommand
    let requester: Requester

    /// Reads and validates the app file; any problem is printed with its location and ends the command
    /// with exit code 2, before any host is contacted.
    static func load(_ target: TargetOptions) throws -> CommandContext {
        let app: LoadedApp
        do {
            app = try AppFile.load(path: target.config)
        } catch {
            throw UserError(message: "\(error)", code: BerthExit.badInput)
        }
        let planner = Planner(app: app.config)
        let env: EnvironmentConfig
        var hosts: [HostConfig]
        do {
            env = try planner.environment(target.env)
            hosts = try planner.hosts(in: target.env)
        } catch {
            throw UserError(message: "\(target.config): \(error)", code: BerthExit.badInput)
        }
        if !target.onlyHosts.isEmpty {
            let unknown = target.onlyHosts.filter { name in !hosts.contains { $0.name == name } }
            guard unknown.isEmpty else {
                throw UserError(message: "environment '\(env.name)' has no host \(unknown.joined(separator: ", ")); its hosts are \(hosts.map(\.name).joined(separator: ", ")).",
                                code: BerthExit.badInput)
            }
            hosts = hosts.filter { target.onlyHosts.contains($0.name) }
        }
        let sshConfig = target.sshConfig ?? ProcessInfo.processInfo.environment["BERTH_SSH_CONFIG"]
        return CommandContext(app: app, planner: planner, env: env, hosts: hosts,
                              ssh: SSHCommand(configFile: sshConfig, controlDirectory: try controlDirectory()),
                              requester: currentRequester())
    }

    /// Tells the app file's webhook and command how the command ended; failures are warnings.
    func notify(_ notice: DeployNotice, progress: any Progress) async {
        guard let config = app.config.notify else { return }
        for warning in await Notifier(config: config, directory: app.directory).send(notice) {
            progress.note(host: "-", "warning: \(warning)")
        }
    }

    /// The same context limited to `hosts` (one rollout batch).
    func with(hosts: [HostConfig]) -> CommandContext {
        CommandContext(app: app, planner: planner, env: env, hosts: hosts, ssh: ssh, requester: requester)
    }

    func client(for host: HostConfig, engine: EngineBinary) -> EngineClient {
        EngineClient(transport: SSHTransport(host: host, ssh: ssh), engine: engine)
    }

    func query(limit: Int? = nil) -> StateQuery {
        StateQuery(app: app.config.name, env: env.name, limit: limit)
    }

    /// Short and private: ssh control sockets must fit in 108 bytes and must not be shared between users.
    private static func controlDirectory() throws -> String {
        let dir = "/tmp/berth-ssh-\(getuid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        return dir
    }

    private static func currentRequester() -> Requester {
        let env = ProcessInfo.processInfo.environment
        let user = env["USER"] ?? env["LOGNAME"] ?? getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) }
            ?? String(getuid())
        return Requester(user: user, machine: ProcessInfo.processInfo.hostName, pid: Int(getpid()),
                         command: (["berth"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
    }
}

/// An error already phrased for the user, with the exit code it maps to.
struct UserError: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    var description: String { message }
}

/// Prints a user error to stderr and exits with its code.
func fail(_ error: Error) -> ExitCode {
    if let user = error as? UserError {
        FileHandle.standardError.write(Data("error: \(user.message)\n".utf8))
        return ExitCode(user.code)
    }
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode(BerthExit.badInput)
}

extension CommandContext {
    /// Runs a deploy or rollback plan on every host (at most `parallel` at once), streaming each
    /// host's events to `progress`, and returns each host's report with the engine's exit status.
    func activate(_ command: EngineCommand, plans: [String: DeployPlan], archive: String?, engine: EngineBinary,
                  parallel: Int, progress: any Progress) async -> [(report: HostReport, status: Int32)] {
        await FleetRunner.run(hosts, limit: parallel) { host -> (report: HostReport, status: Int32) in
            let start = ContinuousClock.now
            do {
                let run = try await client(for: host, engine: engine)
                    .run(command, input: plans[host.name]!, archive: archive) { progress.event(host: host.name, $0) }
                if run.installedEngine {
                    progress.note(host: host.name, "installed the host engine (\(formatBytes(engine.bytes)))")
                }
                return (HostReport.from(run: run, host: host, totalMs: start.elapsedMs), run.status)
            } catch {
                return (HostReport(host: host.name, state: .failed, message: "\(error)", totalMs: start.elapsedMs), 5)
            }
        }
    }
}

extension ContinuousClock.Instant {
    /// Milliseconds since this instant.
    var elapsedMs: Int {
        let duration = ContinuousClock.now - self
        return Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
