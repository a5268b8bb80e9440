import BerthCore
import Foundation
import Testing
@testable import BerthConfig

/// `AppFile.load` and `LoadedApp`: the checks that need the file system.
@Suite struct LoadTests {
    static let appFile = """
        app: shop
        release:
          path: app
        hosts:
          web1: {address: a, roles: [web]}
        services:
          web: {command: run, role: web, port: 8000}
        environments:
          production:
            hosts: [web1]
            env_file: [.env, .env.production]
          staging:
            hosts: [web1]
            env_file: .env.staging
            port_offset: 100

        """

    /// A folder with the app file above, its release directory and env files.
    static func workspace(_ files: [String: String] = [".env": "A=1\nB=2\n", ".env.production": "A=3\nC=4\n",
                                                       ".env.staging": "A=staging\n"],
                          release: Bool = true) throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        try folder.write("berth.yml", appFile)
        if release { try folder.makeDirectory("app") }
        for (name, text) in files { try folder.write(name, text) }
        return folder
    }

    @Test func loadResolvesPathsAndMergesEnvFiles() throws {
        let folder = try Self.workspace()
        defer { folder.remove() }
        let app = try AppFile.load(path: folder.path + "/berth.yml")
        #expect(app.file == folder.path + "/berth.yml")
        #expect(app.directory == folder.path)
        #expect(app.releaseDirectory() == folder.path + "/app")
        #expect(app.config.name == "shop")
        // .env then .env.production: A from the later file, in the position of its first appearance.
        #expect(try app.settings(for: "production") == [
            EnvVar(name: "A", value: "3"), EnvVar(name: "B", value: "2"), EnvVar(name: "C", value: "4"),
        ])
        #expect(try app.settings(for: "staging") == [EnvVar(name: "A", value: "staging")])
    }

    @Test func relativePathsResolveInTheAppFilesFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("deploy/berth.yml", Self.appFile.replacingOccurrences(of: "path: app", with: "path: ../site/")
            .replacingOccurrences(of: "env_file: [.env, .env.production]", with: "env_file: [/dev/null]")
            .replacingOccurrences(of: "env_file: .env.staging", with: "env_file: ./env/staging"))
        try folder.makeDirectory("site")
        try folder.write("deploy/env/staging", "A=1\n")
        let app = try AppFile.load(path: folder.path + "/deploy/./berth.yml")
        #expect(app.directory == folder.path + "/deploy")
        #expect(app.releaseDirectory() == folder.path + "/site")
        #expect(app.resolve("/etc/x") == "/etc/x")
        #expect(try app.settings(for: "production") == [])
        #expect(try app.settings(for: "staging") == [EnvVar(name: "A", value: "1")])
    }

    @Test func missingFilesAreReportedWhereTheAppFileNamesThem() throws {
        let folder = try Self.workspace([".env": "A=1\n"], release: false)
        defer { folder.remove() }
        let file = folder.path + "/berth.yml"
        let error = try #require(throws: ConfigErrors.self) { try AppFile.load(path: file) }
        #expect(error.errors.map(\.description) == [
            "\(file):3:9: release path 'app' does not exist (looked for \(folder.path)/app)",
            "\(file):11:22: env file '.env.production' of environment 'production' does not exist (looked for \(folder.path)/.env.production)",
            "\(file):14:15: env file '.env.staging' of environment 'staging' does not exist (looked for \(folder.path)/.env.staging)",
        ])
    }

    @Test func theReleasePathAndEnvFilesMustBeOfTheRightKind() throws {
        let folder = try Self.workspace([".env": "A=1\n", ".env.production": "", "app": "not a folder\n"], release: false)
        defer { folder.remove() }
        try folder.makeDirectory(".env.staging")
        let file = folder.path + "/berth.yml"
        let error = try #require(throws: ConfigErrors.self) { try AppFile.load(path: file) }
        #expect(error.errors.map(\.description) == [
            "\(file):3:9: release path 'app' is not a directory (\(folder.path)/app)",
            "\(file):14:15: env file '.env.staging' of environment 'staging' is a directory (\(folder.path)/.env.staging)",
        ])
    }

    /// Env file errors point into the env file; one shared by two environments is reported once.
    @Test func envFileErrorsPointIntoTheEnvFile() throws {
        let folder = try Self.workspace([".env": "A=1\nPORT=80\n", ".env.production": "B='x\n", ".env.staging": "C=1\n"])
        defer { folder.remove() }
        try folder.write("berth.yml", Self.appFile.replacingOccurrences(of: "env_file: .env.staging",
                                                                        with: "env_file: [.env, .env.staging]"))
        let error = try #require(throws: ConfigErrors.self) { try AppFile.load(path: folder.path + "/berth.yml") }
        #expect(error.errors.map(\.description) == [
            "\(folder.path)/.env:2:1: PORT is set by Berth for each slot (the service's port in blue, port + 1 in green); remove it from the env file",
            "\(folder.path)/.env.production:1:3: missing closing single quote",
        ])
    }

    @Test func envFilesAreNamedAsTheAppFileWas() throws {
        let config = try AppFile.parse(yaml: Self.appFile, file: "berth.yml")
        let nested = LoadedApp(config: config, file: "Examples/hello/berth.yml", directory: "/repo/Examples/hello")
        #expect(nested.displayPath(".env.production") == "Examples/hello/.env.production")
        #expect(nested.displayPath("/etc/shop.env") == "/etc/shop.env")
        #expect(LoadedApp(config: config, file: "berth.yml", directory: "/repo").displayPath(".env") == ".env")
    }

    @Test func settingsForAnUnknownEnvironment() throws {
        let folder = try Self.workspace()
        defer { folder.remove() }
        let file = folder.path + "/berth.yml"
        let app = try AppFile.load(path: file)
        let error = try #require(throws: ConfigErrors.self) { try app.settings(for: "prod") }
        #expect(error.description == "\(file):9:3: there is no environment 'prod' in the app file; choose one of: production, staging")
    }

    @Test func anAppFileThatCannotBeRead() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let missing = folder.path + "/berth.yml"
        #expect(throws: ConfigErrors([ConfigError(location: SourceLocation(file: missing),
                                                  message: "cannot read the app file: there is no file at '\(missing)'")])) {
            try AppFile.load(path: missing)
        }
        #expect((try? AppFile.load(path: missing)) == nil)
        try folder.makeDirectory("berth.yml")
        let error = try #require(throws: ConfigErrors.self) { try AppFile.load(path: missing) }
        #expect(error.description == "\(missing): cannot read the app file: '\(missing)' is a directory")
        let binary = folder.path + "/binary.yml"
        try Data([0x61, 0x70, 0x70, 0x3A, 0x20, 0xC3, 0x28]).write(to: URL(fileURLWithPath: binary))
        let notText = try #require(throws: ConfigErrors.self) { try AppFile.load(path: binary) }
        #expect(notText.description == "\(binary): cannot read the app file: '\(binary)' is not UTF-8 text")
    }

    @Test func loadReportsParseErrorsUnderTheGivenPath() throws {
        let folder = try Self.workspace()
        defer { folder.remove() }
        try folder.write("berth.yml", Self.appFile.replacingOccurrences(of: "port: 8000", with: "prot: 8000"))
        let error = try #require(throws: ConfigErrors.self) { try AppFile.load(path: folder.path + "/berth.yml") }
        #expect(error.description == "\(folder.path)/berth.yml:7:34: unknown key 'prot' in service 'web'; did you mean 'port'?")
    }

    /// The example app that `scripts/demo` deploys loads with its env files.
    @Test(.enabled(if: FileManager.default.fileExists(
        atPath: Repository.root.appendingPathComponent("Examples/hello/berth.yml").path)))
    func theExampleAppLoads() throws {
        let app = try AppFile.load(path: Repository.root.appendingPathComponent("Examples/hello/berth.yml").path)
        #expect(app.config.name == "hello")
        #expect(app.config.environments.map(\.name).contains("production"))
        for environment in app.config.environments {
            let settings = try app.settings(for: environment.name)
            #expect(!settings.contains { DotEnv.isReserved($0.name) })
        }
    }
}
