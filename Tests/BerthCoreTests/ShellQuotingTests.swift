import BerthCore
import Testing

@Suite struct ShellQuotingTests {
    @Test func safeWordsStayBare() {
        #expect(ShellQuoting.quote("/var/lib/berth/engine/berth-engine-ab12") == "/var/lib/berth/engine/berth-engine-ab12")
    }

    @Test func emptyWordIsQuoted() {
        #expect(ShellQuoting.quote("") == "''")
    }

    @Test func singleQuotesAreClosedEscapedAndReopened() {
        #expect(ShellQuoting.quote("it's") == #"'it'\''s'"#)
    }

    @Test func shellMetacharactersAreInert() {
        #expect(ShellQuoting.join(["echo", "$(rm -rf /)", "a;b", "x y"]) == "echo '$(rm -rf /)' 'a;b' 'x y'")
    }
}
