#!/usr/bin/env bash
# The Citus tests (issue 20, first part): a real Citus 13.2.2 cluster of three local nodes (a
# coordinator and two workers, scripts/citus-cluster.sh) with pg_baostock preloaded on each,
# and beside it, on the coordinator's instance, a database without Citus: the single node.
# The same days are synced into both from one emulator, and what is stored must be equal row for
# row (keys, digests, adjusted prices), with the distributed rows in the shards on both workers
# and none in the coordinator's shell tables; distribute() and the syncs refuse clearly where
# they cannot run. Assumes pg_baostock installed for PostgreSQL 15 (`cargo pgrx install`);
# builds (once, cached) and installs Citus itself. Run as root.
#
#   bash scripts/test-citus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PGBIN=/usr/lib/postgresql/15/bin
DIR=${CITUS_TEST_DIR:-/var/tmp/pg_baostock-citus-test}
BASE=${CITUS_TEST_PORT:-5480}
EMU_PORT=${CITUS_TEST_EMU_PORT:-10050}
DAYS=${CITUS_TEST_DAYS:-10}
CITUS_DB=postgres
SINGLE_DB=single

log() { printf '\n==> %s\n' "$*"; }
fail() {
  printf 'test-citus: FAILED: %s\n' "$*" >&2
  exit 1
}
# psql on a node (0 coordinator, 1 and 2 workers) and database, unaligned, tuples only.
q() {
  local node=$1 db=$2
  shift 2
  sudo -u postgres "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$DIR" -p $((BASE + node)) -d "$db" "$@"
}
# The SQLSTATE a statement fails with (it must fail).
sqlstate() {
  local node=$1 db=$2 sql=$3 out
  if out=$(q "$node" "$db" -c '\set VERBOSITY sqlstate' -c "$sql" 2>&1); then
    fail "expected an error from: $sql (got: $out)"
  fi
  grep -oE '[0-9A-Z]{5}' <<< "${out##*ERROR:}" | head -n 1
}
expect() { # what, got, want
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
  printf '    ok  %s\n' "$1"
}

stop_all() {
  bash scripts/citus-cluster.sh stop "$DIR" "$BASE" > /dev/null 2>&1 || true
  if [ -f "$DIR/emulator.pid" ]; then
    kill "$(cat "$DIR/emulator.pid")" 2> /dev/null || true
    rm -f "$DIR/emulator.pid"
  fi
}

bash scripts/setup-citus.sh
[ -f "$("$PGBIN/pg_config" --pkglibdir)/pg_baostock.so" ] ||
  fail "pg_baostock is not installed for PostgreSQL 15 (cargo pgrx install first)"
cargo build -q -p baostock-emulator

stop_all
rm -rf "$DIR"
mkdir -p "$DIR"
trap stop_all EXIT

log "the emulator on 127.0.0.1:$EMU_PORT and a Citus cluster on ports $BASE-$((BASE + 2))"
"$ROOT/target/debug/baostock-emulator" --listen "127.0.0.1:$EMU_PORT" --codes 300 > "$DIR/emulator.log" 2>&1 &
echo $! > "$DIR/emulator.pid"
CITUS_PRELOAD='citus,pg_baostock' bash scripts/citus-cluster.sh start "$DIR" "$BASE"
for node in 0 1 2; do
  q "$node" postgres -c "ALTER SYSTEM SET baostock.host = '127.0.0.1'" -c "ALTER SYSTEM SET baostock.port = $EMU_PORT" \
    -c "SELECT pg_reload_conf()" > /dev/null
done
for _ in $(seq 50); do
  (exec 3<> "/dev/tcp/127.0.0.1/$EMU_PORT") 2> /dev/null && break
  sleep 0.1
done

