import Glibc
import Subprocess

/// How a program the engine ran ended, with what it printed.
public struct CommandResult: Sendable, Equatable {
    /// The exit status; 128 + N when a signal N ended it; 127 when it could not be started.
    public var status: Int32
    public var output: String
    public var errorOutput: String

    public var succeeded: Bool { status == 0 }

    /// What the program said about its failure: stderr, else stdout, trimmed to its last lines.
    public var complaint: String {
        let text = errorOutput.isEmpty ? output : errorOutput
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        return lines.suffix(3).joined(separator: " ")
    }
}

/// Runs programs by argv, never through a shell (swift-subprocess, without Foundation).
public enum Commands {
    /// Bytes kept of a program's stdout or stderr; the engine only runs programs that print little.
    static let outputLimit = 1 << 20

    public static func run(_ argv: [String]) async -> CommandResult {
        await run(argv, input: .none)
    }

    /// Runs `argv` with the engine's own stdin as its stdin (e.g. `tar` reading the release that
    /// follows the plan on stdin).
    public static func runReadingStandardInput(_ argv: [String]) async -> CommandResult {
        await run(argv, input: .currentStandardInput)
    }

    static func run<Input: InputProtocol>(_ argv: [String], input: Input) async -> CommandResult {
        do {
            let result = try await Subprocess.run(
                .name(argv[0]), arguments: Arguments(Array(argv.dropFirst())), input: input,
                output: .string(limit: outputLimit), error: .string(limit: outputLimit))
            let status: Int32
            switch result.terminationStatus {
            case let .exited(code): status = code
            case let .signaled(signal): status = 128 + signal
            }
            return CommandResult(status: status, output: result.standardOutput,
                                 errorOutput: result.standardError)
        } catch {
            return CommandResult(status: 127, output: "", errorOutput: "could not run \(argv[0]): \(error)")
        }
    }
}
