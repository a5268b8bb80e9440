import BerthTestSupport
import Foundation
import Testing

/// The `berth` executable as a user meets it: help screens, version, and what bad input prints.
/// None of these reach a host: every one fails or answers before any ssh is run.
@Suite struct CLITests {
    let berth: BerthCLI

    init() throws {
        berth = try BerthCLI.locate()
    }

    func run(_ arguments: [String], in directory: String = Repository.root.path) throws -> ProcessOutput {
        try berth.run(arguments, in: directory, sshConfig: "/nonexistent/ssh_config")
    }

    @Test func versionIsPrinted() throws {
        let output = try run(["--version"])
        #expect(output.status == 0)
        #expect(output.stdout == "0.1.0\n")
    }

    @Test func helpListsEverySubcommand() throws {
        let output = try run(["--help"])
        #expect(output.status == 0)
        let golden = try String(contentsOf: Repository.root.appendingPathComponent("Tests/BerthCLITests/Golden/help.txt"),
                                encoding: .utf8)
        #expect(output.stdout == golden)
    }

    @Test func deployHelpDocumentsEveryOption() throws {
        let output = try run(["help", "deploy"])
        #expect(output.status == 0)
        let golden = try String(contentsOf: Repository.root.appendingPathComponent("Tests/BerthCLITests/Golden/deploy-help.txt"),
                                encoding: .utf8)
        #expect(output.stdout == golden)
    }

    @Test func aMissingAppFileIsABadInputError() throws {
        let directory = try temporaryDirectory()
        let output = try run(["deploy"], in: directory)
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("error: berth.yml"), "\(output.stderr)")
    }

    @Test func anInvalidAppFileNamesFileLineAndColumn() throws {
        let directory = try temporaryDirectory()
        try """
        app: "bad name"
        release: { path: . }
        hosts: { h1: { address: h1, roles: [web] } }
        services: { web: { command: x, role: web } }
        environments: { production: { hosts: [h1] } }

        """.write(toFile: directory + "/berth.yml", atomically: true, encoding: .utf8)
        let output = try run(["deploy"], in: directory)
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("error: berth.yml:1:6: "), "\(output.stderr)")
        #expect(output.stdout.isEmpty, "nothing is deployed: \(output.stdout)")
    }

    @Test func anUnknownEnvironmentSaysWhichExist() throws {
        let output = try run(["status", "-c", "Examples/hello/berth.yml", "-e", "prod"])
        #expect(output.status == 2)
        #expect(output.stderr == "error: Examples/hello/berth.yml: there is no environment 'prod' in the app file; choose one of: production, staging.\n")
    }

    @Test func anUnknownHostIsRefusedBeforeAnyConnection() throws {
        let output = try run(["status", "-c", "Examples/hello/berth.yml", "--host", "h9"])
        #expect(output.status == 2)
        #expect(output.stderr == "error: environment 'production' has no host h9; its hosts are h1, h2.\n")
    }

    @Test func aRollbackTargetNoEngineAcceptsIsRefusedBeforeAnyConnection() throws {
        let output = try run(["rollback", "-c", "Examples/hello/berth.yml", "../1.0.0"])
        #expect(output.status == 2)
        #expect(output.stderr == "error: '../1.0.0' is not a release id or label; run 'berth history' to see the releases each host keeps.\n")
    }

    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A bad app file is refused before any host is touched: the ssh config of these tests turns every
/// connection attempt into a line in a file, and a bad file leaves that file empty.
@Suite struct BadAppFileTouchesNoHostTests {
    let berth: BerthCLI
    let directory: String
    let sshConfig: String
    let attempts: String

    init() throws {
        berth = try BerthCLI.locate()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/app", withIntermediateDirectories: true)
        try "print('hello')\n".write(toFile: directory + "/app/server.py", atomically: true, encoding: .utf8)
        attempts = directory + "/ssh-attempts"
        sshConfig = directory + "/ssh_config"
        try """
        Host *
          ProxyCommand /bin/sh -c 'echo %h >> \(attempts); exit 1'
          ConnectTimeout 2

        """.write(toFile: sshConfig, atomically: true, encoding: .utf8)
    }

    func deploy(_ appFile: String) throws -> ProcessOutput {
        try appFile.write(toFile: directory + "/berth.yml", atomically: true, encoding: .utf8)
        return try berth.run(["deploy"], in: directory, sshConfig: sshConfig)
    }

    var connectionAttempts: String { (try? String(contentsOfFile: attempts, encoding: .utf8)) ?? "" }

    static let valid = """
        app: touch-none
        release: { path: app }
        hosts:
          web1: { address: web1.invalid, roles: [web] }
        services:
          web: { command: python3 server.py, role: web, port: 8000 }
        environments:
          production: { hosts: [web1] }

        """

    /// Without this, the other tests could not fail: a good file does try the host.
    @Test func aValidFileDoesTryToReachItsHost() throws {
        let output = try deploy(Self.valid)
        #expect(output.status == 6, "\(output.combined)")
        #expect(connectionAttempts.contains("web1.invalid"), "\(output.combined)")
    }

    @Test func aHostWithNothingToRunIsAConfigErrorAndNoHostIsContacted() throws {
        let output = try deploy(Self.valid.replacingOccurrences(of: "production: { hosts: [web1] }", with: "production: { hosts: [web1, db1] }")
            .replacingOccurrences(of: "  web1: { address: web1.invalid, roles: [web] }",
                                  with: "  web1: { address: web1.invalid, roles: [web] }\n  db1: { address: db1.invalid, roles: [db] }"))
        #expect(output.status == 2)
        #expect(output.stderr == "error: berth.yml:5:39: no service has any of the roles of host 'db1' (db), so environment 'production' would deploy nothing to it; give it the role of a service (web) or take it out of 'production'\n")
        #expect(output.stdout.isEmpty)
        #expect(connectionAttempts.isEmpty, "no ssh was attempted: \(connectionAttempts)")
    }

    @Test func anAliasBombIsAConfigErrorWithinASecondAndNoHostIsContacted() throws {
        var bomb = Self.valid + "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            bomb += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let start = ContinuousClock.now
        let output = try deploy(bomb)
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("error: berth.yml:14:"), "\(output.stderr)")
        #expect(connectionAttempts.isEmpty, "no ssh was attempted: \(connectionAttempts)")
    }

    /// A plan longer than a host engine reads would be refused by every host's engine.
    @Test func settingsTooLargeForAHostEngineAreRefusedBeforeAnyHost() throws {
        var files: [String] = []
        for index in 0..<17 {
            let value = String(repeating: "x", count: 1_000_000)
            try "BIG_\(index)=\(value)\n".write(toFile: directory + "/big\(index).env", atomically: true, encoding: .utf8)
            files.append("big\(index).env")
        }
        let output = try deploy(Self.valid.replacingOccurrences(of: "production: { hosts: [web1] }",
                                                                with: "production: { hosts: [web1], env_file: [\(files.joined(separator: ", "))] }"))
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("error: berth.yml:8:43: the plan for host 'web1' would be 16.2 MB, more than the 16 MiB a host engine reads;"), "\(output.stderr)")
        #expect(connectionAttempts.isEmpty, "no ssh was attempted: \(connectionAttempts)")
    }
}
