#!/usr/bin/env bash
# The Citus tests: a real Citus 13.2.2 cluster of three local nodes (a coordinator and two
# workers, scripts/citus-cluster.sh) with pg_baostock preloaded on each, and beside it a single
# node (a fourth instance, pg_baostock preloaded, no Citus). The same days are synced and the
# same backfill jobs run by each one's worker from one emulator, and what is stored must be equal
# row for row (keys, digests, adjusted prices), with the distributed rows in the shards on both
# workers and none in the coordinator's shell tables; minute partitions made at run time are
# distributed too; the health, gaps (holes made alike on both), coverage and tracked views work
# on the coordinator; a job survives kill -9 of the coordinator's worker and a Citus worker node
# stopped under it; closed minute months go columnar on both (the single node with the
# citus_columnar extension alone) and back to heap when a day of them is fetched again;
# distribute() and the syncs refuse clearly where they cannot run; a pg_dump of the coordinator
# restores and distributes again, and an update to a next version and back (table changes
# through baostock.table_ddl) reaches every node and shard. Assumes pg_baostock installed
# for PostgreSQL 15 (`cargo pgrx install`); builds (once, cached) and installs Citus itself.
# Run as root.
#
#   bash scripts/test-citus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PGBIN=/usr/lib/postgresql/15/bin
DIR=${CITUS_TEST_DIR:-/var/tmp/pg_baostock-citus-test}
BASE=${CITUS_TEST_PORT:-5480}
EMU_PORT=${CITUS_TEST_EMU_PORT:-10050}
CONTROL_PORT=$((EMU_PORT + 1))
DAYS=${CITUS_TEST_DAYS:-10}
# Node and database of each side (q's first two arguments): the coordinator, the single node.
CITUS="0 postgres"
SINGLE="3 postgres"

log() { printf '\n==> %s\n' "$*"; }
fail() {
  printf 'test-citus: FAILED: %s\n' "$*" >&2
  exit 1
}
# psql on a node (0 coordinator, 1 and 2 workers, 3 the single node) and database, unaligned,
# tuples only.
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

as_pg() { (cd "$DIR" && sudo -u postgres "$@"); }
# A command to the emulator's control port; its JSON answer.
control() {
  exec 4<> "/dev/tcp/127.0.0.1/$CONTROL_PORT"
  echo "$1" >&4
  head -n 1 <&4
  exec 4>&-
}

