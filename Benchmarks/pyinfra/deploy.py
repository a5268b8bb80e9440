# The blue/green deploy of /work/shared/PERFORMANCE.md, written for pyinfra with its defaults:
# read the active slot, pick the idle port, upload and unpack the release tarball, write the env
# file, start and enable pybench@<new>, wait for /health, rewrite the nginx upstream, nginx -t,
# reload, wait for the old nginx workers to exit, stop and disable the old slot, record the new slot.
#
# The app is Examples/hello/app under its own name: unit pybench@.service (installed by
# Benchmarks/run's setup), files under /opt/pybench, ports 8700 (blue) / 8701 (green), nginx site
# /etc/nginx/conf.d/pybench.conf for Host pybench.test. It never touches Berth's files.
import os
from io import StringIO

from pyinfra import host
from pyinfra.facts.server import Command
from pyinfra.operations import files, server, systemd

ROOT = "/opt/pybench"
BASE_PORT = 8700
release = os.environ["PYBENCH_RELEASE"]
tarball = os.environ["PYBENCH_TARBALL"]

active = host.get_fact(Command, f"cat {ROOT}/active 2>/dev/null || echo none").strip()
new = "green" if active == "blue" else "blue"
port = BASE_PORT + (1 if new == "green" else 0)
release_dir = f"{ROOT}/releases/{release}"

files.put(name="Upload the release", src=tarball, dest=f"{release_dir}.tar.gz")
server.shell(
    name="Unpack the release and point the idle slot at it",
    commands=[f"mkdir -p {release_dir} {ROOT}/slots && tar -xzf {release_dir}.tar.gz -C {release_dir}"
              f" && ln -sfn {release_dir} {ROOT}/slots/{new}"],
)
files.put(name="Write the env file", src=StringIO(f"PORT={port}\nGREETING=hello from pyinfra\n"),
          dest=f"{ROOT}/{new}.env")
systemd.service(name=f"Start and enable pybench@{new}", service=f"pybench@{new}.service",
                running=True, enabled=True)
server.shell(
    name="Wait for /health",
    commands=[f"i=0; until curl -fs -o /dev/null http://127.0.0.1:{port}/health; do"
              f" i=$((i+1)); [ $i -lt 1000 ] || exit 1; sleep 0.01; done"],
)
files.put(
    name="Rewrite the nginx upstream",
    src=StringIO(
        "upstream pybench {\n"
        f"    server 127.0.0.1:{port};\n"
        "    keepalive 16;\n"
        "}\n"
        "server {\n"
        "    listen 80;\n"
        "    server_name pybench.test;\n"
        "    location / {\n"
        "        proxy_pass http://pybench;\n"
        "        proxy_http_version 1.1;\n"
        "        proxy_set_header Connection \"\";\n"
        "        proxy_set_header Host $host;\n"
        "    }\n"
        "}\n"
    ),
    dest="/etc/nginx/conf.d/pybench.conf",
)
# nginx -t, reload, then wait (at most 30 s) until the workers that ran before the reload are gone.
server.shell(
    name="nginx -t, reload and wait for the old workers",
    commands=[
        "set -e; nginx -t -q; m=$(cat /run/nginx.pid);"
        " old=$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v m=$m '$4 == m && $3 != \"Z\" {print $1}');"
        " systemctl reload nginx;"
        " i=0; while :; do left=0; for p in $old; do"
        " if [ -e /proc/$p ] && ! grep -q '^State:.*Z' /proc/$p/status 2>/dev/null; then left=1; fi; done;"
        " [ $left = 0 ] && break; i=$((i+1)); [ $i -lt 3000 ] || break; sleep 0.01; done"
    ],
)
if active in ("blue", "green"):
    systemd.service(name=f"Stop and disable pybench@{active}", service=f"pybench@{active}.service",
                    running=False, enabled=False)
server.shell(name="Record the new slot", commands=[f"echo {new} > {ROOT}/active"])
