#!/usr/bin/env bash
# The benchmark, one command on a fresh machine (after the README's set-up, which it runs): the
# emulator with a latency profile (realistic by default), a cluster with the extension, and
# side by side in one run: the Python pipeline pg_baostock replaces (scripts/bench_peer.py:
# the official client, serial, psycopg2; sampled and extrapolated) beside sync_date of one day
# and a 5-day catch-up, and its one-year historical load beside backfills of 1 year at 1, 2
# and 3 worker sessions and of 10 years; then backfills of 1, 2, 5 and 10 years for the
# scaling. Prints the markdown tables (scripts/bench.py) and writes them to
# $BENCH_DIR/bench.md. Not part of the tests.
#
#   BENCH_PROFILE=realistic        emulator latency profile (fast: no delay)
#   BENCH_SESSIONS="1 2 3"         worker sessions of the one-year backfills
#                                  (baostock.max_sessions is one more: one is left to sync_date)
#   BENCH_SCALING_YEARS="1 2 5 10" backfill lengths of the scaling table, in years back from the
#                                  latest trading day, at BENCH_SCALING_SESSIONS (3) sessions
#   BENCH_PEER_SAMPLE=200          codes the peer's daily update times (of ~5,000)
#   BENCH_PEER_HISTORY_SAMPLE=100  codes x BENCH_PEER_WINDOWS=3 windows its historical load times
#   BENCH_PARTS="daily history extras"  the daily update; the historical load and the scaling;
#                                  on ten years of bars, factor histories, minute bars, adjusted reads
#                                  ("reads" alone: ten years of bars, their factors and the reads)
#                                  "citus": one year of daily bars of every code and of 5-minute bars
#                                  of 300 codes on the single node and on a Citus cluster (a coordinator
#                                  and two workers, BENCH_CITUS_PORT=5490-5492; PostgreSQL 15), then
#                                  the closed minute months there heap and columnar
#                                  "fundamentals": one quarter of every stock's six quarterly reports
#                                  by backfill_fundamentals beside scripts/bench_peer_reports.py
#   BENCH_PORT=5497                cluster port; emulator on 10040, its control port on 10041
#   PG_MAJOR=18                    on PostgreSQL 18 (the wheel) instead of 15
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

. scripts/lib/pg-env.sh
. scripts/lib/cluster.sh
BENCH_DIR=${BENCH_DIR:-/var/tmp/pg_baostock-bench$([ "$PG_MAJOR" = 15 ] || echo "-$PG_MAJOR")}
PGDATA_BENCH=$BENCH_DIR/data
BENCH_PORT=${BENCH_PORT:-5497}
EMU_PORT=${BENCH_EMU_PORT:-10040}
CONTROL_PORT=$((EMU_PORT + 1))
export BENCH_SESSIONS=${BENCH_SESSIONS:-1 2 3}
export BENCH_SCALING_YEARS=${BENCH_SCALING_YEARS:-1 2 5 10}
export BENCH_PROFILE=${BENCH_PROFILE:-realistic}
export BENCH_PARTS=${BENCH_PARTS:-daily history extras}

log() { printf '\n==> %s\n' "$*" >&2; }

CITUS_DIR=$BENCH_DIR/citus
CITUS_PORT=${BENCH_CITUS_PORT:-5490}
with_citus() { [[ " $BENCH_PARTS " == *" citus "* ]]; }
if with_citus && [ "$PG_MAJOR" != 15 ]; then
  echo "BENCH_PARTS=citus: Citus 13.2.2 is built here for PostgreSQL 15 only" >&2
  exit 1
fi

stop() {
  if [ -d "$CITUS_DIR" ]; then
    bash scripts/citus-cluster.sh stop "$CITUS_DIR" "$CITUS_PORT" > /dev/null || true
  fi
  cluster_stop "$PGDATA_BENCH"
  if [ -f "$BENCH_DIR/emulator.pid" ]; then
    kill "$(cat "$BENCH_DIR/emulator.pid")" 2>/dev/null || true
    rm -f "$BENCH_DIR/emulator.pid"
  fi
}

bash scripts/setup.sh >&2
bash scripts/setup-python.sh >&2
# The demo and test clusters may have the library loaded: it is replaced in place below.
bash scripts/demo.sh stop
PG_MAJOR=18 bash scripts/demo.sh stop
stop
trap stop EXIT

log "building the emulator and installing the extension (release)"
cargo build --release -p baostock-emulator >&2
cargo pgrx install --release "${PG_FEATURES[@]}" --features bench --pg-config "$PG_CONFIG" >&2

rm -rf "$BENCH_DIR"
cluster_dir "$BENCH_DIR"

# The figures compare with earlier runs' (ETF bars in every year, every day up to the clock at
# once): the emulator publishes everything, not on the real server's schedule.
log "starting the emulator (profile $BENCH_PROFILE, publication always: every kind of every day up to its clock at once, ETF and minute bars without the real server's history floors) on 127.0.0.1:$EMU_PORT"
"$ROOT/target/release/baostock-emulator" --listen "127.0.0.1:$EMU_PORT" --control "127.0.0.1:$CONTROL_PORT" \
  --profile "$BENCH_PROFILE" --publication always > "$BENCH_DIR/emulator.log" 2>&1 &
echo $! > "$BENCH_DIR/emulator.pid"
wait_for_port "$CONTROL_PORT" "$(cat "$BENCH_DIR/emulator.pid")"

log "starting PostgreSQL $PG_MAJOR in $PGDATA_BENCH on port $BENCH_PORT"
cluster_initdb "$PGDATA_BENCH"
cat >> "$PGDATA_BENCH/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$BENCH_DIR'
port = $BENCH_PORT
shared_preload_libraries = 'pg_baostock'
baostock.worker_database = 'postgres'
baostock.host = '127.0.0.1'
baostock.port = $EMU_PORT
shared_buffers = '1GB'
max_wal_size = '8GB'
EOF
cluster_start "$PGDATA_BENCH" "$BENCH_DIR/postgres.log"

if with_citus; then
  log "starting a Citus cluster (coordinator and two workers) in $CITUS_DIR on ports $CITUS_PORT-$((CITUS_PORT + 2))"
  bash scripts/setup-citus.sh >&2
  CITUS_PRELOAD='citus,pg_baostock' bash scripts/citus-cluster.sh start "$CITUS_DIR" "$CITUS_PORT" >&2
  # Each node as the single node is set, and pointed at the emulator.
  for n in 0 1 2; do
    cluster_as "$BENCH_DIR" "$PGBIN/psql" -X -q -h "$CITUS_DIR" -p $((CITUS_PORT + n)) -d postgres \
      -c "ALTER SYSTEM SET shared_buffers = '1GB'" -c "ALTER SYSTEM SET max_wal_size = '8GB'" \
      -c "ALTER SYSTEM SET baostock.host = '127.0.0.1'" -c "ALTER SYSTEM SET baostock.port = $EMU_PORT"
  done
  for node in coordinator worker1 worker2; do
    cluster_as "$CITUS_DIR" "$PGBIN/pg_ctl" -D "$CITUS_DIR/$node" -l "$CITUS_DIR/$node.log" -m fast -w restart > /dev/null
  done
fi

export BENCH_DIR BENCH_PORT CONTROL_PORT PGDATA_BENCH PGBIN EMU_PORT CITUS_DIR CITUS_PORT
python3 scripts/bench.py | tee "$BENCH_DIR/bench.md"
