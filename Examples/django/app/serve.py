#!/usr/bin/env python3
"""The web service: gunicorn, vendored, on 127.0.0.1:$PORT (Berth gives each slot its port).

On SIGTERM gunicorn stops accepting, lets its workers finish their requests (up to the graceful
timeout) and exits: the drain Berth relies on. Extra arguments are passed on to gunicorn, and so
is GUNICORN_CMD_ARGS.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "vendor"))

from gunicorn.app.wsgiapp import run  # noqa: E402

if __name__ == "__main__":
    sys.argv = [
        "gunicorn", "site_config.wsgi",
        "--chdir", HERE,
        "--bind", f"127.0.0.1:{os.environ.get('PORT', '8100')}",
        "--workers", "2",
        "--graceful-timeout", "20",
        # gunicorn 24+ opens a control socket in $HOME; Berth's service accounts have none, and
        # both slots would share it.
        "--no-control-socket",
        *sys.argv[1:],
    ]
    sys.exit(run())
