#!/usr/bin/env bash
# The cluster tests (tests/): the background worker and backfill jobs on a real
# running PostgreSQL cluster (PG_MAJOR=15, the default, or 18: scripts/pg-env.sh), driven from outside over psql. pgrx's #[pg_test]s run inside one
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
# UPGRADE_FROM=0.1.0 makes the tests' database an upgraded one (what CI runs): the library of
# that released version is built from its commit and installed in place of the current one, its
# extension created and a few days synced with it; then the current library goes back, the
# worker must wait for the update, ALTER EXTENSION pg_baostock UPDATE runs, every row of the old
# tables must be there unchanged and the schema must be object for object the one a fresh install
# makes (scripts/sql/schema-fingerprint.sql); the tests then run on that database.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/pg-env.sh
CLUSTER_DIR=${CLUSTER_DIR:-/var/tmp/pg_baostock-cluster}
CLUSTER_PGDATA=$CLUSTER_DIR/data
CLUSTER_PORT=${CLUSTER_PORT:-5498}
LOG=$CLUSTER_DIR/postgres.log

as_pg() { (cd "$CLUSTER_DIR" 2>/dev/null || cd /; sudo -u postgres "$@"); }
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

stop_cluster() {
  if [ -f "$CLUSTER_PGDATA/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_PGDATA" -m "$1" -w stop > /dev/null || true
  fi
}

EXTDIR=$("$PGBIN/pg_config" --sharedir)/extension
LIBDIR=$("$PGBIN/pg_config" --pkglibdir)
STASH=
EMULATOR_PID=

# Replaces the installed library with a new file (never rewriting the one a running cluster
# has mapped).
install_library() {
  cp "$1" "$LIBDIR/pg_baostock.so.new"
  mv "$LIBDIR/pg_baostock.so.new" "$LIBDIR/pg_baostock.so"
}
# The current library, set aside by this run while a released one is installed.
stash_library() {
  STASH=$(mktemp -d /var/tmp/pg_baostock-cluster-library.XXXXXX)
  cp "$LIBDIR/pg_baostock.so" "$STASH/"
}
restore_library() {
  if [ -n "$STASH" ] && [ -f "$STASH/pg_baostock.so" ]; then
    install_library "$STASH/pg_baostock.so"
    rm -rf "$STASH"
  fi
  STASH=
}

cleanup() {
  local rc=$?
  if [ -n "$EMULATOR_PID" ]; then kill "$EMULATOR_PID" 2>/dev/null || true; fi
  if [ "$rc" -ne 0 ] && [ -f "$LOG" ]; then
    printf '\n==> failed (exit %s): the last lines of %s\n' "$rc" "$LOG"
    tail -n 100 "$LOG" || true
  fi
  stop_cluster fast
  restore_library
  exit "$rc"
}

# A cluster an interrupted earlier run left behind.
stop_cluster immediate
rm -rf "$CLUSTER_DIR"
mkdir -p "$CLUSTER_DIR"
chown postgres:postgres "$CLUSTER_DIR"
trap cleanup EXIT

log "initdb and start PostgreSQL $PG_MAJOR in $CLUSTER_PGDATA (socket $CLUSTER_DIR, port $CLUSTER_PORT)"
as_pg "$PGBIN/initdb" -D "$CLUSTER_PGDATA" -A trust -E UTF8 --locale C.UTF-8 > /dev/null
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
start_cluster() { as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_PGDATA" -l "$LOG" -w -t 60 start > /dev/null; }
q() { "$PGBIN/psql" -U postgres -h "$CLUSTER_DIR" -p "$CLUSTER_PORT" -X -At -v ON_ERROR_STOP=1 "$@"; }

if [ -z "${UPGRADE_FROM:-}" ]; then
  start_cluster
  q -d postgres -c "CREATE EXTENSION pg_baostock" -c "CREATE EXTENSION pg_cron"
else
  # The released libraries are builds for PostgreSQL 15 (their code predates 18): on 18 the
  # current library takes the released SQL up, and there are no rows of the old library's.
  old_library=$([ "$PG_MAJOR" = 15 ] && echo 1 || echo 0)
  cargo build -q -p baostock-emulator
  if [ "$old_library" = 1 ]; then
    log "upgrade: the library of pg_baostock $UPGRADE_FROM (built from its commit)"
    library=$(bash scripts/released-library.sh "$UPGRADE_FROM")
    stash_library
    install_library "$library"
  else
    log "upgrade: the released SQL of pg_baostock $UPGRADE_FROM with the current library (PostgreSQL $PG_MAJOR)"
  fi
  cp "sql/released/pg_baostock--$UPGRADE_FROM.sql" "$EXTDIR/"
  emulator_port=$((CLUSTER_PORT + 1000))
  "${CARGO_TARGET_DIR:-target}"/debug/baostock-emulator --listen "127.0.0.1:$emulator_port" --profile fast > "$CLUSTER_DIR/emulator.log" 2>&1 &
  EMULATOR_PID=$!
  for _ in $(seq 100); do
    (exec 3<> "/dev/tcp/127.0.0.1/$emulator_port") 2> /dev/null && break
    kill -0 "$EMULATOR_PID" 2> /dev/null || { cat "$CLUSTER_DIR/emulator.log" >&2; exit 1; }
    sleep 0.1
  done
  start_cluster
  q -d postgres -c "ALTER SYSTEM SET baostock.host = '127.0.0.1'" -c "ALTER SYSTEM SET baostock.port = $emulator_port" \
    -c "SELECT pg_reload_conf()" > /dev/null
  q -d postgres -c "CREATE EXTENSION pg_baostock VERSION '$UPGRADE_FROM'" -c "CREATE EXTENSION pg_cron"
  if [ "$old_library" = 1 ]; then
    log "upgrade: pg_baostock $UPGRADE_FROM syncs a calendar, the securities and three days"
    q -d postgres -c "SELECT count(*) FROM baostock.sync_calendar('2023-12-01', '2024-01-31')" \
      -c "SELECT count(*) FROM baostock.sync_securities()" \
      -c "SELECT status FROM baostock.sync_date('2024-01-02')" -c "SELECT status FROM baostock.sync_date('2024-01-03')" \
      -c "SELECT status FROM baostock.sync_date('2024-01-04')" > /dev/null
  fi
  # Every row of every table, by the columns the old version has: the same digests after.
  digests() {
    q -d postgres -f tests/sql/table_digests.sql > "$CLUSTER_DIR/digest.sql"
    q -d postgres -f "$CLUSTER_DIR/digest.sql"
  }
  before=$(digests)
  echo "$before"
  if [ "$old_library" = 1 ] && ! grep -q "daily_bars [1-9]" <<< "$before"; then
    echo "upgrade: pg_baostock $UPGRADE_FROM stored no daily bars" >&2
    exit 1
  fi
  # What a DBA gave daily_bars, which 0.3.0 makes again with its columns in a new order: grants
  # stop the update (one made by it would become the extension's own, which pg_dump leaves out),
  # an index comes along (dropped before the schema is compared with a fresh install).
  q -d postgres -c "CREATE ROLE upgrade_analyst NOLOGIN" -c "CREATE ROLE upgrade_column_reader NOLOGIN" \
    -c "GRANT SELECT, UPDATE ON baostock.daily_bars TO upgrade_analyst WITH GRANT OPTION" \
    -c "GRANT SELECT (code, date, close) ON baostock.daily_bars TO upgrade_column_reader" \
    -c "CREATE INDEX daily_bars_close_of_dba ON baostock.daily_bars (close) WHERE close > 100" > /dev/null
  stop_cluster fast
  restore_library
  log "upgrade: the current library; the worker waits for ALTER EXTENSION pg_baostock UPDATE"
  start_cluster
  for _ in $(seq 100); do
    grep -q "waiting in database \"postgres\": the pg_baostock library is [0-9.]* but this database has pg_baostock $UPGRADE_FROM (Run ALTER EXTENSION pg_baostock UPDATE" "$LOG" && break
    sleep 0.1
  done
  if ! grep -q "waiting in database \"postgres\": the pg_baostock library is [0-9.]* but this database has pg_baostock $UPGRADE_FROM (Run ALTER EXTENSION pg_baostock UPDATE" "$LOG"; then
    echo "upgrade: the worker did not say it waits for the update" >&2
    exit 1
  fi
  # Until the update, the functions the old SQL has refuse to work on it, with a hint.
  if stale=$(q -d postgres -v VERBOSITY=verbose -c "SELECT * FROM baostock.sync_date('2024-01-05')" 2>&1); then
    echo "upgrade: sync_date ran on the $UPGRADE_FROM schema with the current library" >&2
    exit 1
  fi
  if ! grep -q "55000" <<< "$stale" || ! grep -q "ALTER EXTENSION pg_baostock UPDATE" <<< "$stale"; then
    echo "upgrade: sync_date on the $UPGRADE_FROM schema did not refuse with 55000 and the hint:" >&2
    echo "$stale" >&2
    exit 1
  fi
  echo "before the update: $(grep -m1 ERROR <<< "$stale")"
  # A trigger of the DBA's on daily_bars cannot come along: the update refuses, changing nothing.
  if refused=$(q -d postgres -v VERBOSITY=verbose -c "BEGIN" \
      -c "CREATE FUNCTION pg_temp.dba_audit() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'" \
      -c "CREATE TRIGGER dba_audit BEFORE UPDATE ON baostock.daily_bars FOR EACH ROW EXECUTE FUNCTION pg_temp.dba_audit()" \
      -c "ALTER EXTENSION pg_baostock UPDATE" 2>&1); then
    echo "upgrade: ALTER EXTENSION UPDATE went through with a trigger of the DBA's on daily_bars" >&2
    exit 1
  fi
  if ! grep -q "55000" <<< "$refused" || ! grep -q "trigger dba_audit" <<< "$refused"; then
    echo "upgrade: a trigger on daily_bars did not stop the update with 55000 and its name:" >&2
    echo "$refused" >&2
    exit 1
  fi
  echo "with a trigger of the DBA's: $(grep -m1 ERROR <<< "$refused")"
  if refused=$(q -d postgres -v VERBOSITY=verbose -c "ALTER EXTENSION pg_baostock UPDATE" 2>&1); then
    echo "upgrade: ALTER EXTENSION UPDATE went through with grants of the DBA's on daily_bars" >&2
    exit 1
  fi
  if ! grep -q "55000" <<< "$refused" || ! grep -q "UPDATE to upgrade_analyst" <<< "$refused" ||
    ! grep -q "SELECT (close) to upgrade_column_reader" <<< "$refused"; then
    echo "upgrade: the DBA's grants on daily_bars did not stop the update with 55000 and their list:" >&2
    echo "$refused" >&2
    exit 1
  fi
  echo "with grants of the DBA's: $(grep -m1 ERROR <<< "$refused")"
  q -d postgres -c "REVOKE ALL ON baostock.daily_bars FROM upgrade_analyst CASCADE" \
    -c "REVOKE ALL (code, date, close) ON baostock.daily_bars FROM upgrade_column_reader" \
    -c "DROP ROLE upgrade_analyst" -c "DROP ROLE upgrade_column_reader" > /dev/null
  # The digests in the update's transaction: once it commits, the worker brings the calendar
  # up to date. digest.sql still lists the old version's columns.
  after=$({ echo "ALTER EXTENSION pg_baostock UPDATE;"; cat "$CLUSTER_DIR/digest.sql"; } | q -d postgres -q -1 -f -)
  q -d postgres -c "SELECT 'extension version ' || extversion FROM pg_extension WHERE extname = 'pg_baostock'"
  if [ "$before" != "$after" ]; then
    echo "upgrade: stored rows changed:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    exit 1
  fi
  expect_index=$(q -d postgres -c "SELECT count(*) FROM pg_index WHERE indrelid = 'baostock.daily_bars'::regclass
                                     AND indexrelid = 'baostock.daily_bars_close_of_dba'::regclass")
  if [ "$expect_index" != 1 ]; then
    echo "upgrade: the DBA's index on daily_bars did not come along" >&2
    exit 1
  fi
  echo "daily_bars made again with the DBA's index"
  q -d postgres -c "DROP INDEX baostock.daily_bars_close_of_dba" > /dev/null
  log "upgrade: the upgraded schema against a fresh install"
  q -d postgres -c "CREATE DATABASE fresh_install"
  q -d fresh_install -c "CREATE EXTENSION pg_baostock"
  q -d postgres -f scripts/sql/schema-fingerprint.sql > "$CLUSTER_DIR/schema-upgraded.txt"
  q -d fresh_install -f scripts/sql/schema-fingerprint.sql > "$CLUSTER_DIR/schema-fresh.txt"
  q -d postgres -c "DROP DATABASE fresh_install"
  if ! diff "$CLUSTER_DIR/schema-fresh.txt" "$CLUSTER_DIR/schema-upgraded.txt" > "$CLUSTER_DIR/schema.diff"; then
    echo "upgrade: the schema after ALTER EXTENSION UPDATE differs from a fresh install (< fresh, > upgraded):" >&2
    cat "$CLUSTER_DIR/schema.diff" >&2
    exit 1
  fi
  echo "same $(wc -l < "$CLUSTER_DIR/schema-fresh.txt") catalog lines"
  # The old version's rows have no digest: the first sync of their day rewrites them (counted
  # as updated), the next finds them unchanged.
  if [ "$old_library" = 1 ]; then
    bars=$(q -d postgres -c "SELECT count(*) FROM baostock.daily_bars WHERE date = '2024-01-02'")
    first=$(q -d postgres -c "SELECT rows_updated || ' ' || rows_unchanged FROM baostock.sync_date('2024-01-02', force => true)")
    again=$(q -d postgres -c "SELECT rows_updated || ' ' || rows_unchanged FROM baostock.sync_date('2024-01-02', force => true)")
    if [ "$first" != "$bars 0" ] || [ "$again" != "0 $bars" ]; then
      echo "upgrade: re-syncing a day of $UPGRADE_FROM's rows ($bars bars): updated/unchanged '$first', then '$again'" >&2
      exit 1
    fi
    echo "a day of $UPGRADE_FROM's rows synced again: $bars updated, then $bars unchanged"
  fi
  # The worker took the upgraded database up.
  for _ in $(seq 100); do
    [ "$(q -d postgres -c "SELECT count(*) FROM baostock.worker_starts")" -gt 0 ] && break
    sleep 0.1
  done
  if [ "$(q -d postgres -c "SELECT count(*) FROM baostock.worker_starts")" -eq 0 ]; then
    echo "upgrade: the worker did not start on the upgraded database" >&2
    exit 1
  fi
  kill "$EMULATOR_PID"
  EMULATOR_PID=
fi

export BAOSTOCK_CLUSTER_DIR=$CLUSTER_DIR
export BAOSTOCK_CLUSTER_PORT=$CLUSTER_PORT
export BAOSTOCK_CLUSTER_PGDATA=$CLUSTER_PGDATA
export BAOSTOCK_CLUSTER_LOG=$LOG
export PGBIN

if [ $# -eq 0 ]; then
  log "SQL-only objects under pg_regress (scripts/test-regress.sh: tests/regress)"
  bash scripts/test-regress.sh "$CLUSTER_DIR" "$CLUSTER_PORT"
fi

# The tests of this shared cluster (prometheus and pg_upgrade start clusters of their own: tiers
# of their own in scripts/test.sh).
shared=(cluster dump frequencies publication schedule security tracking unattended)
own=(citus pg_upgrade prometheus)
for f in tests/*.rs; do
  t=$(basename "$f" .rs)
  [[ " ${shared[*]} ${own[*]} " == *" $t "* ]] || { echo "test-cluster.sh: tests/$t.rs is in neither list" >&2; exit 1; }
done
log "cargo test -p pg_baostock-cluster-tests ${shared[*]} (one test at a time: they share the cluster)"
cargo test --no-fail-fast -p pg_baostock-cluster-tests --lib "${shared[@]/#/--test=}" -- --test-threads=1 "$@"
