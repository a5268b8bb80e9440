#!/usr/bin/env python3
"""A bounded HTTP load generator for Berth's zero-downtime tests and benchmarks (stdlib only).

Sends GET requests to one or more test hosts until it is told to stop (SIGTERM/SIGINT, or a line
on stdin / stdin closing with --stop-on-stdin) or --duration runs out (capped at 300 s), then
prints one JSON object with what it saw:

  requests, ok, failed, idle_close_retries, errors {reason: count}, statuses {code: count},
  versions {version: count}  (the "version" field of the example app's JSON answer)

Two kinds of client, as real ones behave:
  --mode new        a new TCP connection per request (Connection: close);
  --mode keepalive  persistent connections; a request that meets a connection the server closed
                    while idle (EOF before any response byte) is retried once on a new connection,
                    as browsers and curl do. Those retries are counted apart (idle_close_retries);
                    a failed retry counts as a failure.
Only addresses on this machine or its own test namespaces are ever targets.
"""
import argparse
import http.client
import json
import signal
import sys
import threading
import time
from collections import Counter

stop = threading.Event()
lock = threading.Lock()
stats = {"requests": 0, "ok": 0, "failed": 0, "idle_close_retries": 0}
errors = Counter()
statuses = Counter()
versions = Counter()


def record(status=None, error=None, body=b""):
    with lock:
        stats["requests"] += 1
        if error is not None:
            stats["failed"] += 1
            errors[error] += 1
            return
        statuses[str(status)] += 1
        if 200 <= status < 300:
            stats["ok"] += 1
            try:
                versions[json.loads(body).get("version", "?")] += 1
            except ValueError:
                versions["?"] += 1
        else:
            stats["failed"] += 1


def one_request(conn, path, host_header, close):
    headers = {"Host": host_header}
    if close:
        headers["Connection"] = "close"
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    return response.status, body


def worker_new(address, port, path, host_header, timeout):
    while not stop.is_set():
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
        try:
            status, body = one_request(conn, path, host_header, close=True)
            record(status=status, body=body)
        except Exception as exc:  # every failure is data here
            record(error=type(exc).__name__)
        finally:
            conn.close()


def worker_keepalive(address, port, path, host_header, timeout):
    conn = None
    while not stop.is_set():
        fresh = conn is None
        if conn is None:
            conn = http.client.HTTPConnection(address, port, timeout=timeout)
        try:
            status, body = one_request(conn, path, host_header, close=False)
            record(status=status, body=body)
            continue
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
            conn.close()
            conn = None
            if fresh:
                record(error=type(exc).__name__)
                continue
            # The server closed an idle keep-alive connection: retry once, as a browser would.
            with lock:
                stats["idle_close_retries"] += 1
            conn = http.client.HTTPConnection(address, port, timeout=timeout)
            try:
                status, body = one_request(conn, path, host_header, close=False)
                record(status=status, body=body)
            except Exception as retry_exc:
                conn.close()
                conn = None
                record(error="retry-" + type(retry_exc).__name__)
        except Exception as exc:
            conn.close()
            conn = None
            record(error=type(exc).__name__)
    if conn is not None:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", action="append", required=True, help="ADDRESS[:PORT] (repeatable)")
    parser.add_argument("--host-header", default="hello.test")
    parser.add_argument("--path", default="/")
    parser.add_argument("--mode", choices=["new", "keepalive"], default="new")
    parser.add_argument("--concurrency", type=int, default=2, help="clients per target")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (capped at 300)")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--stop-on-stdin", action="store_true", help="stop when stdin has a line or closes")
    parser.add_argument("--ready-file", help="touch this file once the first request has been answered")
    args = parser.parse_args()

    # A parent may hand down a blocked signal mask (Foundation's Process does): unblock what stops us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker = worker_new if args.mode == "new" else worker_keepalive
    threads = []
    for target in args.target:
        address, _, port = target.partition(":")
        for _ in range(args.concurrency):
            t = threading.Thread(target=worker, args=(address, int(port or 80), args.path, args.host_header, args.timeout))
            t.start()
            threads.append(t)
    if args.stop_on_stdin:
        threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    started = time.time()
    deadline = started + min(args.duration, 300.0)
    ready = False
    while not stop.is_set() and time.time() < deadline:
        if args.ready_file and not ready and stats["requests"] > 0:
            open(args.ready_file, "w").close()
            ready = True
        stop.wait(0.01)
    stop.set()
    for t in threads:
        t.join()
    result = dict(stats)
    result.update(seconds=round(time.time() - started, 3), errors=dict(errors), statuses=dict(statuses),
                  versions=dict(versions), mode=args.mode)
    print(json.dumps(result, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
