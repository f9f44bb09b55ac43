#!/usr/bin/env bash
# Creates the Python virtualenv with the official baostock client 0.9.4 and psycopg2-binary
# 2.9.10 (for scripts/bench_peer.py); skips what is there.
# It lives outside the checkout (default /var/tmp/pg_baostock-venv) and is built on Debian's
# /usr/bin/python3, so the postgres OS user, which runs the end-to-end tests' backends, can
# execute it wherever the repository is cloned. `.venv` in the checkout links to it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
VENV=${BAOSTOCK_VENV:-/var/tmp/pg_baostock-venv}
if [ -x "$VENV/bin/python" ] && grep -q "^home = /usr/bin$" "$VENV/pyvenv.cfg" 2>/dev/null \
   && "$VENV/bin/python" -c 'import sys, importlib.metadata as m; sys.exit(0 if m.version("baostock") == "0.9.4" else 1)' 2>/dev/null; then
  echo "[setup] python: baostock 0.9.4 present in $VENV"
else
  echo "[setup] python: creating $VENV ($PY) with baostock==0.9.4"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check baostock==0.9.4
  chmod -R a+rX "$VENV"
fi
if "$VENV/bin/python" -c 'import sys, importlib.metadata as m; sys.exit(0 if m.version("psycopg2-binary") == "2.9.10" else 1)' 2>/dev/null; then
  echo "[setup] python: psycopg2-binary 2.9.10 present in $VENV"
else
  echo "[setup] python: installing psycopg2-binary==2.9.10 into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check psycopg2-binary==2.9.10
  chmod -R a+rX "$VENV"
fi
if [ "$(readlink .venv 2>/dev/null)" != "$VENV" ]; then
  rm -rf .venv
  ln -s "$VENV" .venv
fi
