import BerthCore
import Foundation
import Testing
@testable import BerthConfig

/// What leaves the deploying machine: never the env files or the app file, not what `.berthignore`
/// or the defaults leave out, and no link that points outside the release.
@Suite struct ReleaseFilesTests {
    /// An app whose release path is its own folder (`release: {path: .}`), as in the report.
    func app(in folder: TemporaryFolder, envFiles: String = "[.env.production, config/.env.staging]") throws -> LoadedApp {
        try folder.write("berth.yml", """
            app: hello
            release: {path: .}
            hosts: {web1: {address: 10.0.0.5, roles: [web]}}
            services: {web: {command: python3 server.py, role: web, port: 8000}}
            environments:
              production: {hosts: [web1], env_file: \(envFiles)}

            """)
        try folder.write(".env.production", "SECRET=1\n")
        try folder.write("config/.env.staging", "SECRET=2\n")
        try folder.write("server.py", "print(1)\n")
        return try AppFile.load(path: folder.path + "/berth.yml")
    }

    @Test func envFilesAndTheAppFileAreNeverPackedWhateverBerthignoreSays() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write(".berthignore", "!.env.production\n!berth.yml\n!config/\n")
        let files = try ReleaseFiles.list(try app(in: folder))
        #expect(files.members == [".", "./.berthignore", "./config", "./server.py"])
        #expect(files.leftOut == [
            ReleaseFiles.LeftOut(path: ".env.production", reason: .envFile),
            ReleaseFiles.LeftOut(path: "berth.yml", reason: .appFile),
            ReleaseFiles.LeftOut(path: "config/.env.staging", reason: .envFile),
        ])
    }

    @Test func anotherNameForAnEnvFileStaysBehindToo() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let app = try app(in: folder)
        #expect(link(folder.path + "/.env.production", folder.path + "/copy-of-env") == 0)
        let files = try ReleaseFiles.list(app)
        #expect(!files.members.contains("./copy-of-env"))
        #expect(files.leftOut.contains(ReleaseFiles.LeftOut(path: "copy-of-env", reason: .envFile)))
    }

    @Test func berthignoreAndTheDefaultsLeaveFilesOutAndCountEveryFileInAnExcludedDirectory() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write(".git/HEAD", "ref\n")
        try folder.write(".git/objects/ab/cd", "x\n")
        try folder.write("__pycache__/server.pyc", "x\n")
        try folder.write("node_modules/a/index.js", "x\n")
        try folder.write("logs/today.log", "x\n")
        try folder.write("keep.log", "x\n")
        try folder.write(".berthignore", "# local only\nnode_modules/\n*.log\n!keep.log\n")
        let files = try ReleaseFiles.list(try app(in: folder))
        #expect(files.members == [".", "./.berthignore", "./config", "./keep.log", "./logs", "./server.py"])
        #expect(files.leftOut.filter { $0.reason == .byDefault }.map(\.path) == [".git/HEAD", ".git/objects/ab/cd", "__pycache__/server.pyc"])
        #expect(files.leftOut.filter { $0.reason == .ignored }.map(\.path) == ["logs/today.log", "node_modules/a/index.js"])
    }

    @Test func aDefaultExcludeCanBeBroughtBack() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("__pycache__/server.pyc", "x\n")
        try folder.write(".berthignore", "!__pycache__/\n")
        let files = try ReleaseFiles.list(try app(in: folder))
        #expect(files.members.contains("./__pycache__/server.pyc"))
    }

    @Test func socketsAndFIFOsAreLeftOut() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let app = try app(in: folder)
        #expect(mkfifo(folder.path + "/pipe", 0o600) == 0)
        let files = try ReleaseFiles.list(app)
        #expect(!files.members.contains("./pipe"))
        #expect(files.leftOut.contains(ReleaseFiles.LeftOut(path: "pipe", reason: .special)))
    }

    @Test func aLinkInsideTheReleaseIsPackedAndOneLeavingItIsAnErrorAtReleasePath() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let app = try app(in: folder)
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/config/main.py", withDestinationPath: "../server.py")
        #expect(try ReleaseFiles.list(app).members.contains("./config/main.py"))
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/config/passwd", withDestinationPath: "../../etc/passwd")
        #expect(throws: ConfigErrors([ConfigError(location: SourceLocation(file: folder.path + "/berth.yml", line: 2, column: 17),
                                                  message: "'config/passwd' in the release directory is a symbolic link to '../../etc/passwd', outside the release; hosts refuse such links: copy what it points to into the release, use release.shared for data that outlives releases, or list it in .berthignore")])) {
            try ReleaseFiles.list(app)
        }
        try folder.write(".berthignore", "config/passwd\n")
        #expect(try !ReleaseFiles.list(app).members.contains("./config/passwd"))
    }

    @Test(arguments: [("a", "b", true), ("a/l", "../b", true), ("l", "../x", false), ("a/l", "../../x", false),
                      ("l", "/etc/passwd", false), ("a/l", "./b/../../c", true), ("a/l", "b/../../../c", false)])
    func linksResolveByTheirWords(link: String, target: String, inside: Bool) {
        #expect(ReleaseFiles.staysInside(link: link, target: target) == inside)
    }
}
