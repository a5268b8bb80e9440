import Foundation

/// A small local HTTP server (python3, on 127.0.0.1 unless told otherwise) that records every POST
/// body: the other end of a notification webhook in tests. It stops by itself after `lifetime` seconds.
/// Test hosts reach this machine at the testbed bridge's address (`Testbed.bridgeAddress`).
public final class WebhookReceiver: @unchecked Sendable {
    private let process: RunningProcess
    private let directory: String
    public let url: String

    public static func start(bindAddress: String = "127.0.0.1", lifetime: Int = 120) throws -> WebhookReceiver {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-hook-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = #"""
        import http.server, os, sys, threading
        out, ready = sys.argv[1], sys.argv[4]
        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                n = len(os.listdir(out))
                # Renamed into place whole, so a reader never parses half a body.
                with open(ready + ".post", "wb") as f:
                    f.write(body)
                os.replace(ready + ".post", os.path.join(out, "post-%06d.json" % n))
                self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
            def log_message(self, *args): pass
        server = http.server.HTTPServer((sys.argv[2], 0), Hook)
        threading.Timer(int(sys.argv[3]), server.shutdown).start()
        # Written whole, then renamed into place: whoever sees the file reads the whole port.
        with open(ready + ".tmp", "w") as f: f.write(str(server.server_port))
        os.replace(ready + ".tmp", ready)
        server.serve_forever()
        """#
        let posts = directory + "/posts"
        try FileManager.default.createDirectory(atPath: posts, withIntermediateDirectories: true)
        // The port file lives beside the posts, not among them, so it is never counted as one.
        let portFile = directory + "/port"
        let process = try RunningProcess.start(["/usr/bin/python3", "-c", script, posts, bindAddress, String(lifetime), portFile])
        var port: Int?
        _ = RunningProcess.waitUntil(seconds: 10) {
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
            return port != nil || !process.process.isRunning
        }
        guard let port else {
            let exited = !process.process.isRunning
            process.signal(SIGKILL)
            let output = process.wait().combined.trimmingCharacters(in: .whitespacesAndNewlines)
            throw TestSetupError(exited
                ? "the webhook receiver did not start: python3 exited before it wrote its port\(output.isEmpty ? " and printed nothing" : ": \(output)")."
                : "the webhook receiver did not start: it wrote no port to \(portFile) within 10 s\(output.isEmpty ? "" : "; it printed: \(output)").")
        }
        return WebhookReceiver(process: process, directory: directory, url: "http://\(bindAddress):\(port)/hook")
    }

    private init(process: RunningProcess, directory: String, url: String) {
        self.process = process
        self.directory = directory
        self.url = url
    }

    /// Every body received so far, in order, parsed as JSON objects.
    public func posts() -> [[String: Any]] {
        let posts = directory + "/posts"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: posts)) ?? []).sorted()
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: posts + "/" + name) else { return nil }
            return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        }
    }

    public func stop() {
        process.signal(SIGKILL)  // a Foundation Process child starts with SIGTERM blocked
        _ = process.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
