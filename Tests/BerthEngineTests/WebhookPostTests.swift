import BerthCore
import BerthEngine
import Foundation
import Testing

/// The webhook's curl for real, against a local receiver that answers after a second: the body
/// arrives intact, and while curl waits its command line (what `ps` shows every user) has no URL.
@Suite struct WebhookDeliveryTests {
    @Test func curlPostsTheBodyAndTheURLIsNotOnItsCommandLine() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let script = #"""
        import http.server, os, sys, time
        out = sys.argv[1]
        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(1)
                with open(os.path.join(out, "body"), "wb") as f: f.write(body)
                with open(os.path.join(out, "path"), "w") as f: f.write(self.path)
                self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
            def log_message(self, *args): pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
        with open(os.path.join(out, "port"), "w") as f: f.write(str(server.server_port))
        server.handle_request()
        """#
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        receiver.arguments = ["-c", script, dir.path]
        try receiver.run()
        defer { kill(receiver.processIdentifier, SIGKILL); receiver.waitUntilExit() }
        #expect(waitUntil { FileManager.default.fileExists(atPath: "\(dir.path)/port") })
        let port = try String(contentsOfFile: "\(dir.path)/port", encoding: .utf8)
        let url = "http://127.0.0.1:\(port)/services/T000/B000/S3CRET-TOKEN"
        let body = #"{"text":"shop: catch-up \"quoted\" \\ back\nslash ✓"}"#

        let post = Task { await Commands.run(WebhookPost.argv, feeding: Array(WebhookPost.stdin(url: url, body: body).utf8)) }
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(5)
        while seen.isEmpty, Date() < deadline {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int32(name) != nil {
                guard let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline"), !data.isEmpty else { continue }
                let argv = String(decoding: data, as: UTF8.self).split(separator: "\0").map(String.init)
                if argv.first?.hasSuffix("curl") == true, argv.contains("POST") { seen.append(argv.joined(separator: " ")) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let result = await post.value
        #expect(result.succeeded, "\(result.complaint)")
        #expect(!seen.isEmpty, "curl was never seen running")
        #expect(seen.allSatisfy { !$0.contains("S3CRET") && !$0.contains("127.0.0.1") })
        #expect(try String(contentsOfFile: "\(dir.path)/body", encoding: .utf8) == body)
        #expect(try String(contentsOfFile: "\(dir.path)/path", encoding: .utf8) == "/services/T000/B000/S3CRET-TOKEN")
    }
}
