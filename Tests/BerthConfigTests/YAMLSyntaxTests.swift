import BerthCore
import Testing
@testable import BerthConfig

/// What libyaml rejects, and repeated keys (which Yams rejects one at a time, at the first copy).
@Suite struct YAMLSyntaxTests {
    @Test func aTabInTheIndentationSaysToUseSpaces() {
        #expect(problems("app: hello\nrelease:\n\tpath: app\n") == [
            "berth.yml:3:1: invalid YAML: found character that cannot start any token (while scanning for the next token that starts at line 3, column 1); indent with spaces, not tabs",
        ])
    }

    @Test func anUnclosedQuotePointsAtWhereTheFileEndsAndWhereTheQuoteOpened() {
        #expect(problems("app: hello\nrelease:\n  path: 'app\n") == [
            "berth.yml:4:1: invalid YAML: found unexpected end of stream (while scanning a quoted scalar that starts at line 3, column 9)",
        ])
    }

    @Test func anUnclosedListPointsAtTheNextToken() {
        #expect(problems("app: hello\nrelease:\n  shared: [media\n  keep: 3\n") == [
            "berth.yml:4:7: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence that starts at line 3, column 11)",
        ])
    }

    @Test func aSecondDocumentIsRejected() {
        #expect(problems("app: hello\n---\napp: other\n") == [
            "berth.yml:2:1: the app file must hold a single YAML document; this '---' starts another",
        ])
    }

    @Test func aValueWhereAKeyWasExpected() {
        #expect(problems("app: hello\nrelease:\n  path: app\n    keep: 3\n") == [
            "berth.yml:4:9: invalid YAML: mapping values are not allowed in this context; check the indentation, or quote a value that contains ': '",
        ])
    }

    @Test func commonMistakesGetAHint() {
        #expect(problems("app: hello\nrelease:\n  path: app\n keep: 3\n") == [
            "berth.yml:4:2: invalid YAML: did not find expected key (while parsing a block mapping that starts at line 1, column 1); check the indentation",
        ])
        #expect(problems("app: hello\nrelease:\n  build: `make`\n") == [
            "berth.yml:3:10: invalid YAML: found character that cannot start any token (while scanning for the next token that starts at line 3, column 10); quote the value",
        ])
        #expect(problems("app: hello\nrelease\n  path: app\n") == [
            "berth.yml:3:7: invalid YAML: could not find expected ':' (while scanning a simple key that starts at line 2, column 1); is a ':' missing after a key?",
        ])
    }

    @Test func aRepeatedKeyIsReportedAtTheSecondCopyAndTheFirstValueIsKept() {
        #expect(problems(top: "release:\n  path: app\n  keep: 3\n  keep: 0\n") == [
            "berth.yml:4:3: duplicate key 'keep' in release; the first is at line 3",
        ])
    }

    @Test func everyRepeatedKeyIsReportedInOneRun() {
        #expect(problems("""
            app: hello
            release:
              path: app
              path: app2
            hosts:
              web1: {address: a, roles: [web], address: b}
            services:
              web:
                command: run
                role: web
                command: run2
                command: run3
            environments:
              production:
                hosts: [web1]
            app: again
            """) == [
            "berth.yml:4:3: duplicate key 'path' in release; the first is at line 3",
            "berth.yml:6:36: duplicate key 'address' in host 'web1'; the first is at line 6",
            "berth.yml:11:5: duplicate key 'command' in service 'web'; the first is at line 9",
            "berth.yml:12:5: duplicate key 'command' in service 'web'; the first is at line 9",
            "berth.yml:16:1: duplicate key 'app' at the top level; the first is at line 1",
        ])
    }

    @Test func quotedAndPlainCopiesOfAKeyAreTheSameKey() {
        #expect(problems(top: "release:\n  path: app\n  'keep': 3\n  \"keep\": 4\n") == [
            "berth.yml:4:3: duplicate key 'keep' in release; the first is at line 3",
        ])
        // YAML tells the number 8000 from the string "8000"; as names they are the same.
        #expect(problems(top: "hosts:\n  8000: {address: a, roles: [web]}\n  '8000': {address: b, roles: [web]}\n"
                         + "environments:\n  production:\n    hosts: [8000]\n") == [
            "berth.yml:3:3: host '8000' is defined twice; the first is at line 2",
        ])
    }

    @Test func aRepeatedNameIsReportedWithItsSectionsWords() {
        #expect(problems(top: """
            hosts:
              web1:
                address: a
                roles: [web]
              web1:
                address: b
                roles: [web]
            """) == [
            "berth.yml:5:3: host 'web1' is defined twice; the first is at line 2",
        ])
    }

    @Test func keysMustBeText() {
        #expect(problems(top: "release:\n  path: app\n  [keep]: 3\n") == [
            "berth.yml:3:3: expected a name as key, found a list",
        ])
    }
}

@Suite struct YAMLAnchorTests {
    @Test func aliasesRepeatTheAnchoredValue() throws {
        let app = try config(top: """
            hosts:
              web1: {address: a, roles: &roles [web, jobs]}
              web2: {address: b, roles: *roles}
            """)
        #expect(app.hosts.map(\.roles) == [["web", "jobs"], ["web", "jobs"]])
    }

    /// An error inside an anchored value is reported once, at the anchor.
    @Test func anErrorInAnAnchoredValueIsReportedOnce() {
        #expect(problems(top: """
            hosts:
              web1: {address: a, roles: &roles [web, Jobs]}
              web2: {address: b, roles: *roles}
            """) == [
            "berth.yml:2:42: 'Jobs' is not a valid role name; use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit",
        ])
    }

    @Test func mergeKeysAreNotSupported() {
        #expect(problems(top: """
            services:
              web: &base
                command: run
                role: web
              jobs:
                <<: *base
                command: jobs
            """) == [
            "berth.yml:6:5: YAML merge keys ('<<') are not supported; write the keys out",
            "berth.yml:6:5: missing required key 'role' in service 'jobs'",
        ])
    }
}
