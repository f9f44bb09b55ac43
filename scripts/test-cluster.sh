#!/usr/bin/env bash
# The cluster tests (tests/): the background worker and backfill jobs on a real
# running PostgreSQL cluster (PG_MAJOR=15, the default, or 18: scripts/lib/pg-env.sh), driven from outside over psql. pgrx's #[pg_test]s run inside one
# transaction that never commits, so a job queued there is never seen by the worker; these
# tests queue, wait, cancel, kill -9 the worker and restart the cluster from the outside.
#
# Assumes pg_baostock is installed into that PostgreSQL (`cargo pgrx install` or
# `cargo pgrx test` did it; CLUSTER_INSTALL=1 runs `cargo pgrx install` first). Run as root
# (every PostgreSQL binary runs as the postgres OS user); wipes and recreates the cluster each
# time, and always stops it on exit. Extra arguments go to the test binary (a test name filter):
#
#   bash scripts/test-cluster.sh
#   bash scripts/test-cluster.sh cancel_stops
#
# UPGRADE_FROM=0.1.0 makes the tests' database an upgraded one (what CI runs): tests/upgrade.rs
# makes it with that release's library and SQL, fills it, and updates it to this version with
# its checks (rows kept, the schema a fresh install's); the tests then run on that database.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/pg-env.sh
. scripts/lib/cluster.sh
CLUSTER_DIR=${CLUSTER_DIR:-/var/tmp/pg_baostock-cluster}
CLUSTER_PGDATA=$CLUSTER_DIR/data
CLUSTER_PORT=${CLUSTER_PORT:-5498}
LOG=$CLUSTER_DIR/postgres.log

log() { printf '\n==> %s\n' "$*"; }

if [ "${CLUSTER_INSTALL:-0}" = 1 ]; then
  log "cargo pgrx install"
  cargo pgrx install --pg-config "$PG_CONFIG" "${PG_FEATURES[@]}"
fi
if [ ! -f "$("$PGBIN/pg_config" --pkglibdir)/pg_baostock.so" ]; then
  echo "pg_baostock is not installed into $PGBIN/..: run cargo pgrx install --pg-config $PGBIN/pg_config" >&2
  echo "(or CLUSTER_INSTALL=1 bash scripts/test-cluster.sh)" >&2
  exit 1
fi
# The referee of the comparisons: the official Python client (skips what is there).
bash scripts/setup-python.sh

cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -f "$LOG" ]; then
    printf '\n==> failed (exit %s): the last lines of %s\n' "$rc" "$LOG"
    tail -n 100 "$LOG" || true
  fi
  cluster_stop "$CLUSTER_PGDATA" fast
  exit "$rc"
}

# A cluster an interrupted earlier run left behind.
cluster_stop "$CLUSTER_PGDATA" immediate
rm -rf "$CLUSTER_DIR"
cluster_dir "$CLUSTER_DIR"
trap cleanup EXIT

log "initdb and start PostgreSQL $PG_MAJOR in $CLUSTER_PGDATA (socket $CLUSTER_DIR, port $CLUSTER_PORT)"
cluster_initdb "$CLUSTER_PGDATA"
cat >> "$CLUSTER_PGDATA/postgresql.conf" <<EOF

# scripts/test-cluster.sh
listen_addresses = ''
unix_socket_directories = '$CLUSTER_DIR'
port = $CLUSTER_PORT
shared_preload_libraries = 'pg_baostock,pg_cron'
cron.database_name = 'postgres'
baostock.worker_database = 'postgres'
log_min_messages = info
EOF
# pg_cron 1.6 (built for 18) runs schedules in cron.timezone, which 1.4 (Debian's for 15) lacks:
# a zone neither GMT nor China's, so the tests see schedule_daily() convert to it.
if [ "$PG_MAJOR" != 15 ]; then
  echo "cron.timezone = 'Asia/Tokyo'" >> "$CLUSTER_PGDATA/postgresql.conf"
fi
q() { "$PGBIN/psql" -U postgres -h "$CLUSTER_DIR" -p "$CLUSTER_PORT" -X -At -v ON_ERROR_STOP=1 "$@"; }

cluster_start "$CLUSTER_PGDATA" "$LOG"
export BAOSTOCK_CLUSTER_DIR=$CLUSTER_DIR
export BAOSTOCK_CLUSTER_PORT=$CLUSTER_PORT
export BAOSTOCK_CLUSTER_PGDATA=$CLUSTER_PGDATA
export BAOSTOCK_CLUSTER_LOG=$LOG
export PGBIN
if [ -z "${UPGRADE_FROM:-}" ]; then
  q -d postgres -c "CREATE EXTENSION pg_baostock" -c "CREATE EXTENSION pg_cron"
else
  log "the database made by pg_baostock $UPGRADE_FROM and updated (tests/upgrade.rs)"
  UPGRADE_FROM=$UPGRADE_FROM cargo test -p pg_baostock-cluster-tests --test upgrade -- --nocapture
fi

if [ $# -eq 0 ]; then
  log "SQL-only objects under pg_regress (scripts/test-regress.sh: tests/regress)"
  bash scripts/test-regress.sh "$CLUSTER_DIR" "$CLUSTER_PORT"
fi

# The tests of this shared cluster (upgrade makes its database, above; citus, package,
# prometheus and pg_upgrade start clusters of their own: tiers of their own in scripts/test.sh).
shared=(cluster dump frequencies fundamentals membership publication schedule security tracking unattended)
own=(upgrade citus package pg_upgrade prometheus)
for f in tests/*.rs; do
  t=$(basename "$f" .rs)
  [[ " ${shared[*]} ${own[*]} " == *" $t "* ]] || { echo "test-cluster.sh: tests/$t.rs is in neither list" >&2; exit 1; }
done
log "cargo test -p pg_baostock-cluster-tests ${shared[*]} (one test at a time: they share the cluster)"
cargo test --no-fail-fast -p pg_baostock-cluster-tests --lib "${shared[@]/#/--test=}" -- --test-threads=1 "$@"