log "CREATE EXTENSION on the coordinator reaches the workers"
q 0 "$CITUS_DB" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_baostock' > /dev/null
for node in 1 2; do
  expect "pg_baostock on worker $node" "$(q "$node" "$CITUS_DB" -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'")" \
    "$(q 0 "$CITUS_DB" -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'")"
done
q 0 postgres -c "CREATE DATABASE $SINGLE_DB" > /dev/null
q 0 "$SINGLE_DB" -c 'CREATE EXTENSION pg_baostock' > /dev/null

log "bad input: distribute() without Citus, with a bad shard count, on a worker; syncs on a worker"
expect "distribute() without Citus" "$(sqlstate 0 "$SINGLE_DB" 'SELECT baostock.distribute()')" 55000
expect "distribute(0)" "$(sqlstate 0 "$CITUS_DB" 'SELECT baostock.distribute(0)')" 22023
expect "distribute(64001)" "$(sqlstate 0 "$CITUS_DB" 'SELECT baostock.distribute(64001)')" 22023
expect "distribute() on a worker" "$(sqlstate 1 "$CITUS_DB" 'SELECT baostock.distribute()')" 55000
expect "sync_calendar() on a worker" "$(sqlstate 2 "$CITUS_DB" 'SELECT baostock.sync_calendar()')" 55000
expect "nothing distributed by the refused calls" \
  "$(q 0 "$CITUS_DB" -c "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'baostock.%'")" 0

log "reference data into both databases, then distribute() with 4 shards (rows move to the shards)"
for db in "$SINGLE_DB" "$CITUS_DB"; do
  q 0 "$db" -c 'SELECT status FROM baostock.sync_calendar()' -c 'SELECT status FROM baostock.sync_securities()' > /dev/null
done
q 0 "$CITUS_DB" -c 'SET client_min_messages = warning' -c 'SELECT * FROM baostock.distribute(4)' > "$DIR/distribute.out"
expect "distribute(4): distributed tables" "$(grep -c '|distributed by code|distributed (4 shards)$' "$DIR/distribute.out")" 5
expect "distribute(4): reference tables" "$(grep -c '|reference|made a reference table$' "$DIR/distribute.out")" 4
expect "distribute() again: nothing to do" \
  "$(q 0 "$CITUS_DB" -c "SELECT count(*) FROM baostock.distribute() WHERE action NOT LIKE 'already%'")" 0
expect "distribute(8) after 4" "$(sqlstate 0 "$CITUS_DB" 'SELECT baostock.distribute(8)')" 22023
expect "securities kept through distribute()" "$(q 0 "$CITUS_DB" -c 'SELECT count(*) FROM baostock.securities')" \
  "$(q 0 "$SINGLE_DB" -c 'SELECT count(*) FROM baostock.securities')"

# The newest trading days, and as many from the first of July on (the dividend season: days with
# factors to write).
days=$(q 0 "$SINGLE_DB" -c "SELECT string_agg(day::text, ' ' ORDER BY day) FROM (
  (SELECT day FROM baostock.trade_calendar WHERE is_trading_day AND day <= baostock.latest_trading_day()
   ORDER BY day DESC LIMIT $DAYS / 2)
  UNION
  (SELECT day FROM baostock.trade_calendar WHERE is_trading_day
     AND day >= make_date(extract(year FROM baostock.latest_trading_day() - 200)::int, 7, 1)
   ORDER BY day LIMIT $DAYS - $DAYS / 2)) d")
log "sync_date of $DAYS days into both: $days"
for db in "$SINGLE_DB" "$CITUS_DB"; do
  for day in $days; do
    status=$(q 0 "$db" -c "SELECT status FROM baostock.sync_date('$day')")
    [ "$status" = ok ] || fail "sync_date('$day') in $db: $status"
  done
done

# Every stored row of a table as text, in key order, and its digest.
digest() { # db, query
  q 0 "$1" -c "SELECT coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '-') || ' ' || count(*) FROM ($2) r"
}
log "the same rows on the single node and in the Citus cluster"
while IFS='|' read -r table query; do
  single=$(digest "$SINGLE_DB" "$query")
  citus=$(digest "$CITUS_DB" "$query")
  [ "${single##* }" -gt 0 ] || fail "$table: no rows on the single node"
  expect "$table (digest and rows)" "$citus" "$single"
done << 'TABLES'
daily_bars|SELECT code, date, row_hash, qfq_open, qfq_close, hfq_open, hfq_close FROM baostock.daily_bars
adjust_factors|SELECT code, operate_date, fore_factor, back_factor, adjust_factor FROM baostock.adjust_factors
securities|SELECT code, name, sec_type, status, ipo_date, out_date FROM baostock.securities
trade_calendar|SELECT day, is_trading_day FROM baostock.trade_calendar
synced_days|SELECT day, bars, factors FROM baostock.synced_days
TABLES

log "the rows are in the shards on both workers, none in the coordinator's shell tables"
for table in daily_bars adjust_factors; do
  expect "$table: the coordinator's shell is empty" "$(q 0 "$CITUS_DB" -c "SELECT pg_relation_size('baostock.$table')")" 0
  per_node=$(q 0 "$CITUS_DB" -c "SELECT string_agg(n::text, ' ' ORDER BY port) FROM (
      SELECT nodeport AS port, sum(result::bigint) AS n
      FROM run_command_on_placements('baostock.$table', 'SELECT count(*) FROM %s') GROUP BY nodeport) p")
  for n in $per_node; do
    [ "$n" -gt 0 ] || fail "$table: a worker holds no rows ($per_node)"
  done
  expect "$table: rows on two workers" "$(wc -w <<< "$per_node")" 2
done

log "a forced re-sync of an unchanged day writes nothing"
day=${days%% *}
expect "sync_date('$day', true) inserted|updated" \
  "$(q 0 "$CITUS_DB" -c "SELECT rows_inserted || '|' || rows_updated FROM baostock.sync_date('$day', true)")" '0|0'

log "a day whose stored rows differ from the server's: exactly those rows are written again"
q 0 "$CITUS_DB" -c "UPDATE baostock.daily_bars SET close = close + 1, row_hash = row_hash + 1
  WHERE date = '$day' AND code IN (SELECT code FROM baostock.daily_bars WHERE date = '$day' ORDER BY code LIMIT 3)" > /dev/null
expect "sync_date('$day', true) inserted|updated" \
  "$(q 0 "$CITUS_DB" -c "SELECT rows_inserted || '|' || rows_updated FROM baostock.sync_date('$day', true)")" '0|3'
query="SELECT code, date, row_hash, close, qfq_close, hfq_close FROM baostock.daily_bars"
expect "daily_bars after the re-sync" "$(digest "$CITUS_DB" "$query")" "$(digest "$SINGLE_DB" "$query")"

log "a role granted sync_date cannot make the sync write into a table of its own"
# The rows go through a temporary table of the session: one the caller made beforehand (with a
# trigger that would run as the function's owner) is refused, not written.
q 0 "$CITUS_DB" -c "CREATE ROLE citus_test_etl; GRANT EXECUTE ON FUNCTION baostock.sync_date(date, boolean) TO citus_test_etl" > /dev/null
expect "sync_date() with a planted staging table" "$(sqlstate 0 "$CITUS_DB" "SET ROLE citus_test_etl;
  CREATE FUNCTION pg_temp.planted() RETURNS trigger LANGUAGE plpgsql AS \$\$
  BEGIN RAISE EXCEPTION 'the planted trigger ran as %', current_user; END \$\$;
  CREATE TEMP TABLE baostock_stage_daily_bars (code text);
  CREATE TRIGGER planted BEFORE INSERT OR DELETE ON baostock_stage_daily_bars
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.planted();
  SELECT * FROM baostock.sync_date('$day', true)")" 55000

log "all Citus tests passed"
