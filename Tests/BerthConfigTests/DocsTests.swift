import BerthCore
import Foundation
import Testing
@testable import BerthConfig

/// docs/berth-yml.md cannot drift from the code: its example parses, its sample errors are what
/// Berth prints, its env file sample parses, and it mentions every key.
@Suite struct DocsTests {
    static func doc() throws -> String {
        try String(contentsOf: Repository.root.appendingPathComponent("docs/berth-yml.md"), encoding: .utf8)
    }

    /// The contents of the first fenced block that opens with exactly "```<language>".
    static func firstBlock(_ language: String, in text: String) -> String? {
        var lines: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if var block = lines {
                if line == "```" { return block.joined(separator: "\n") + "\n" }
                block.append(line)
                lines = block
            } else if line == "```\(language)" {
                lines = []
            }
        }
        return nil
    }

    @Test func theExampleParsesToTheFixturesModel() throws {
        let example = try #require(Self.firstBlock("yaml", in: try Self.doc()))
        let documented = try AppFile.parse(yaml: example, file: "docs/berth-yml.md")
        #expect(documented == (try AppFile.parse(yaml: try Fixture.text("valid.yml"), file: "valid.yml")))
        #expect(documented.services.count == 2)
    }

    @Test func theSampleErrorsAreWhatBerthPrints() throws {
        let doc = try Self.doc()
        let example = try #require(Self.firstBlock("yaml", in: doc))
        let samples = try #require(Self.firstBlock("", in: doc))
        let broken = example.replacingOccurrences(of: "      attempts: 100", with: "      atempts: 100")
            .replacingOccurrences(of: "    hosts: [web1]", with: "    hosts: [web3]")
        #expect(problems(broken).joined(separator: "\n") + "\n" == samples)
    }

    @Test func theSandboxExampleParses() throws {
        let doc = try Self.doc()
        let start = try #require(doc.range(of: "### Accounts and the sandbox"))
        let example = try #require(Self.firstBlock("yaml", in: String(doc[start.upperBound...])))
        let app = try AppFile.parse(yaml: example, file: "docs/berth-yml.md")
        #expect(app.services.map(\.user) == [nil, "www-data", "root"])
        #expect(app.services[0].hardening == [UnitDirective("MemoryDenyWriteExecute", "yes"), UnitDirective("ProtectHome", "read-only")])
        #expect(app.services.map(\.sandbox) == [true, true, false])
    }

    @Test func theEnvFileSampleParses() throws {
        let sample = try #require(Self.firstBlock("sh", in: try Self.doc()))
        #expect(try DotEnv.parse(sample, file: ".env") == [
            EnvVar(name: "GREETING", value: "hello world"),
            EnvVar(name: "DATABASE_URL", value: "postgres://db/shop"),
            EnvVar(name: "URL", value: "http://example.com/#top"),
            EnvVar(name: "LITERAL", value: "no $expansion, no \\escapes"),
            EnvVar(name: "MOTD", value: "line one\nline \"two\""),
            EnvVar(name: "EMPTY", value: ""),
        ])
    }

    @Test func everyKeyIsDocumented() throws {
        let doc = try Self.doc()
        let keys = AppFileSection.keys + ReleaseSection.keys + HostSection.keys + ServiceSection.keys
            + HealthSection.keys + ProxySection.keys + EnvironmentSection.keys + RolloutSection.keys + NotifySection.keys
            + ReleaseStoreSection.keys + SmokeSection.keys + HooksSection.keys + HooksSection.hookKeys + WatchSection.keys + MigrateSection.keys + PreflightSection.keys + MaintenanceSection.keys
        for key in keys {
            #expect(doc.contains("| `\(key)` |") || doc.contains("## `\(key)`"), "docs/berth-yml.md does not document '\(key)'")
        }
    }
}
