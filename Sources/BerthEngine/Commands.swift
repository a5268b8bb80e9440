import Glibc
import Subprocess

/// How a program the engine ran ended, with what it printed.
public struct CommandResult: Sendable, Equatable {
    /// The exit status; 128 + N when a signal N ended it; 127 when it could not be started.
    public var status: Int32
    public var output: String
    public var errorOutput: String

    public init(status: Int32, output: String, errorOutput: String) {
        self.status = status
        self.output = output
        self.errorOutput = errorOutput
    }

    public var succeeded: Bool { status == 0 }

    /// What the program said about its failure: stderr, else stdout, trimmed to its last lines.
    public var complaint: String {
        let text = errorOutput.isEmpty ? output : errorOutput
        // `\r\n` (ssh prints it) is one Character in Swift: split on every kind of line break.
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
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

    /// Runs `argv` with `input` as its stdin (a small body, e.g. a webhook's JSON).
    public static func run(_ argv: [String], feeding input: [UInt8]) async -> CommandResult {
        await run(argv, input: .array(input))
    }

    /// Runs `argv` with its stdout written to `fd` (e.g. a download into a file); `output` is empty.
    public static func run(_ argv: [String], writingTo fd: Int32) async -> CommandResult {
        do {
            let result = try await Subprocess.run(
                .name(argv[0]), arguments: Arguments(Array(argv.dropFirst())), input: .none,
                output: .fileDescriptor(.init(rawValue: fd), closeAfterSpawningProcess: false),
                error: .string(limit: outputLimit))
            return CommandResult(status: status(of: result.terminationStatus), output: "", errorOutput: result.standardError)
        } catch {
            return CommandResult(status: 127, output: "", errorOutput: "could not run \(argv[0]): \(error)")
        }
    }

    private static func status(of termination: TerminationStatus) -> Int32 {
        switch termination {
        case let .exited(code): code
        case let .signaled(signal): 128 + signal
        }
    }

    static func run<Input: InputProtocol>(_ argv: [String], input: Input) async -> CommandResult {
        do {
            let result = try await Subprocess.run(
                .name(argv[0]), arguments: Arguments(Array(argv.dropFirst())), input: input,
                output: .string(limit: outputLimit), error: .string(limit: outputLimit))
            return CommandResult(status: status(of: result.terminationStatus), output: result.standardOutput,
                                 errorOutput: result.standardError)
        } catch {
            return CommandResult(status: 127, output: "", errorOutput: "could not run \(argv[0]): \(error)")
        }
    }
}
