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

    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
