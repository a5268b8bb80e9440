import Testing
@testable import BerthConfig

@Suite struct DurationTests {
    @Test(arguments: [
        ("250ms", 250), ("2s", 2_000), ("1.5s", 1_500), ("1m", 60_000), ("0.5m", 30_000), ("1.25s", 1_250),
        ("2", 2_000), ("90", 90_000), ("007s", 7_000), ("1440m", 86_400_000),
    ])
    func validDurationsAreMilliseconds(text: String, milliseconds: Int) {
        #expect(DurationText.milliseconds(text) == .success(milliseconds))
    }

    @Test(arguments: [
        ("", DurationText.Problem.malformed), ("s", .malformed), ("2h", .malformed), ("-1s", .malformed),
        ("1e3", .malformed), (".5s", .malformed), ("5.s", .malformed), ("2 s", .malformed), ("1.2.3s", .malformed),
        ("1.5", .fractionWithoutUnit), ("1.0005s", .subMillisecond), ("0.5ms", .subMillisecond),
        ("0", .zero), ("0ms", .zero), ("0.0s", .zero),
        ("1441m", .tooLong), ("99999999999999999999s", .tooLong),
    ])
    func invalidDurationsSayWhy(text: String, problem: DurationText.Problem) {
        #expect(DurationText.milliseconds(text) == .failure(problem))
    }

    /// In the app file: each problem as a message at the value.
    @Test func messagesInTheAppFile() throws {
        func timeout(_ value: String) -> [String] {
            problems(top: "services:\n  web:\n    command: run\n    role: web\n    stop_timeout: \(value)\n")
        }
        #expect(try config(top: "services:\n  web: {command: run, role: web, stop_timeout: 3}\n")
            .services[0].stopTimeoutMs == 3_000)
        #expect(timeout("1.5") == [
            "berth.yml:5:19: expected a duration such as 250ms, 2s, 1.5s or 1m for 'stop_timeout', found '1.5'; plain numbers are whole seconds, so write 1.5s",
        ])
        #expect(timeout("0") == ["berth.yml:5:19: 'stop_timeout' must be longer than 0, found '0'"])
        #expect(timeout("0.1ms") == ["berth.yml:5:19: 'stop_timeout' must be a whole number of milliseconds, found '0.1ms'"])
        #expect(timeout("2d") == [
            "berth.yml:5:19: expected a duration such as 250ms, 2s, 1.5s or 1m for 'stop_timeout', found '2d'",
        ])
        #expect(timeout("25h") == [
            "berth.yml:5:19: expected a duration such as 250ms, 2s, 1.5s or 1m for 'stop_timeout', found '25h'",
        ])
        #expect(timeout("2000m") == ["berth.yml:5:19: 'stop_timeout' must be at most 24 hours, found '2000m'"])
        #expect(timeout("true") == [
            "berth.yml:5:19: expected a duration such as 250ms, 2s, 1.5s or 1m for 'stop_timeout', found 'true'",
        ])
        #expect(timeout("") == [
            "berth.yml:5:18: expected a duration such as 250ms, 2s, 1.5s or 1m for 'stop_timeout', found nothing",
        ])
    }
}
