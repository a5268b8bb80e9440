import BerthCore
import Testing
@testable import BerthConfig

@Suite struct DotEnvTests {
    @Test func theFormat() throws {
        let variables = try DotEnv.parse("""
            # settings for production

            GREETING=hello world
            export DATABASE_URL=postgres://db/shop   # the main database
              INDENTED = spaced out\t
            URL=http://example.com/#top
            HASH=#not-a-comment
            EMPTY=
            ONLY_COMMENT= # nothing set
            SINGLE='literal $HOME \\n "quoted"'   # comment
            DOUBLE="line one\\nline \\"two\\" \\\\ \\$HOME"
            QUOTED_HASH="a # b"
            _under_score1=x
            """, file: ".env")
        #expect(variables == [
            EnvVar(name: "GREETING", value: "hello world"),
            EnvVar(name: "DATABASE_URL", value: "postgres://db/shop"),
            EnvVar(name: "INDENTED", value: "spaced out"),
            EnvVar(name: "URL", value: "http://example.com/#top"),
            EnvVar(name: "HASH", value: "#not-a-comment"),
            EnvVar(name: "EMPTY", value: ""),
            EnvVar(name: "ONLY_COMMENT", value: ""),
            EnvVar(name: "SINGLE", value: "literal $HOME \\n \"quoted\""),
            EnvVar(name: "DOUBLE", value: "line one\nline \"two\" \\ $HOME"),
            EnvVar(name: "QUOTED_HASH", value: "a # b"),
            EnvVar(name: "_under_score1", value: "x"),
        ])
    }

    @Test func windowsLineEndingsAndAByteOrderMark() throws {
        #expect(try DotEnv.parse("\u{FEFF}A=1\r\nB='2'\r\n", file: ".env")
            == [EnvVar(name: "A", value: "1"), EnvVar(name: "B", value: "2")])
    }

    /// A name set twice keeps its first position and takes its last value.
    @Test func aLaterValueWinsAndKeepsTheFirstPosition() throws {
        #expect(try DotEnv.parse("A=1\nB=2\nA=3\n", file: ".env")
            == [EnvVar(name: "A", value: "3"), EnvVar(name: "B", value: "2")])
    }

    @Test func mergingFilesFollowsTheSameRule() {
        let merged = DotEnv.merge([
            [EnvVar(name: "A", value: "1"), EnvVar(name: "B", value: "2")],
            [EnvVar(name: "C", value: "3"), EnvVar(name: "A", value: "4")],
        ])
        #expect(merged == [EnvVar(name: "A", value: "4"), EnvVar(name: "B", value: "2"), EnvVar(name: "C", value: "3")])
    }

    @Test func linesWithoutAnEqualsSign() {
        #expect(dotEnvProblems("A=1\nJUST_A_NAME\nexport\n  B C=1\n") == [
            ".env:2:1: expected KEY=value, found 'JUST_A_NAME'",
            ".env:3:1: expected KEY=value, found 'export'",
            ".env:4:3: expected KEY=value, found 'B C=1'",
        ])
    }

    @Test func namesAreLettersDigitsAndUnderscores() {
        let rule = "use letters, digits and '_', not starting with a digit"
        #expect(dotEnvProblems("1A=x\nA-B=x\nA.B=x\n=x\n") == [
            ".env:1:1: '1A' is not a valid variable name; \(rule)",
            ".env:2:1: 'A-B' is not a valid variable name; \(rule)",
            ".env:3:1: 'A.B' is not a valid variable name; \(rule)",
            ".env:4:1: '' is not a valid variable name; \(rule)",
        ])
    }

    @Test func berthSetsPortAndBerthVariables() {
        #expect(dotEnvProblems("PORT=9000\nexport BERTH_RELEASE=x\nPORTS=ok\nMY_BERTH_X=ok\n") == [
            ".env:1:1: PORT is set by Berth for each slot (the service's port in blue, port + 1 in green); remove it from the env file",
            ".env:2:8: BERTH_RELEASE is reserved: Berth sets BERTH_* variables itself; rename it",
        ])
        #expect(DotEnv.isReserved("PORT"))
        #expect(DotEnv.isReserved("BERTH_SLOT"))
        #expect(!DotEnv.isReserved("PORTS"))
    }

    @Test func quotesMustBeClosedOnTheSameLine() {
        #expect(dotEnvProblems("A='open\nB=\"open\nC=\"ends with \\\\\"\n") == [
            ".env:1:3: missing closing single quote",
            ".env:2:3: missing closing double quote",
        ])
    }

    @Test func onlyFourEscapesInDoubleQuotes() {
        #expect(dotEnvProblems("A=\"tab\\there\"\nB=\"end\\") == [
            ".env:1:7: unknown escape '\\t' in double quotes; use \\n, \\\", \\\\ or \\$",
            ".env:2:7: unknown escape '\\' at the end of the line in double quotes; use \\n, \\\", \\\\ or \\$",
        ])
    }

    @Test func onlyACommentMayFollowAClosingQuote() throws {
        #expect(dotEnvProblems("A='x' y\nB=\"x\"y\n") == [
            ".env:1:7: unexpected text after the closing quote; put comments after ' #'",
            ".env:2:6: unexpected text after the closing quote; put comments after ' #'",
        ])
        #expect(try DotEnv.parse("A='x'   # fine\nB=\"y\"#fine\n", file: ".env")
            == [EnvVar(name: "A", value: "x"), EnvVar(name: "B", value: "y")])
    }

    @Test func nulIsRejected() {
        #expect(dotEnvProblems("A=x\u{0}y\n") == [".env:1:4: NUL characters are not allowed"])
    }

    /// Columns count characters (Unicode scalars), as in the app file.
    @Test func columnsCountCharactersNotBytes() {
        #expect(dotEnvProblems("GRÜSSE='hallo\n") == [
            ".env:1:1: 'GRÜSSE' is not a valid variable name; use letters, digits and '_', not starting with a digit",
        ])
        #expect(dotEnvProblems("A=\"é\\q\"\n") == [
            ".env:1:5: unknown escape '\\q' in double quotes; use \\n, \\\", \\\\ or \\$",
        ])
    }
}
