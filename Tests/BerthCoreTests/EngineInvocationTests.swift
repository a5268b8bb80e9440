import BerthCore
import Foundation
import Testing

@Suite struct EngineInvocationTests {
    let invocation = EngineInvocation(engineSHA256: "abc123")

    @Test func theEngineRunsOnlyAfterItsChecksumMatches() {
        let argv = invocation.command(.deploy)
        #expect(Array(argv.prefix(2)) == ["sh", "-c"])
        #expect(Array(argv.suffix(4)) == ["berth-engine", "/var/lib/berth/engine/berth-engine-abc123", "abc123", "deploy"])
        #expect(argv[2] == """
            [ -f "$1" ] || exit 127
            sum=$(sha256sum < "$1") || exit 127
            if [ "${sum%% *}" != "$2" ]; then
              rm -f "$1"
              echo "berth-engine: $1 does not match its SHA-256 (${sum%% *}); it was removed" >&2
              exit 127
            fi
            exec "$1" "$3"
            """)
        #expect(invocation.command(.lockRelease).last == "lock-release")
    }

    @Test func installPassesPathsAsPositionalArgumentsNotInsideTheScript() {
        let argv = invocation.install()
        #expect(argv.count == 7)
        #expect(Array(argv.prefix(2)) == ["sh", "-c"])
        #expect(!argv[2].contains("/var/lib/berth"))
        #expect(argv[2].contains(#"if [ "${sum%% *}" != "$3" ]; then"#))
        #expect(Array(argv.suffix(4)) == ["berth-engine-install", "/var/lib/berth/engine", "/var/lib/berth/engine/berth-engine-abc123", "abc123"])
    }

    @Test func asRootPassesTheArgvAfterAFixedScript() {
        let argv = EngineInvocation.asRoot(invocation.command(.deploy))
        #expect(Array(argv.prefix(2)) == ["sh", "-c"])
        #expect(!argv[2].contains("/var/lib/berth"))
        #expect(argv[2].contains(#"exec sudo -n -- "$@""#))
        #expect(argv[3] == "berth-as-root")
        #expect(Array(argv.dropFirst(4)) == invocation.command(.deploy))
    }

    /// The script itself, run here: as root it runs the argv; a missing program is 127 either way.
    @Test func asRootRunsTheCommandAndKeepsTheMissingProgramStatus() throws {
        #expect(try run(EngineInvocation.asRoot(["echo", "hi there"])) == (0, "hi there\n"))
        #expect(try run(EngineInvocation.asRoot(["/nonexistent/berth-engine-x", "deploy"])).status == 127)
    }

    private func run(_ argv: [String]) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
