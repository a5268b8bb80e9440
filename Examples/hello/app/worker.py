#!/usr/bin/env python3
"""A background worker with no port: Berth supervises it like the web service, without a proxy."""
import os
import signal
import sys
import time

running = True


def stop(signum, frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
print(f"worker of release {os.environ.get('BERTH_RELEASE', '?')} started", flush=True)
while running:
    time.sleep(0.2)
print("worker stopped", flush=True)
sys.exit(0)
