#!/usr/bin/env python3
"""Berth's example app: a tiny HTTP service with no third-party dependencies.

It listens on 127.0.0.1:$PORT (Berth gives each slot its own port), answers `/health` once it is
ready, and says which release it is at `/`. On SIGTERM it stops accepting, finishes the requests it
has, and exits — the graceful shutdown Berth's drain relies on.

Knobs for tests: HELLO_FAIL_HEALTH=1 makes `/health` answer 503 forever (a release that must never
receive traffic); HELLO_START_DELAY (seconds, or a START_DELAY file in the release) delays readiness;
`/slow/<seconds>` answers like `/` after that long (at most 60 s): a long request held open while
nginx drains. `/smoke` answers 200 {"status": "ok"}, or 500 when the release has a FAIL_SMOKE file
(a release that is healthy but must fail its smoke test). With a FAIL_HEALTH_AFTER file (seconds),
`/health` answers 503 once the process has run that long, while every other path keeps serving (a
release that passes its health gate and goes bad later). With a LOG_REQUESTS file in the release,
every request is appended (slot, path, User-Agent) to media/requests-<version>.log.
"""
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version():
    try:
        with open(os.path.join(HERE, "VERSION")) as f:
            return f.read().strip()
    except OSError:
        return "unknown"


VERSION = read_version()
PORT = int(os.environ.get("PORT", "8000"))
FAIL_HEALTH = os.environ.get("HELLO_FAIL_HEALTH") == "1" or os.path.exists(os.path.join(HERE, "FAIL_HEALTH"))
FAIL_SMOKE = os.path.exists(os.path.join(HERE, "FAIL_SMOKE"))
def read_seconds(name):
    try:
        with open(os.path.join(HERE, name)) as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return None


FAIL_HEALTH_AFTER = read_seconds("FAIL_HEALTH_AFTER")
LOG_REQUESTS = os.path.exists(os.path.join(HERE, "LOG_REQUESTS"))
LOG_LOCK = threading.Lock()
STARTED = time.time()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and delayed ACKs
        # add 40 ms to every answer on a kept-alive connection (nginx keeps its upstreams alive).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        if LOG_REQUESTS:
            with LOG_LOCK, open(os.path.join(HERE, "media", f"requests-{VERSION}.log"), "a") as log:
                slot = os.environ.get("BERTH_SLOT", "")
                log.write(f"{slot} {self.path} {self.headers.get('User-Agent', '-')}\n")
        if self.path == "/smoke":
            if FAIL_SMOKE:
                self.reply(500, {"status": "broken", "version": VERSION})
            else:
                self.reply(200, {"status": "ok", "version": VERSION})
        elif self.path == "/health":
            late = FAIL_HEALTH_AFTER is not None and time.time() - STARTED > FAIL_HEALTH_AFTER
            if FAIL_HEALTH or late:
                self.reply(503, {"status": "unhealthy", "version": VERSION})
            else:
                self.reply(200, {"status": "ok", "version": VERSION})
        else:
            if self.path.startswith("/slow/"):
                try:
                    time.sleep(min(60.0, max(0.0, float(self.path[len("/slow/"):]))))
                except ValueError:
                    pass
            self.reply(200, {
                "app": "hello",
                "version": VERSION,
                "release": os.environ.get("BERTH_RELEASE", ""),
                "slot": os.environ.get("BERTH_SLOT", ""),
                "greeting": os.environ.get("GREETING", "hello"),
            })

    def reply(self, status, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass  # one line per request would drown the journal under load


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False       # finish in-flight requests on shutdown
    block_on_close = True
    allow_reuse_address = True
    request_queue_size = 512


def main():
    delay = float(os.environ.get("HELLO_START_DELAY", "0"))
    try:
        with open(os.path.join(HERE, "START_DELAY")) as f:
            delay = float(f.read().strip())
    except OSError:
        pass
    if delay:
        time.sleep(delay)
    server = Server(("127.0.0.1", PORT), Handler)

    def stop(signum, frame):
        # shutdown() blocks until serve_forever returns, so run it off the main thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"hello {VERSION} listening on 127.0.0.1:{PORT}", flush=True)
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    print(f"hello {VERSION} stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
