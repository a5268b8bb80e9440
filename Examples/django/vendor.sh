#!/usr/bin/env bash
# Installs app/requirements.txt into app/vendor for the hosts' Python (CPython 3.11, x86_64 glibc),
# so a release carries its dependencies: the hosts have Debian's python3 and neither pip nor venv.
# Binary wheels only, so nothing is compiled here. Does nothing when app/vendor/.complete holds the
# sha256 of requirements.txt; delete app/vendor to force a fresh install.
set -euo pipefail
cd "$(dirname "$0")/app"

python=${PYTHON:-python3}
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [[ -f vendor/.complete && $(<vendor/.complete) == "$want" ]]; then
  echo "vendor/ is up to date"
  exit 0
fi

rm -rf vendor vendor.tmp
"$python" -m pip install --quiet --disable-pip-version-check --no-compile --root-user-action=ignore \
  --target vendor.tmp \
  --python-version 3.11 --implementation cp --abi cp311 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  --only-binary=:all: \
  -r requirements.txt
rm -rf vendor.tmp/bin                     # console scripts point at this machine's interpreter
echo "$want" > vendor.tmp/.complete
mv vendor.tmp vendor
echo "vendored into app/vendor ($(du -sh vendor | cut -f1))"
