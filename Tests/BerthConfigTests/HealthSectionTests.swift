import BerthCore
import Testing
@testable import BerthConfig

@Suite struct HealthSectionTests {
    /// `services:` with one service `web` on port 8000 whose `health:` is `health`, indented under it.
    static func web(health: String) -> String {
        "services:\n  web:\n    command: run\n    role: web\n    port: 8000\n    health:\n"
            + health.split(separator: "\n", omittingEmptySubsequences: false).map { "      \($0)" }.joined(separator: "\n")
    }

    @Test func everyKey() throws {
        let health = try config(top: Self.web(health: "path: /up?full=1\ninterval: 1s\ntimeout: 250ms\nattempts: 10000"))
            .services[0].health
        #expect(health == HealthCheck(path: "/up?full=1", intervalMs: 1_000, timeoutMs: 250, attempts: 10_000))
    }

    @Test func missingKeysTakeTheDefaults() throws {
        let health = try config(top: Self.web(health: "attempts: 5")).services[0].health
        #expect(health == HealthCheck(path: "/health", intervalMs: 100, timeoutMs: 2_000, attempts: 5))
        let empty = try config(top: "services:\n  web: {command: run, role: web, port: 8000, health: {}}\n")
        #expect(empty.services[0].health == HealthCheck())
    }

    @Test func aMisspeltKeySaysWhichOneWasMeant() {
        #expect(problems(top: Self.web(health: "atempts: 3")) == [
            "berth.yml:7:7: unknown key 'atempts' in health; did you mean 'attempts'?",
        ])
        #expect(problems(top: Self.web(health: "method: HEAD")) == [
            "berth.yml:7:7: unknown key 'method' in health; allowed keys: path, interval, timeout, attempts",
        ])
    }

    @Test func thePathStartsWithASlashAndHasNoSpaces() {
        #expect(problems(top: Self.web(health: "path: health")) == [
            "berth.yml:7:13: health path must start with '/', as in '/health', found 'health'",
        ])
        #expect(problems(top: Self.web(health: "path: \"/he alth\"")) == [
            "berth.yml:7:13: health path must not contain whitespace, quotes or backslashes, found '/he alth'",
        ])
        #expect(problems(top: Self.web(health: "path: /x'y")) == [
            "berth.yml:7:13: health path must not contain whitespace, quotes or backslashes, found '/x'y'",
        ])
    }

    @Test func attemptsAreBetween1And10000() {
        #expect(problems(top: Self.web(health: "attempts: 0")) == [
            "berth.yml:7:17: 'attempts' must be between 1 and 10000, found 0",
        ])
        #expect(problems(top: Self.web(health: "attempts: 10001")) == [
            "berth.yml:7:17: 'attempts' must be between 1 and 10000, found 10001",
        ])
    }

    @Test func intervalAndTimeoutAreDurations() {
        #expect(problems(top: Self.web(health: "interval: fast\ntimeout: 0s")) == [
            "berth.yml:7:17: expected a duration such as 250ms, 2s, 1.5s or 1m for 'interval', found 'fast'",
            "berth.yml:8:16: 'timeout' must be longer than 0, found '0s'",
        ])
    }

    @Test func healthMustBeAMapping() {
        #expect(problems(top: "services:\n  web: {command: run, role: web, port: 8000, health: /health}\n") == [
            "berth.yml:2:54: expected a mapping with the keys path, interval, timeout, attempts for 'health', found '/health'",
        ])
    }
}
