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
        out = sys.argv[1]
        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                n = len(os.listdir(out))
                with open(os.path.join(out, "post-%d.json" % n), "wb") as f:
                    f.write(body)
                self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
            def log_message(self, *args): pass
        server = http.server.HTTPServer((sys.argv[2], 0), Hook)
        threading.Timer(int(sys.argv[3]), server.shutdown).start()
        with open(os.path.join(out, "port"), "w") as f: f.write(str(server.server_port))
        server.serve_forever()
        """#
        let posts = directory + "/posts"
        try FileManager.default.createDirectory(atPath: posts, withIntermediateDirectories: true)
        let process = try RunningProcess.start(["/usr/bin/python3", "-c", script, posts, bindAddress, String(lifetime)])
        let portFile = posts + "/port"
        guard RunningProcess.waitUntil(seconds: 10, { FileManager.default.fileExists(atPath: portFile) }),
              let port = try? String(contentsOfFile: portFile, encoding: .utf8), !port.isEmpty else {
            process.signal(SIGKILL)
            throw TestSetupError("the webhook receiver did not start: \(process.wait().combined)")
        }
        try FileManager.default.removeItem(atPath: portFile)
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
