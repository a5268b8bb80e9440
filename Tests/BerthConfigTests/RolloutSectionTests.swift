import BerthCore
import Testing
@testable import BerthConfig

@Suite struct RolloutSectionTests {
    @Test func everyKey() throws {
        let app = try config(top: "rollout:\n  batch: 2\n  pause: 1.5s\n  max_failures: 1\n")
        #expect(app.rollout == RolloutConfig(batch: .count(2), pauseMs: 1_500, maxFailures: 1))
    }

    @Test func aPercentageBatch() throws {
        #expect(try config(top: "rollout:\n  batch: 25%\n").rollout == RolloutConfig(batch: .percent(25)))
        #expect(try config(top: "rollout: {batch: \"100%\"}\n").rollout == RolloutConfig(batch: .percent(100)))
    }

    @Test func withoutRolloutThereIsNone() throws {
        #expect(try config(top: "").rollout == nil)
    }

    @Test func anEnvironmentHasItsOwn() throws {
        let app = try config(top: "environments:\n  production:\n    hosts: [web1]\n    rollout:\n      batch: 1\n")
        #expect(app.environments[0].rollout == RolloutConfig(batch: .count(1)))
        #expect(app.rollout == nil)
    }

    @Test func theBatchIsRequired() {
        #expect(problems(top: "rollout:\n  pause: 1s\n") == [
            "berth.yml:2:3: missing required key 'batch' in rollout",
        ])
    }

    @Test func badBatchSizesSayWhatIsAllowed() {
        #expect(problems(top: "rollout:\n  batch: 0%\n") == [
            "berth.yml:2:10: expected a batch size such as 2 or \"25%\" (1% to 100%), found '0%'",
        ])
        #expect(problems(top: "rollout:\n  batch: lots\n") == [
            "berth.yml:2:10: expected a batch size such as 2 or \"25%\", found 'lots'",
        ])
        #expect(problems(top: "rollout:\n  batch: 0\n") == [
            "berth.yml:2:10: expected a batch size such as 2 or \"25%\", found '0'",
        ])
    }

    @Test func aMisspeltKeySaysWhichOneWasMeant() {
        #expect(problems(top: "rollout:\n  batch: 1\n  max_failure: 2\n") == [
            "berth.yml:3:3: unknown key 'max_failure' in rollout; did you mean 'max_failures'?",
        ])
    }
}

@Suite struct NotifySectionTests {
    @Test func aWebhookAndACommand() throws {
        let app = try config(top: "notify:\n  webhook: https://hooks.example.com/T1\n  command: ./record --json\n")
        #expect(app.notify == NotifyConfig(webhook: "https://hooks.example.com/T1", command: "./record --json"))
    }

    @Test func theWebhookIsAnHTTPURL() {
        #expect(problems(top: "notify:\n  webhook: ftp://x\n") == [
            "berth.yml:2:12: the webhook must be an http:// or https:// URL without spaces or quotes, found 'ftp://x'",
        ])
    }

    @Test func anEmptyNotifySaysWhatItNeeds() {
        #expect(problems(top: "notify: {}\n") == [
            "berth.yml:1:9: notify needs a 'webhook', a 'command', or both",
        ])
    }
}
