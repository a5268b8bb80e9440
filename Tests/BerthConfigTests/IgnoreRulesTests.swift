import BerthCore
import Foundation
import Testing
@testable import BerthConfig

/// `.berthignore` means what `.gitignore` means: single rules first, then the same tree and rules
/// given to `git ls-files --others --exclude-standard` and to `ReleaseFiles`, compared file by file.
@Suite struct IgnoreRulesTests {
    func excluded(_ rules: String, _ path: String, directory: Bool = false) -> Bool {
        IgnoreRules(text: rules).excludes(path, isDirectory: directory)
    }

    @Test func commentsBlankLinesAndTrailingSpaces() {
        let rules = IgnoreRules(text: "# comment\n\n*.log   \n\\#hash\ntrail\\ \n\\!bang\r\n")
        #expect(rules.patterns.map(\.text) == ["*.log", "\\#hash", "trail\\ ", "\\!bang"])
        #expect(excluded("*.log   \n", "a.log"))
        #expect(excluded("\\#hash\n", "#hash"))
        #expect(!excluded("#hash\n", "#hash"))
        #expect(excluded("trail\\ \n", "trail "))
        #expect(excluded("\\!bang\n", "!bang"))
    }

    @Test func aNameWithoutSlashMatchesAtAnyDepthAndOneWithASlashFromTheTop() {
        #expect(excluded("build\n", "a/b/build"))
        #expect(excluded("/build\n", "build"))
        #expect(!excluded("/build\n", "a/build"))
        #expect(excluded("doc/*.md\n", "doc/a.md"))
        #expect(!excluded("doc/*.md\n", "x/doc/a.md"))
        #expect(!excluded("doc/*.md\n", "doc/api/a.md"), "* does not cross '/'")
    }

    @Test func aTrailingSlashMatchesDirectoriesOnly() {
        #expect(excluded("build/\n", "build", directory: true))
        #expect(!excluded("build/\n", "build"))
    }

    @Test func doubleStars() {
        #expect(excluded("**/deep\n", "deep", directory: true))
        #expect(excluded("**/deep\n", "a/b/deep", directory: true))
        #expect(excluded("a/**/d.txt\n", "a/d.txt"))
        #expect(excluded("a/**/d.txt\n", "a/b/c/d.txt"))
        #expect(excluded("dir/**\n", "dir/x/y"))
        #expect(!excluded("dir/**\n", "dir", directory: true))
        #expect(excluded("a**b\n", "axxb"))
        #expect(!excluded("x/a**b\n", "x/a/b"), "a ** not between slashes is a *")
    }

    @Test func classesAndEscapes() {
        #expect(excluded("[ab].txt\n", "a.txt"))
        #expect(!excluded("[!ab].txt\n", "a.txt"))
        #expect(excluded("[^ab].txt\n", "c.txt"))
        #expect(excluded("[[:upper:]]*\n", "Readme"))
        #expect(!excluded("[[:nope:]]*\n", "Readme"), "an unknown class matches nothing")
        #expect(excluded("[]]*\n", "]x"))
        #expect(excluded("x\\?y\n", "x?y"))
        #expect(!excluded("x\\?y\n", "xzy"))
        #expect(!excluded("[a-\n", "[a-"), "an unclosed class matches nothing")
    }

    @Test func theLastMatchingPatternWinsAndNegationReincludes() {
        #expect(!excluded("*.log\n!keep.log\n", "keep.log"))
        #expect(excluded("!keep.log\n*.log\n", "keep.log"))
    }

    // MARK: Against git

    /// Every kind of name the rules below can trip on.
    static let tree = [
        "a.txt", "b.log", "c.LOG", ".hidden", "#hash", "!bang", "sp ace", "trail ", "x?y", "[br]", "star*",
        "back\\slash", "é.txt", "Readme", "e", "ee",
        "dir/a.txt", "dir/b.log", "dir/.hidden", "dir/sub/a.txt", "dir/sub/deep/x.md", "dir/sub/keep.log",
        "build/out.o", "build/keep.txt", "build/sub/x.o", "src/build/y.o",
        "doc/readme.md", "doc/api/index.html", "doc/api/x.txt",
        "foo/bar", "foo/x/bar", "foo/x/y/bar", "foobar/bar", "afoo/bar", "fooz/bar",
        "a/b/c/d.txt", "a/d.txt", "a/x.txt", "a/bb",
        "node_modules/p/index.js", "src/node_modules/q.js", "logs/2024/a.log", "logs/keep",
    ]

