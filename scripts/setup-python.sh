#!/usr/bin/env bash
# Creates .venv with the official baostock client 0.9.4; skips what is already there.
# The venv is built on Debian's /usr/bin/python3 so that the postgres OS user (which runs the
# end-to-end tests' backends) can execute it too.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
if [ -x .venv/bin/python ] && grep -q "^home = /usr/bin$" .venv/pyvenv.cfg 2>/dev/null \
   && .venv/bin/python -c 'import sys, importlib.metadata as m; sys.exit(0 if m.version("baostock") == "0.9.4" else 1)' 2>/dev/null; then
  echo "[setup] python: baostock 0.9.4 present in .venv"
  exit 0
fi
echo "[setup] python: creating .venv ($PY) with baostock==0.9.4"
rm -rf .venv
"$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check baostock==0.9.4
