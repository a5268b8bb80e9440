import Testing
@testable import BerthConfig

@Suite struct NameTests {
    @Test(arguments: ["a", "web", "web-1", "web_1", "0day", "a-", String(repeating: "x", count: 40)])
    func validNames(name: String) {
        #expect(Name.isValid(name))
    }

    @Test(arguments: ["", "..", ".", "-web", "_web", "Web", "web 1", "web/1", "web$", "we'b", "we\"b", "web.1",
                      "wéb", "web@1", String(repeating: "x", count: 41)])
    func invalidNames(name: String) {
        #expect(!Name.isValid(name))
    }

    @Test(arguments: ["example.com", "*.example.com", "localhost", "a-b.c-d.test", "xn--bcher-kva.example",
                      "1.2.3.4"])
    func validDomains(domain: String) {
        #expect(Domain.isValid(domain))
    }

    @Test(arguments: ["", "*", "*.", "Example.com", "a b.com", "a;b.com", "{a}.com", "a/b", "$a.com", "'a.com'",
                      "\"a.com\"", "a..com", ".a.com", "a.com.", "-a.com", "a-.com", "a.*.com", "**.a.com", "a_b.com",
                      String(repeating: "a", count: 64) + ".com"])
    func invalidDomains(domain: String) {
        #expect(!Domain.isValid(domain))
    }

    @Test func suggestionsAreCloseMatchesOnly() {
        let keys = ["path", "interval", "timeout", "attempts"]
        #expect(Suggestion.closest(to: "atempts", in: keys) == "attempts")
        #expect(Suggestion.closest(to: "timout", in: keys) == "timeout")
        #expect(Suggestion.closest(to: "pahts", in: keys) == nil)
        #expect(Suggestion.closest(to: "pth", in: keys) == "path")
        #expect(Suggestion.closest(to: "method", in: keys) == nil)
        #expect(Suggestion.closest(to: "prot", in: ["port", "roles"]) == "port")
        #expect(Suggestion.closest(to: "x", in: []) == nil)
    }
}
