import BerthCore
import Testing

@Suite struct EngineInvocationTests {
    let invocation = EngineInvocation(engineSHA256: "abc123")

    @Test func theEnginePathCarriesItsChecksum() {
        #expect(invocation.command(.deploy) == ["/var/lib/berth/engine/berth-engine-abc123", "deploy"])
        #expect(invocation.command(.lockRelease) == ["/var/lib/berth/engine/berth-engine-abc123", "lock-release"])
    }

    @Test func installPassesPathsAsPositionalArgumentsNotInsideTheScript() {
        let argv = invocation.install()
        #expect(argv.count == 6)
        #expect(Array(argv.prefix(2)) == ["sh", "-c"])
        #expect(!argv[2].contains("/var/lib/berth"))
        #expect(Array(argv.suffix(3)) == ["berth-engine-install", "/var/lib/berth/engine", "/var/lib/berth/engine/berth-engine-abc123"])
    }
}