    static let pool = [
        "*.log", "*.LOG", "!keep.log", "build/", "build", "/build", "!build/keep.txt", "!build/", "**/deep", "dir/**",
        "dir/**/a.txt", "**/a.txt", "a/**/d.txt", "/a.txt", "a.txt", "doc/*.md", "doc/**/*.html", "foo/**/bar",
        "foo**/bar", "*oo/bar", "f?o", "[ab].txt", "[!a]*.txt", "[^a-c]*", "[[:upper:]]*", "[[:alpha:]]*.txt", "[a-",
        "\\#hash", "#hash", "\\!bang", "sp ace", "trail\\ ", "trail ", "node_modules/", "!src/node_modules/", "logs/*",
        "!logs/keep", ".*", "!.gitignore", "x\\?y", "\\[br\\]", "star\\*", "back\\\\slash", "*", "!*/", "!dir/", "**",
        "/**/x.md", "e*", "dir/sub", "dir/sub/", "*.txt/", "a/b", "a/b/", "***", "a/***/d.txt", "[z-a]*", "[]]*", "[!]]*",
        "foo/", "*/bar", "/*/bar", "?", "??????", "  ", "!", "\\", "a\\", "é*", "[[:punct:]]*", "!*.txt", "*/", "/*",
        "doc/**", "!doc/api/", "doc/**/x.txt", "**/sub/**", "a/*/c", "a/**/c/", "**/b/", "[[:digit:]]*/", "logs/**/*.log",
    ]

    /// Files of `tree` that `git ls-files --others --exclude-standard` lists with `rules` as the
    /// repository's only `.gitignore`.
    func gitKeeps(_ rules: String, in repository: String) throws -> Set<String> {
        try rules.write(toFile: repository + "/.gitignore", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-c", "core.excludesFile=/dev/null", "-c", "core.quotePath=false", "-C", repository,
                             "ls-files", "--others", "--exclude-standard", "-z"]
        process.environment = ["HOME": repository, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return Set(data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.filter { $0 != ".gitignore" })
    }

    func berthKeeps(_ rules: String, in repository: String) throws -> Set<String> {
        let files = try ReleaseFiles.scan(root: repository, rules: IgnoreRules(text: ".git\n", defaults: true)
            .followed(by: IgnoreRules(text: rules)), protected: [:])
        let all = Set(Self.tree)
        return Set(files.members.map { String($0.dropFirst(2)) }.filter(all.contains))
    }

    @Test func berthLeavesOutWhatGitIgnoresForManyRuleFiles() throws {
        let repository = try TemporaryFolder()
        defer { repository.remove() }
        for path in Self.tree { try repository.write(path, "x\n") }
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "init", "-q", repository.path]
        git.environment = ["HOME": repository.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        try git.run()
        git.waitUntilExit()
        try "".write(toFile: repository.path + "/.git/info/exclude", atomically: true, encoding: .utf8)

        var cases = Self.pool.map { $0 + "\n" }  // each pattern alone
        var seed: UInt64 = 0x9E3779B97F4A7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(bound))
        }
        for _ in 0..<150 {
            cases.append((0..<(1 + next(6))).map { _ in Self.pool[next(Self.pool.count)] }.joined(separator: "\n") + "\n")
        }
        var differences: [String] = []
        var leavingSomethingOut = 0
        for rules in cases {
            let expected = try gitKeeps(rules, in: repository.path)
            if expected.count < Self.tree.count { leavingSomethingOut += 1 }
            let actual = try berthKeeps(rules, in: repository.path)
            if expected != actual {
                differences.append("rules \(rules.debugDescription): git keeps but Berth leaves out \(expected.subtracting(actual).sorted()), Berth keeps but git leaves out \(actual.subtracting(expected).sorted())")
            }
        }
        #expect(leavingSomethingOut > cases.count / 2, "the rules must exclude something to compare")
        #expect(differences.isEmpty, "\(differences.count) of \(cases.count):\n\(differences.prefix(10).joined(separator: "\n"))")
    }
}
