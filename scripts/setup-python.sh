#!/usr/bin/env bash
# Creates .venv with the official baostock client 0.9.4; skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys, importlib.metadata as m; sys.exit(0 if m.version("baostock") == "0.9.4" else 1)' 2>/dev/null; then
  echo "[setup] python: baostock 0.9.4 present in .venv"
  exit 0
fi
echo "[setup] python: creating .venv with baostock==0.9.4"
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check baostock==0.9.4
