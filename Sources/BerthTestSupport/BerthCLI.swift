import Foundation

/// The repository this test build comes from (walks up from this file to Package.swift).
public enum Repository {
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("no Package.swift above \(#filePath)")
    }()
}

/// What a finished command printed and how it exited.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public var combined: String { stdout + stderr }
}

/// A problem with the test setup itself, said so that a person knows what to do.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs the real `berth` executable of this build, as a user would, with the static host engine.
public struct BerthCLI: Sendable {
    public let executable: String
    public let engine: String

    /// `BERTH_BIN` or `.build/debug/berth`; `BERTH_ENGINE` or `.build-static/release/berth-engine`
    /// (built by `scripts/test`, or `scripts/build`'s dist/).
    public static func locate() throws -> BerthCLI {
        let env = ProcessInfo.processInfo.environment
        let root = Repository.root.path
        let executable = env["BERTH_BIN"] ?? "\(root)/.build/debug/berth"
        let engines = [env["BERTH_ENGINE"], "\(root)/.build-static/release/berth-engine", "\(root)/dist/lib/berth/berth-engine"]
            .compactMap { $0 }
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestSetupError("no berth executable at \(executable); run 'swift build' first (or set BERTH_BIN).")
        }
        guard let engine = engines.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestSetupError("no static host engine (looked at \(engines.joined(separator: ", "))); build it with 'swift build -c release --scratch-path .build-static --static-swift-stdlib --product berth-engine' or run scripts/test.")
        }
        return BerthCLI(executable: executable, engine: engine)
    }

    /// The same `berth` with another host engine (e.g. one built from an earlier commit).
    public func with(engine: String) -> BerthCLI { BerthCLI(executable: executable, engine: engine) }

    /// Runs `berth ARGS` in `directory` and waits for it.
    public func run(_ arguments: [String], in directory: String, sshConfig: String) throws -> ProcessOutput {
        let process = try start(arguments, in: directory, sshConfig: sshConfig)
        return process.wait()
    }

    /// Starts `berth ARGS` without waiting, e.g. to kill it mid-deploy.
    public func start(_ arguments: [String], in directory: String, sshConfig: String) throws -> RunningProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_ENGINE"] = engine
        environment["BERTH_SSH_CONFIG"] = sshConfig
        return try RunningProcess.start([executable] + arguments, in: directory, environment: environment)
    }
}

/// A child process whose output is collected in files (no pipe can fill up and block it).
public final class RunningProcess: @unchecked Sendable {
    public let process: Process
    private let stdoutURL: URL
    private let stderrURL: URL

    public static func start(_ argv: [String], in directory: String? = nil,
                             environment: [String: String]? = nil) throws -> RunningProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0].contains("/") ? argv[0] : "/usr/bin/env")
        process.arguments = argv[0].contains("/") ? Array(argv.dropFirst()) : argv
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { process.environment = environment }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("berth-proc-\(UUID().uuidString)")
        let out = base.appendingPathExtension("out"), err = base.appendingPathExtension("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return RunningProcess(process: process, stdout: out, stderr: err)
    }

    private init(process: Process, stdout: URL, stderr: URL) {
        self.process = process
        self.stdoutURL = stdout
        self.stderrURL = stderr
    }

    public var pid: Int32 { process.processIdentifier }

    /// What it printed so far.
    public var stdoutSoFar: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    public func wait() -> ProcessOutput {
        process.waitUntilExit()
        let output = ProcessOutput(status: process.terminationStatus,
                                   stdout: (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "",
                                   stderr: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")
        try? FileManager.default.removeItem(at: stdoutURL)
        try? FileManager.default.removeItem(at: stderrURL)
        return output
    }

    /// Polls `condition` every 20 ms for up to `seconds`; true if it held.
    public static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}