# The single node: PostgreSQL 15 with pg_baostock preloaded and no Citus, its worker in postgres.
start_single() {
  if [ ! -f "$DIR/single/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$DIR/single" -U postgres -A trust -E UTF8 --locale=C.UTF-8 > "$DIR/single.initdb.log"
    cat >> "$DIR/single/postgresql.conf" << EOF
port = $((BASE + 3))
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
shared_preload_libraries = 'pg_baostock'
EOF
  fi
  as_pg "$PGBIN/pg_ctl" -D "$DIR/single" -l "$DIR/single.log" -w start > /dev/null
}

# The updates to a next version and back that the last part assembles; only ever in the
# extension directory while this test runs.
# A next version of this one, made up for the update test.
CURRENT=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
NEXT=$CURRENT-next
NEXT_UPDATE=$("$PGBIN/pg_config" --sharedir)/extension/pg_baostock--$CURRENT--$NEXT.sql
BACK_UPDATE=$("$PGBIN/pg_config" --sharedir)/extension/pg_baostock--$NEXT--$CURRENT.sql

stop_all() {
  rm -f "$NEXT_UPDATE" "$BACK_UPDATE" "${RELEASED_SCRIPT:-}"
  bash scripts/citus-cluster.sh stop "$DIR" "$BASE" > /dev/null 2>&1 || true
  if [ -f "$DIR/single/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$DIR/single" -m fast -w stop > /dev/null 2>&1 || true
  fi
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

log "the emulator on 127.0.0.1:$EMU_PORT, a Citus cluster on ports $BASE-$((BASE + 2)), the single node on $((BASE + 3))"
"$ROOT/target/debug/baostock-emulator" --listen "127.0.0.1:$EMU_PORT" --control "127.0.0.1:$CONTROL_PORT" --codes 300 \
  > "$DIR/emulator.log" 2>&1 &
echo $! > "$DIR/emulator.pid"
CITUS_PRELOAD='citus,pg_baostock' bash scripts/citus-cluster.sh start "$DIR" "$BASE"
chown postgres:postgres "$DIR"
start_single
for node in 0 1 2 3; do
  q "$node" postgres -c "ALTER SYSTEM SET baostock.host = '127.0.0.1'" -c "ALTER SYSTEM SET baostock.port = $EMU_PORT" \
    -c "SELECT pg_reload_conf()" > /dev/null
done
for _ in $(seq 50); do
  (exec 3<> "/dev/tcp/127.0.0.1/$EMU_PORT") 2> /dev/null && break
  sleep 0.1
done

log "CREATE EXTENSION on the coordinator reaches the workers"
q $CITUS -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION pg_baostock' > /dev/null
for node in 1 2; do
  expect "pg_baostock on worker $node" "$(q "$node" postgres -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'")" \
    "$(q $CITUS -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'")"
done
q $SINGLE -c 'CREATE EXTENSION pg_baostock' > /dev/null

log "bad input: distribute() without Citus, with a bad shard count, on a worker; syncs on a worker"
expect "distribute() without Citus" "$(sqlstate $SINGLE 'SELECT baostock.distribute()')" 55000
expect "distribute(0)" "$(sqlstate $CITUS 'SELECT baostock.distribute(0)')" 22023
expect "distribute(64001)" "$(sqlstate $CITUS 'SELECT baostock.distribute(64001)')" 22023
expect "distribute() on a worker" "$(sqlstate 1 postgres 'SELECT baostock.distribute()')" 55000
expect "sync_calendar() on a worker" "$(sqlstate 2 postgres 'SELECT baostock.sync_calendar()')" 55000
expect "nothing distributed by the refused calls" \
  "$(q $CITUS -c "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'baostock.%'")" 0

log "reference data into both databases, then distribute() with 4 shards (rows move to the shards)"
for side in "$SINGLE" "$CITUS"; do
  q $side -c 'SELECT status FROM baostock.sync_calendar()' -c 'SELECT status FROM baostock.sync_securities()' > /dev/null
done
q $CITUS -c 'SET client_min_messages = warning' -c 'SELECT * FROM baostock.distribute(4)' > "$DIR/distribute.out"
expect "distribute(4): distributed tables" "$(grep -c '|distributed by code|distributed (4 shards)$' "$DIR/distribute.out")" 5
expect "distribute(4): reference tables" "$(grep -c '|reference|made a reference table$' "$DIR/distribute.out")" 4
expect "distribute() again: nothing to do" \
  "$(q $CITUS -c "SELECT count(*) FROM baostock.distribute() WHERE action NOT LIKE 'already%'")" 0
expect "distribute(8) after 4" "$(sqlstate $CITUS 'SELECT baostock.distribute(8)')" 22023
expect "securities kept through distribute()" "$(q $CITUS -c 'SELECT count(*) FROM baostock.securities')" \
  "$(q $SINGLE -c 'SELECT count(*) FROM baostock.securities')"

# The newest trading days, and as many from the first of July on (the dividend season: days with
# factors to write).
days=$(q $SINGLE -c "SELECT string_agg(day::text, ' ' ORDER BY day) FROM (
  (SELECT day FROM baostock.trade_calendar WHERE is_trading_day AND day < baostock.latest_trading_day()
   ORDER BY day DESC LIMIT $DAYS / 2)
  UNION
  (SELECT day FROM baostock.trade_calendar WHERE is_trading_day
     AND day >= make_date(extract(year FROM baostock.latest_trading_day() - 200)::int, 7, 1)
   ORDER BY day LIMIT $DAYS - $DAYS / 2)) d")
log "sync_date of $DAYS days into both: $days"
for side in "$SINGLE" "$CITUS"; do
  for day in $days; do
    status=$(q $side -c "SELECT status FROM baostock.sync_date('$day')")
    [ "$status" = ok ] || fail "sync_date('$day') on node ${side%% *}: $status"
  done
done

# Every stored row of a table as text, in key order, and its digest.
digest() { # node, database, query
  q "$1" "$2" -c "SELECT coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '-') || ' ' || count(*) FROM ($3) r"
}
# Each table of the here-document (name|query) equal on both sides, with rows.
same_rows() {
  local table query single citus
  while IFS='|' read -r table query; do
    single=$(digest $SINGLE "$query")
    citus=$(digest $CITUS "$query")
    [ "${single##* }" -gt 0 ] || fail "$table: no rows on the single node"
    expect "$table (digest and rows)" "$citus" "$single"
  done
}
log "the same rows on the single node and in the Citus cluster"
same_rows << 'TABLES'
daily_bars|SELECT code, date, row_hash, qfq_open, qfq_close, hfq_open, hfq_close FROM baostock.daily_bars
adjust_factors|SELECT code, operate_date, fore_factor, back_factor, adjust_factor FROM baostock.adjust_factors
securities|SELECT code, name, sec_type, status, ipo_date, out_date FROM baostock.securities
trade_calendar|SELECT day, is_trading_day FROM baostock.trade_calendar
synced_days|SELECT day, bars, factors FROM baostock.synced_days
TABLES

# A distributed table's rows in its shards on both workers, none in the coordinator's shells
# (its own and, for minute_bars, each partition's).
in_shards() {
  local table=$1 per_node n
  expect "$table: the coordinator's shells are empty" "$(q $CITUS -c "SELECT sum(pg_relation_size(t)) FROM (
      SELECT 'baostock.$table'::regclass AS t UNION SELECT relid FROM pg_partition_tree('baostock.$table')) p")" 0
  per_node=$(q $CITUS -c "SELECT string_agg(n::text, ' ' ORDER BY port) FROM (
      SELECT nodeport AS port, sum(result::bigint) AS n
      FROM run_command_on_placements('baostock.$table', 'SELECT count(*) FROM %s') GROUP BY nodeport) p")
  for n in $per_node; do
    [ "$n" -gt 0 ] || fail "$table: a worker holds no rows ($per_node)"
  done
  expect "$table: rows on two workers" "$(wc -w <<< "$per_node")" 2
}
log "the rows are in the shards on both workers, none in the coordinator's shell tables"
in_shards daily_bars
in_shards adjust_factors

log "a forced re-sync of an unchanged day writes nothing"
day=${days%% *}
expect "sync_date('$day', true) inserted|updated" \
  "$(q $CITUS -c "SELECT rows_inserted || '|' || rows_updated FROM baostock.sync_date('$day', true)")" '0|0'

log "a day whose stored rows differ from the server's: exactly those rows are written again"
q $CITUS -c "UPDATE baostock.daily_bars SET close = close + 1, row_hash = row_hash + 1
  WHERE date = '$day' AND code IN (SELECT code FROM baostock.daily_bars WHERE date = '$day' ORDER BY code LIMIT 3)" > /dev/null
expect "sync_date('$day', true) inserted|updated" \
  "$(q $CITUS -c "SELECT rows_inserted || '|' || rows_updated FROM baostock.sync_date('$day', true)")" '0|3'
query="SELECT code, date, row_hash, close, qfq_close, hfq_close FROM baostock.daily_bars"
expect "daily_bars after the re-sync" "$(digest $CITUS "$query")" "$(digest $SINGLE "$query")"

log "a role granted sync_date cannot make the sync write into a table of its own"
# The rows go through a temporary table of the session: one the caller made beforehand (with a
# trigger that would run as the function's owner) is refused, not written.
q $CITUS -c "CREATE ROLE citus_test_etl; GRANT EXECUTE ON FUNCTION baostock.sync_date(date, boolean) TO citus_test_etl" > /dev/null
expect "sync_date() with a planted staging table" "$(sqlstate $CITUS "SET ROLE citus_test_etl;
  CREATE FUNCTION pg_temp.planted() RETURNS trigger LANGUAGE plpgsql AS \$\$
  BEGIN RAISE EXCEPTION 'the planted trigger ran as %', current_user; END \$\$;
  CREATE TEMP TABLE baostock_stage_daily_bars (code text);
  CREATE TRIGGER planted BEFORE INSERT OR DELETE ON baostock_stage_daily_bars
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.planted();
  SELECT * FROM baostock.sync_date('$day', true)")" 55000

# Queues the same backfill on both sides (arguments of baostock.backfill); the two job ids.
queue_both() {
  echo "$(q $SINGLE -c "SELECT baostock.backfill($1)") $(q $CITUS -c "SELECT baostock.backfill($1)")"
}
# Waits for a job of a side to end (through restarts of the node); its final state.
wait_job() { # node, database, job id
  local state=
  for _ in $(seq 1200); do
    state=$(q "$1" "$2" -c "SELECT state FROM baostock.sync_jobs WHERE job_id = $3" 2> /dev/null || true)
    case $state in done | failed | cancelled) break ;; esac
    sleep 0.5
  done
  echo "$state"
}
# A job's units: ended (done, empty, ...), failed, of all.
units() { # node, database, job id
  q "$1" "$2" -c "SELECT count(*) FILTER (WHERE state NOT IN ('queued', 'running')) || ' '
                  || count(*) FILTER (WHERE state = 'failed') || ' of ' || count(*)
                  FROM baostock.sync_units WHERE job_id = $3"
}
# Waits until a job of the coordinator has done some of its units and not all.
mid_job() { # job id
  local done_ total
  for _ in $(seq 600); do
    read -r done_ _ _ total <<< "$(units $CITUS "$1")"
    [ "$done_" -ge 2 ] && [ "$done_" -lt "$total" ] && return 0
    [ "$done_" -ge "$total" ] && [ "$total" -gt 0 ] && fail "job $1 ended before it could be interrupted"
    sleep 0.1
  done
  fail "job $1 did not start ($(units $CITUS "$1"))"
}

# Fifty stocks, and a month end before the newest trading day: three trading days on each side.
codes=$(q $SINGLE -c "SELECT string_agg(quote_literal(code), ',' ORDER BY code) FROM (
  SELECT code FROM baostock.securities WHERE sec_type = 1 AND out_date IS NULL ORDER BY code LIMIT 50) c")
IFS='|' read -r from to <<< "$(q $SINGLE -c "WITH m AS (SELECT date_trunc('month', baostock.latest_trading_day() - 40)::date AS first)
  SELECT (SELECT min(day) FROM (SELECT day FROM baostock.trade_calendar, m
                                WHERE is_trading_day AND day < m.first ORDER BY day DESC LIMIT 3) a),
         (SELECT max(day) FROM (SELECT day FROM baostock.trade_calendar, m
                                WHERE is_trading_day AND day >= m.first ORDER BY day LIMIT 3) b)")"
log "backfill jobs by each side's worker: 5-minute bars of 50 codes from $from to $to (a month end), weekly and monthly bars"
jobs=()
for args in "'$from', '$to', ARRAY[$codes], '5'" "'$from'::date - 90, '$to', ARRAY[$codes], 'w'" \
  "'$from'::date - 90, '$to', ARRAY[$codes], 'm'"; do
  read -r single_job citus_job <<< "$(queue_both "$args")"
  jobs+=("$single_job:$citus_job")
done
for pair in "${jobs[@]}"; do
  expect "job ${pair%%:*} on the single node" "$(wait_job $SINGLE "${pair%%:*}")" done
  expect "job ${pair##*:} on the coordinator" "$(wait_job $CITUS "${pair##*:}")" done
done
# synced_ranges is a log (jobs run at different times on the two sides record a code's factors
# once or more): what is compared is the days each code's ranges cover.
same_rows << 'TABLES'
minute_bars|SELECT code, frequency, time, date, row_hash FROM baostock.minute_bars
weekly_bars|SELECT code, period_start, date, row_hash FROM baostock.weekly_bars
monthly_bars|SELECT code, period_start, date, row_hash FROM baostock.monthly_bars
synced_ranges|SELECT code, kind, range_agg(span) FROM baostock.synced_ranges GROUP BY code, kind
TABLES
partitions=$(q $CITUS -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'baostock.minute_bars'::regclass")
[ "$partitions" -ge 2 ] || fail "minute_bars: $partitions partitions across a month end"
expect "minute partitions made at run time: distributed, colocated with daily_bars" "$(q $CITUS -c "SELECT count(*)
  FROM pg_inherits i JOIN pg_dist_partition p ON p.logicalrelid = i.inhrelid
  WHERE i.inhparent = 'baostock.minute_bars'::regclass
    AND p.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'baostock.daily_bars'::regclass)")" \
  "$partitions"
for table in minute_bars weekly_bars monthly_bars; do
  in_shards "$table"
done

log "health, gaps, coverage, tracked and the alerts on the coordinator"
for side in "$SINGLE" "$CITUS"; do
  q $side -c "SELECT baostock.track(ARRAY[$codes], frequencies => ARRAY['5', 'w'], start_date => '$from')" > /dev/null
done
same_rows << 'TABLES'
coverage|SELECT * FROM baostock.coverage
tracked|SELECT code, frequency, start_date, newest, synced_through, current_through, lag_trading_days FROM baostock.tracked
TABLES
# gaps on both, with holes made on each side alike in a transaction rolled back: a daily bar of
# a synced day, a day of 5-minute bars and a weekly bar of two codes' ranges.
read -r code_a code_b <<< "$(q $SINGLE -c "SELECT string_agg(code, ' ' ORDER BY code) FROM (
  SELECT code FROM baostock.securities WHERE code IN ($codes) ORDER BY code LIMIT 2) c")"
newest=$(q $SINGLE -c "SELECT max(day) FROM baostock.synced_days")
gaps_with_holes() {
  q "$@" -q -c "BEGIN" \
    -c "DELETE FROM baostock.daily_bars WHERE code = '$code_a' AND date = '$newest'" \
    -c "DELETE FROM baostock.minute_bars WHERE code = '$code_a' AND frequency = 5 AND time > '$to' AND time < '$to'::date + 1" \
    -c "DELETE FROM baostock.weekly_bars WHERE code = '$code_b' AND period_start = (
          SELECT period_start FROM baostock.weekly_bars WHERE code = '$code_b' ORDER BY period_start OFFSET 1 LIMIT 1)" \
    -c "SELECT string_agg(concat_ws(' ', code, frequency, day, missing), ', ' ORDER BY code, frequency, day) FROM baostock.gaps" \
    -c "ROLLBACK"
}
expect "gaps on the single node: the three holes" "$(gaps_with_holes $SINGLE | grep -oE "$code_a d $newest bar|$code_a 5 $to minute bars|$code_b w [0-9-]+ weekly bar" | wc -l)" 3
expect "gaps on the coordinator equal the single node's" "$(gaps_with_holes $CITUS)" "$(gaps_with_holes $SINGLE)"
all_gaps="SELECT count(*) || ': ' || coalesce(string_agg(concat_ws(' ', code, frequency, day, missing), ', ' ORDER BY code, frequency, day), '') FROM baostock.gaps"
expect "gaps without the holes (rolled back) equal" "$(q $CITUS -c "$all_gaps")" "$(q $SINGLE -c "$all_gaps")"
expect "sync_health() answers" "$(q $CITUS -c 'SELECT status IS NOT NULL AND tracked_lagging IS NOT NULL FROM baostock.sync_health()')" t
expect "evaluate_alerts() runs" "$(q $CITUS -c 'SELECT baostock.evaluate_alerts() >= 0')" t
expect "the worker's alert ticks never failed" "$(grep -c 'cannot evaluate alerts' "$DIR/coordinator.log" || true)" 0

log "kill -9 of the coordinator's worker mid-job: the job ends done, the rows equal the single node's"
control "latency base_ms=150 jitter_ms=0 per_byte_ns=0" > /dev/null
read -r single_job citus_job <<< "$(queue_both "'$from', '$to', ARRAY[$codes], '15'")"
mid_job "$citus_job"
pid=$(q $CITUS -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'")
kill -9 "$pid"
expect "job $citus_job after kill -9 of the worker" "$(wait_job $CITUS "$citus_job")" done
expect "job $single_job on the single node" "$(wait_job $SINGLE "$single_job")" done
expect "its units (ended, failed, of all)" "$(units $CITUS "$citus_job")" "$(units $SINGLE "$single_job")"
same_rows << 'TABLES'
minute_bars|SELECT code, frequency, time, date, row_hash FROM baostock.minute_bars
synced_ranges|SELECT code, kind, range_agg(span) FROM baostock.synced_ranges GROUP BY code, kind
TABLES

log "a Citus worker node stopped mid-job and started again: the job's second pass (or retry()) finishes what failed meanwhile"
read -r single_job citus_job <<< "$(queue_both "'$from', '$to', ARRAY[$codes], '30'")"
mid_job "$citus_job"
as_pg "$PGBIN/pg_ctl" -D "$DIR/worker2" -m immediate -w stop > /dev/null
# Down until a unit has failed on it (the worker logs each failed unit with its error).
refused="job $citus_job unit [0-9]* ([a-z]*) failed: connection to the remote node postgres@127.0.0.1:$((BASE + 2)) failed"
for _ in $(seq 600); do
  grep -q "$refused" "$DIR/coordinator.log" && break
  sleep 0.1
done
grep -q "$refused" "$DIR/coordinator.log" || fail "no unit of job $citus_job failed while worker 2 was down"
echo "    while worker 2 was down: $(grep -m1 "$refused" "$DIR/coordinator.log" | sed 's/.*WARNING: *//')"
as_pg "$PGBIN/pg_ctl" -D "$DIR/worker2" -l "$DIR/worker2.log" -w start > /dev/null
state=$(wait_job $CITUS "$citus_job")
read -r _ failed _ <<< "$(units $CITUS "$citus_job")"
echo "    $(grep -c "$refused" "$DIR/coordinator.log") unit runs failed; the job ended $state with $failed units failed"
if [ "$failed" -gt 0 ]; then
  errors=$(q $CITUS -c "SELECT string_agg(DISTINCT coalesce(error_sqlstate, '?') || ' ' || left(error_message, 120), ' / ') FROM baostock.sync_units WHERE job_id = $citus_job AND state = 'failed'")
  echo "    their errors: $errors"
  [ -n "$errors" ] || fail "failed units without an error"
  q $CITUS -c "SELECT baostock.retry($citus_job)" > /dev/null
  expect "job $citus_job after retry()" "$(wait_job $CITUS "$citus_job")" done
fi
control "latency fast" > /dev/null
expect "job $single_job on the single node" "$(wait_job $SINGLE "$single_job")" done
read -r _ failed _ <<< "$(units $CITUS "$citus_job")"
expect "units of job $citus_job failed in the end" "$failed" 0
same_rows << 'TABLES'
minute_bars|SELECT code, frequency, time, date, row_hash FROM baostock.minute_bars
synced_ranges|SELECT code, kind, range_agg(span) FROM baostock.synced_ranges GROUP BY code, kind
TABLES

log "columnar months: with baostock.columnar_after the coordinator's worker stores the closed months columnar"
query="SELECT code, frequency, time, date, row_hash FROM baostock.minute_bars"
before=$(digest $CITUS "$query")
sizes="SELECT sum(bytes) || ' ' || sum(table_bytes) FROM baostock.minute_months"
read -r heap_bytes heap_table <<< "$(q $CITUS -c "$sizes")"
[ "$heap_table" -gt 0 ] && [ "$heap_table" -lt "$heap_bytes" ] || fail "minute months: $heap_table bytes without indexes, $heap_bytes with"
expect "minute months heap before" "$(q $CITUS -c "SELECT string_agg(DISTINCT access_method, ',') FROM baostock.minute_months")" heap
expect "compress_minute_months() without Citus columnar" \
  "$(sqlstate $CITUS "SELECT * FROM baostock.compress_minute_months('1 month')")" 55000
q $CITUS -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION citus_columnar' \
  -c "ALTER SYSTEM SET baostock.columnar_after = '1 month'" > /dev/null
as_pg "$PGBIN/pg_ctl" -D "$DIR/coordinator" -l "$DIR/coordinator.log" -m fast -w restart > /dev/null
for _ in $(seq 600); do
  [ "$(q $CITUS -c "SELECT count(*) FROM baostock.minute_months WHERE access_method = 'heap'" 2> /dev/null || echo x)" = 0 ] && break
  sleep 0.1
done
expect "minute months columnar after the worker's pass" \
  "$(q $CITUS -c "SELECT string_agg(DISTINCT access_method, ',') FROM baostock.minute_months")" columnar
# The worker logs it once the conversion has committed.
for _ in $(seq 100); do
  grep -q "2 months of minute bars stored columnar" "$DIR/coordinator.log" && break
  sleep 0.1
done
grep -q "2 months of minute bars stored columnar" "$DIR/coordinator.log" || fail "the worker did not log the conversion"
expect "minute_bars rows through the conversion" "$(digest $CITUS "$query")" "$before"
read -r columnar_bytes columnar_table <<< "$(q $CITUS -c "$sizes")"
echo "    minute months: $heap_bytes bytes heap, $columnar_bytes columnar (without indexes: $heap_table, $columnar_table)"
[ "$columnar_table" -lt "$heap_table" ] && [ "$columnar_bytes" -lt "$heap_bytes" ] ||
  fail "columnar months take $columnar_bytes bytes ($columnar_table without indexes), heap $heap_bytes ($heap_table)"
# On one node (no Citus, only its citus_columnar extension) by hand: the same months.
read -r single_heap single_heap_table <<< "$(q $SINGLE -c "$sizes")"
q $SINGLE -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION citus_columnar' > /dev/null
expect "single node: compress_minute_months() converts 2 months" \
  "$(q $SINGLE -c "SELECT count(*) FROM baostock.compress_minute_months('1 month')")" 2
months="SELECT string_agg(month || ' ' || access_method, ', ' ORDER BY month) FROM baostock.minute_months"
expect "single node: the same months columnar as on the cluster" "$(q $SINGLE -c "$months")" "$(q $CITUS -c "$months")"
expect "single node: minute_bars rows through the conversion" "$(digest $SINGLE "$query")" "$before"
read -r single_columnar single_columnar_table <<< "$(q $SINGLE -c "$sizes")"
echo "    single node: $single_heap bytes heap, $single_columnar columnar (without indexes: $single_heap_table, $single_columnar_table)"
[ "$single_columnar_table" -lt "$single_heap_table" ] && [ "$single_columnar" -lt "$single_heap" ] ||
  fail "single node: columnar months take $single_columnar bytes ($single_columnar_table without indexes), heap $single_heap ($single_heap_table)"

log "a forced re-fetch of a day in a columnar month stores the month heap again, the rows right"
month=$(q $CITUS -c "SELECT to_char(date '$from', 'YYYYMM')")
read -r single_job citus_job <<< "$(queue_both "'$from', '$from', ARRAY[$codes], '5', true")"
expect "job $citus_job on the coordinator" "$(wait_job $CITUS "$citus_job")" done
expect "job $single_job on the single node" "$(wait_job $SINGLE "$single_job")" done
for side in "$CITUS" "$SINGLE"; do
  expect "minute_bars_$month stored heap again (node ${side%% *})" \
    "$(q $side -c "SELECT access_method FROM baostock.minute_months WHERE month_table = 'baostock.minute_bars_$month'::regclass")" heap
done
same_rows << 'TABLES'
minute_bars|SELECT code, frequency, time, date, row_hash FROM baostock.minute_bars
TABLES
expect "compress_minute_months() without the extension's rights" \
  "$(sqlstate $CITUS "SET ROLE citus_test_etl; SELECT * FROM baostock.compress_minute_months('1 day')")" 42501
expect "the month columnar again by compress_minute_months()" \
  "$(q $CITUS -c "SELECT count(*) FROM baostock.compress_minute_months('1 month')")" 1

log "pg_dump of the coordinator, restored into a new database of the cluster and distribute()d again: the rows equal"
as_pg "$PGBIN/pg_dump" -h "$DIR" -p "$BASE" -d postgres -Fc -f "$DIR/coordinator.dump"
# A database with Citus on every node and the workers registered (what a user makes first);
# the dump's CREATE EXTENSION IF NOT EXISTS citus finds it there, and no Citus metadata is in
# the dump: the tables come back local.
CITUS_DB=restored CITUS_PRELOAD='citus,pg_baostock' bash scripts/citus-cluster.sh start "$DIR" "$BASE" > /dev/null
as_pg "$PGBIN/pg_restore" -h "$DIR" -p "$BASE" -d restored --exit-on-error "$DIR/coordinator.dump" \
  2> "$DIR/restore.err" || fail "pg_restore: $(head -c 2000 "$DIR/restore.err")"
expect "the restored tables are local until distribute()" \
  "$(q 0 restored -c "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'baostock.%'")" 0
q 0 restored -c 'SET client_min_messages = warning' -c 'SELECT count(*) FROM baostock.distribute(4)' > /dev/null
expect "the restored bar tables distributed again" \
  "$(q 0 restored -c "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = ANY('{baostock.daily_bars,baostock.minute_bars,baostock.weekly_bars,baostock.monthly_bars,baostock.adjust_factors}'::regclass[]) AND partmethod = 'h'")" 5
while IFS='|' read -r table query; do
  expect "$table restored (digest and rows)" "$(digest 0 restored "$query")" "$(digest $CITUS "$query")"
done << 'TABLES'
daily_bars|SELECT code, date, row_hash, qfq_open, qfq_close, hfq_open, hfq_close FROM baostock.daily_bars
minute_bars|SELECT code, frequency, time, date, row_hash FROM baostock.minute_bars
weekly_bars|SELECT code, period_start, date, row_hash FROM baostock.weekly_bars
monthly_bars|SELECT code, period_start, date, row_hash FROM baostock.monthly_bars
adjust_factors|SELECT code, operate_date, fore_factor, back_factor, adjust_factor FROM baostock.adjust_factors
securities|SELECT code, name, sec_type, status, ipo_date, out_date FROM baostock.securities
synced_days|SELECT day, bars, factors FROM baostock.synced_days
synced_ranges|SELECT code, kind, span FROM baostock.synced_ranges
minute_months|SELECT month, access_method FROM baostock.minute_months
TABLES
expect "gaps of the restored database" "$(q 0 restored -c "$all_gaps")" "$(q $CITUS -c "$all_gaps")"

log "ALTER EXTENSION UPDATE from the last release on a distributed database: every node updated, the rows kept, the store writes"
# distribute() came with 0.3.0: a distributed database is at 0.3.0 or later. Its install script
# is put beside this version's for the test alone (the library refuses syncs until the update).
released=$(awk '!/^#/ && NF { v = $1 } END { print v }' sql/released/VERSIONS)
extdir=$("$PGBIN/pg_config" --sharedir)/extension
[ "$released" != "$CURRENT" ] || fail "no release before this version"
RELEASED_SCRIPT="$extdir/pg_baostock--$released.sql"
cp "sql/released/pg_baostock--$released.sql" "$RELEASED_SCRIPT"
CITUS_DB=upgraded CITUS_PRELOAD='citus,pg_baostock' bash scripts/citus-cluster.sh start "$DIR" "$BASE" > /dev/null
q 0 upgraded -c 'SET client_min_messages = warning' -c "CREATE EXTENSION pg_baostock VERSION '$released'" \
  -c 'SELECT count(*) FROM baostock.distribute(4)' > /dev/null
q 0 upgraded -c "INSERT INTO baostock.daily_bars (code, date, open, close, volume)
                 SELECT 'sh.60000' || g % 10, date '2026-01-05' + g / 10, 1.5 + g, 2.5 + g, g FROM generate_series(0, 99) g" \
  -c "INSERT INTO baostock.adjust_factors (code, operate_date, fore_factor, back_factor, adjust_factor)
      SELECT 'sh.60000' || g, date '2025-07-01', 0.9, 1.1, 1.1 FROM generate_series(0, 9) g" > /dev/null
bars="SELECT code, date, open, close, volume FROM baostock.daily_bars"
before_update=$(digest 0 upgraded "$bars")
q 0 upgraded -c "ALTER EXTENSION pg_baostock UPDATE" > /dev/null
rm -f "$RELEASED_SCRIPT"
for node in 0 1 2; do
  expect "node $node updated from $released" \
    "$(q $node upgraded -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'")" "$(q $CITUS -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'")"
done
expect "daily_bars kept through the update from $released" "$(digest 0 upgraded "$bars")" "$before_update"
expect "the bar tables still distributed" \
  "$(q 0 upgraded -c "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = ANY('{baostock.daily_bars,baostock.minute_bars,baostock.weekly_bars,baostock.monthly_bars,baostock.adjust_factors}'::regclass[]) AND partmethod = 'h'")" 5
expect "PUBLIC executes nothing beyond the allowlist after the update" \
  "$(q 0 upgraded -c "SELECT count(*) FROM pg_proc WHERE pronamespace = 'baostock'::regnamespace AND has_function_privilege('public', oid, 'EXECUTE')
                       AND proname NOT IN ('sync_health', 'worker_status', 'latest_trading_day', 'stale_after', 'wait', 'newest_bar',
                                           'published_through', 'missing_bars', 'relation_bytes', 'distribution_of')")" 0
q 0 upgraded -c 'SELECT status FROM baostock.sync_calendar()' -c 'SELECT status FROM baostock.sync_securities()' > /dev/null
expect "sync_date('$day') on the updated database" "$(q 0 upgraded -c "SELECT status FROM baostock.sync_date('$day')")" ok

log "ALTER EXTENSION UPDATE of the distributed database, by a next version's update"
# The coordinator's worker goes to the restored database first. Its library is the version
# this database has, so it would go on reading the views the update drops and make again, and
# Postgres would end one side of that deadlock (a real update comes with a new library, and
# the worker waits until the update commits: see docs/src/upgrading.md).
# The single node's goes to template1 (no pg_baostock there: it waits).
q $CITUS -c "ALTER SYSTEM SET baostock.worker_database = 'restored'" -c 'SELECT pg_reload_conf()' > /dev/null
q $SINGLE -c "ALTER SYSTEM SET baostock.worker_database = 'template1'" -c 'SELECT pg_reload_conf()' > /dev/null
workers_in="SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'"
for _ in $(seq 300); do
  [ "$(q $CITUS -c "$workers_in")" = restored ] && [ "$(q $SINGLE -c "$workers_in")" = template1 ] && break
  sleep 0.1
done
expect "the coordinator's worker in the restored database" "$(q $CITUS -c "$workers_in")" restored
expect "the single node's worker in template1" "$(q $SINGLE -c "$workers_in")" template1
# Made as a real update is (scripts/assemble-update.sh: views and functions dropped, the table
# part, the install script's views and functions), with table changes of each kind of table.
# Straight DDL in it fails on Citus and leaves nothing changed: why updates go through table_ddl.
version=$(q $CITUS -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'")
installed=$("$PGBIN/pg_config" --sharedir)/extension/pg_baostock--$version.sql
cat > "$DIR/next-direct.sql" << 'SQL'
ALTER TABLE baostock.daily_bars ADD COLUMN note text;
SQL
expect "assemble-update.sh refuses a table part that alters a table directly" \
  "$(UPDATE_TO=$NEXT UPDATE_PART="$DIR/next-direct.sql" UPDATE_OUT="$NEXT_UPDATE" INSTALL_SCRIPT="$installed" \
    bash scripts/assemble-update.sh "$version" > /dev/null 2>&1 || echo refused)" refused
# Citus sends the ALTER to the shards and to the workers' copies of the table, then runs the
# same update on each worker, where the column is there already (alone; in a script of many
# statements Citus sends the whole script and fails sooner).
cp "$DIR/next-direct.sql" "$NEXT_UPDATE"
expect "an update with a table's DDL of its own on Citus" \
  "$(sqlstate $CITUS "ALTER EXTENSION pg_baostock UPDATE TO '$NEXT'")" 42701
for node in 0 1 2; do
  expect "nothing changed on node $node by the failed update" \
    "$(q $node postgres -c "SELECT extversion || ' ' || (SELECT count(*) FROM pg_attribute WHERE attname = 'note' AND NOT attisdropped) FROM pg_extension WHERE extname = 'pg_baostock'")" "$version 0"
done
cat > "$DIR/next-tables.sql" << 'SQL'
SELECT baostock.table_ddl('baostock.daily_bars', 'ALTER TABLE baostock.daily_bars ADD COLUMN note text');
SELECT baostock.table_ddl('baostock.minute_bars', 'CREATE INDEX minute_bars_date_idx ON baostock.minute_bars (date)');
SELECT baostock.table_ddl('baostock.securities', 'ALTER TABLE baostock.securities ADD COLUMN note text');
SELECT baostock.table_ddl('baostock.sync_jobs', 'ALTER TABLE baostock.sync_jobs ADD COLUMN note text');
SQL
UPDATE_TO=$NEXT UPDATE_PART="$DIR/next-tables.sql" UPDATE_OUT="$NEXT_UPDATE" INSTALL_SCRIPT="$installed" \
  bash scripts/assemble-update.sh "$version" > /dev/null
before=$(digest $CITUS "SELECT code, date, row_hash, qfq_close, hfq_close FROM baostock.daily_bars")
q $CITUS -c "ALTER EXTENSION pg_baostock UPDATE TO '$NEXT'" > /dev/null
q $SINGLE -c "ALTER EXTENSION pg_baostock UPDATE TO '$NEXT'" > /dev/null
columns="SELECT string_agg(attrelid::regclass::text, ',' ORDER BY attrelid::regclass::text) FROM pg_attribute
  WHERE attname = 'note' AND NOT attisdropped AND attrelid::regclass::text IN ('baostock.daily_bars', 'baostock.securities', 'baostock.sync_jobs')"
for node in 0 1 2 3; do
  expect "node $node at $NEXT, its tables changed" \
    "$(q $node postgres -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'") $(q $node postgres -c "$columns")" \
    "$NEXT baostock.daily_bars,baostock.securities,baostock.sync_jobs"
done
shards() { # table, a query of one shard (%s); each shard's answer
  q $CITUS -c "SELECT string_agg(DISTINCT result, ',') || ' on ' || count(*) FROM run_command_on_shards('$1', \$\$$2\$\$) WHERE success"
}
expect "every shard of daily_bars has the column" \
  "$(shards baostock.daily_bars "SELECT count(*) FROM pg_attribute WHERE attrelid = '%s'::regclass AND attname = 'note'")" "1 on 4"
expect "every replica of securities has the column" \
  "$(shards baostock.securities "SELECT count(*) FROM pg_attribute WHERE attrelid = '%s'::regclass AND attname = 'note'")" "1 on 1"
expect "every shard of a minute month has the new index" \
  "$(shards "baostock.minute_bars_$month" "SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = '%s'::regclass AND i.indnatts = 1 AND a.attname = 'date'")" "1 on 4"
expect "daily_bars unchanged by the update" "$(digest $CITUS "SELECT code, date, row_hash, qfq_close, hfq_close FROM baostock.daily_bars")" "$before"
expect "adjusted reads after the update" \
  "$(digest $CITUS "SELECT code, date, close FROM baostock.daily_bars_qfq")" "$(digest $SINGLE "SELECT code, date, close FROM baostock.daily_bars_qfq")"
expect "sync_date() at $NEXT refused (the library is $version)" "$(sqlstate $CITUS "SELECT baostock.sync_date('$day', true)")" 55000

log "ALTER EXTENSION UPDATE back to $version (the same changes undone through table_ddl): the store writes again"
cat > "$DIR/back-tables.sql" << 'SQL'
SELECT baostock.table_ddl('baostock.daily_bars', 'ALTER TABLE baostock.daily_bars DROP COLUMN note');
SELECT baostock.table_ddl('baostock.minute_bars', 'DROP INDEX baostock.minute_bars_date_idx');
SELECT baostock.table_ddl('baostock.securities', 'ALTER TABLE baostock.securities DROP COLUMN note');
SELECT baostock.table_ddl('baostock.sync_jobs', 'ALTER TABLE baostock.sync_jobs DROP COLUMN note');
SQL
UPDATE_TO=$version UPDATE_PART="$DIR/back-tables.sql" UPDATE_OUT="$BACK_UPDATE" INSTALL_SCRIPT="$installed" \
  bash scripts/assemble-update.sh "$NEXT" > /dev/null
q $CITUS -c "ALTER EXTENSION pg_baostock UPDATE TO '$version'" > /dev/null
for node in 0 1 2; do
  expect "node $node back at $version, the column gone" \
    "$(q $node postgres -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'") $(q $node postgres -c "$columns")" "$version "
done
expect "no shard of daily_bars has the column" \
  "$(shards baostock.daily_bars "SELECT count(*) FROM pg_attribute WHERE attrelid = '%s'::regclass AND attname = 'note' AND NOT attisdropped")" "0 on 4"
expect "no shard of the minute month has the index" \
  "$(shards "baostock.minute_bars_$month" "SELECT count(*) FROM pg_index WHERE indrelid = '%s'::regclass AND indnatts = 1 AND NOT indisprimary")" "0 on 4"
expect "sync_date('$day', true) after both updates inserted|updated" \
  "$(q $CITUS -c "SELECT rows_inserted || '|' || rows_updated FROM baostock.sync_date('$day', true)")" '0|0'
expect "daily_bars through both updates and the sync" "$(digest $CITUS "SELECT code, date, row_hash, qfq_close, hfq_close FROM baostock.daily_bars")" "$before"

log "the day in stages on the coordinator (tests/publication.rs): each kind stored by the first sync_date() after its publication"
# The cluster tests' harness drives the coordinator's database and its worker, with an emulator
# of its own.
q $CITUS -c "ALTER SYSTEM RESET baostock.worker_database" -c 'SELECT pg_reload_conf()' > /dev/null
BAOSTOCK_CLUSTER_DIR=$DIR BAOSTOCK_CLUSTER_PORT=$BASE BAOSTOCK_CLUSTER_PGDATA=$DIR/coordinator \
  BAOSTOCK_CLUSTER_LOG=$DIR/coordinator.log cargo test -q -p pg_baostock-cluster-tests --test publication

log "all Citus tests passed"
