import ArgumentParser
import BerthControl
#if canImport(Glibc)
import Glibc
#endif

/// `berth`: deploy web apps to your own Linux servers from one app file.
@main
struct BerthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Deploy an app to your own servers from one app file, with zero downtime.",
        discussion: "Exit codes: see docs/cli.md (0 success, 1 a host failed or rolled back, 2 bad input, 3 lock held, 4 release not found, 6 required host unreachable, 10 optional hosts skipped).",
        version: BerthVersion.current,
        subcommands: [Deploy.self, Check.self, Rollback.self, Migrate.self, Maintenance.self, Status.self, History.self, Lock.self])

    static func main() async {
        // A host that closes its side of a session must surface as an error, not kill berth.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
