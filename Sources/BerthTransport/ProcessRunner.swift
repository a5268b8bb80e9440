import BerthCore
import Subprocess
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// How a command ended, with what it printed.
public struct CommandResult: Sendable, Equatable {
    /// The exit status, or 128 + the signal number for a command killed by a signal (as shells do).
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    public var succeeded: Bool { status == 0 }
}

/// A command could not even be started (not found, not executable).
public struct LaunchError: Error, CustomStringConvertible {
    public let argv: [String]
    public let reason: String
    public var description: String { "could not run '\(argv.first ?? "")': \(reason)" }
}

/// Runs argv (never a shell string) and collects or streams its output.
public enum ProcessRunner {
    static let outputLimit = 16 * 1024 * 1024

    /// Runs `argv` to completion, feeding it `stdin`, and collects stdout and stderr.
    public static func run(_ argv: [String], stdin: [UInt8] = [], workingDirectory: String? = nil)
        async throws -> CommandResult
    {
        let result: ExecutionResult<Void, StringOutput<UTF8>, StringOutput<UTF8>>
        do {
            result = try await Subprocess.run(
                executable(argv), arguments: Arguments(Array(argv.dropFirst())),
                workingDirectory: workingDirectory.map { FilePath($0) },
                input: .array(stdin), output: .string(limit: outputLimit), error: .string(limit: outputLimit))
        } catch {
            throw LaunchError(argv: argv, reason: "\(error)")
        }
        return CommandResult(status: status(result.terminationStatus), stdout: result.standardOutput ?? "",
                             stderr: result.standardError ?? "")
    }

    /// Runs `argv` and hands each stdout line to `onLine` as it arrives. `onLine` may write more
    /// input through the `StandardInput` it gets; stdin is closed when `onLine` asks to or when
    /// stdout ends. stderr is collected.
    public static func stream(_ argv: [String], initialInput: [UInt8],
                              onLine: @escaping @Sendable (String, StandardInput) async throws -> Void)
        async throws -> CommandResult
    {
        let result: ExecutionResult<Void, SequenceOutput, StringOutput<UTF8>>
        do {
            result = try await Subprocess.run(
                executable(argv), arguments: Arguments(Array(argv.dropFirst())),
                input: .inputWriter, output: .sequence, error: .string(limit: outputLimit)
            ) { execution in
                let input = StandardInput(writer: execution.standardInputWriter)
                await input.write(initialInput)
                for try await line in execution.standardOutput.strings() {
                    try await onLine(line, input)
                }
                await input.close()
            }
        } catch let error as SubprocessError {
            throw LaunchError(argv: argv, reason: "\(error)")
        }
        return CommandResult(status: status(result.terminationStatus), stdout: "",
                             stderr: result.standardError ?? "")
    }

    /// Resolves a bare name through PATH once per process: letting the spawner try every PATH entry
    /// costs a failed exec per entry on every run.
    private static func executable(_ argv: [String]) -> Executable {
        let first = argv.first ?? ""
        if first.contains("/") { return .path(FilePath(first)) }
        return resolved.withLock { cache in
            if let path = cache[first] { return .path(FilePath(path)) }
            var searchPath = "/usr/bin:/bin"
            if let value = getenv("PATH") { searchPath = String(cString: value) }
            let candidates: [String] = searchPath.split(separator: ":").map { String($0) + "/" + first }
            let path = candidates.first { candidate in access(candidate, X_OK) == 0 }
            guard let path else { return .name(first) }
            cache[first] = path
            return .path(FilePath(path))
        }
    }

    private static let resolved = Mutex<[String: String]>([:])

    private static func status(_ status: TerminationStatus) -> Int32 {
        switch status {
        case let .exited(code): code
        case let .signaled(signal): 128 + signal
        }
    }
}

/// The write end of a streamed command's stdin. Writes after the command stopped reading are
/// dropped: the command's exit status and output say what happened.
public actor StandardInput {
    private let writer: StandardInputWriter
    private var closed = false

    init(writer: StandardInputWriter) {
        self.writer = writer
    }

    public func write(_ bytes: [UInt8]) async {
        guard !closed, !bytes.isEmpty else { return }
        do { _ = try await writer.write(bytes) } catch { closed = true }
    }

    public func close() async {
        guard !closed else { return }
        closed = true
        try? await writer.finish()
    }
}
