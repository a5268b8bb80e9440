import BerthCore
import Testing
@testable import BerthConfig

@Suite struct ReleaseSectionTests {
    @Test func onlyThePathIsRequired() throws {
        let release = try config(top: "release:\n  path: dist/site\n").release
        #expect(release == ReleaseConfig(path: "dist/site", build: nil, keep: 5, shared: []))
    }

    @Test func everyKey() throws {
        let release = try config(top: """
            release:
              path: /srv/build/app
              build: make release ENV=prod
              keep: 100
              shared: [media, uploads_2, tmp-cache]
            """).release
        #expect(release == ReleaseConfig(path: "/srv/build/app", build: "make release ENV=prod", keep: 100,
                                         shared: ["media", "uploads_2", "tmp-cache"]))
    }

    @Test func aMissingPathPointsAtTheSection() {
        #expect(problems(top: "release:\n  keep: 3\n") == ["berth.yml:2:3: missing required key 'path' in release"])
        #expect(problems(top: "release: {}\n") == ["berth.yml:1:10: missing required key 'path' in release"])
    }

    @Test func theSectionMustBeAMapping() {
        #expect(problems(top: "release: app\n") == [
            "berth.yml:1:10: expected a mapping with the keys path, build, keep, shared for 'release', found 'app'",
        ])
    }

    @Test func thePathIsOneLineOfText() {
        #expect(problems(top: "release:\n  path: \"\"\n") == ["berth.yml:2:9: 'path' must not be empty"])
        #expect(problems(top: "release:\n  path: \"app\\ndir\"\n") == ["berth.yml:2:9: 'path' must be a single line"])
        #expect(problems(top: "release:\n  path: \"app\\0\"\n") == ["berth.yml:2:9: 'path' must not contain NUL characters"])
        #expect(problems(top: "release:\n  path: [app]\n") == ["berth.yml:2:9: expected a path for 'path', found a list"])
    }

    @Test func theBuildCommandIsOneLine() {
        #expect(problems(top: "release:\n  path: app\n  build: |\n    make\n    make install\n") == [
            "berth.yml:3:10: 'build' must be a single line",
        ])
        #expect(problems(top: "release:\n  path: app\n  build: \"  \"\n") == ["berth.yml:3:10: 'build' must not be empty"])
    }

    @Test func keepIsBetween1And100() {
        #expect(problems(top: "release:\n  path: app\n  keep: 0\n") == ["berth.yml:3:9: 'keep' must be between 1 and 100, found 0"])
        #expect(problems(top: "release:\n  path: app\n  keep: 101\n") == [
            "berth.yml:3:9: 'keep' must be between 1 and 100, found 101",
        ])
        #expect(problems(top: "release:\n  path: app\n  keep: five\n") == [
            "berth.yml:3:9: expected a number for 'keep', found 'five'",
        ])
        #expect(problems(top: "release:\n  path: app\n  keep: 2.5\n") == [
            "berth.yml:3:9: expected a whole number for 'keep', found '2.5'",
        ])
        #expect(problems(top: "release:\n  path: app\n  keep: \"5\"\n") == [
            "berth.yml:3:9: expected a number for 'keep', found the string '5'; remove the quotes",
        ])
    }

    @Test func sharedDirectoriesAreNames() {
        let rule = "use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        #expect(problems(top: "release:\n  path: app\n  shared: [media, ../etc, Media, media]\n") == [
            "berth.yml:3:19: '../etc' is not a valid shared directory name; \(rule)",
            "berth.yml:3:27: 'Media' is not a valid shared directory name; \(rule)",
            "berth.yml:3:34: shared directory 'media' is listed twice in 'shared'",
        ])
        #expect(problems(top: "release:\n  path: app\n  shared: media\n") == [
            "berth.yml:3:11: expected a list of shared directory names for 'shared', found 'media'; write [media]",
        ])
        #expect(problems(top: "release:\n  path: app\n  shared: [{a: b}]\n") == [
            "berth.yml:3:12: expected a shared directory name in 'shared', found a mapping",
        ])
    }

    @Test func unknownKeysListTheAllowedOnes() {
        #expect(problems(top: "release:\n  path: app\n  keeps: 3\n  exclude: [tmp]\n") == [
            "berth.yml:3:3: unknown key 'keeps' in release; did you mean 'keep'?",
            "berth.yml:4:3: unknown key 'exclude' in release; allowed keys: path, build, keep, shared",
        ])
    }
}
