#!/usr/bin/env bash
# The main job on a fresh machine: builds and installs the extension (release), starts the
# emulator as the Baostock server, starts a PostgreSQL cluster (15; PG_MAJOR=18 for 18) with pg_baostock and pg_cron
# preloaded, loads the calendar and the securities, backfills the last trading days with a job
# of the background worker (backfill + wait), schedules the daily sync with pg_cron, and
# prints the health report.
#
#   DEMO_DAYS=60       trading days to backfill (the newest ones)
#   DEMO_PROFILE=realistic   emulator latency profile (fast: no delay)
#   DEMO_PORT=5499     cluster port; EMULATOR_PORT=10030
#   PG_MAJOR=18        PostgreSQL 18 (the wheel scripts/setup.sh installs) instead of 15
#
# Leaves the cluster and the emulator running; `bash scripts/demo.sh stop` stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

. scripts/lib/pg-env.sh
. scripts/lib/cluster.sh
DEMO_DIR=${DEMO_DIR:-/var/tmp/pg_baostock-demo$([ "$PG_MAJOR" = 15 ] || echo "-$PG_MAJOR")}
PGDATA_DEMO=$DEMO_DIR/data
DEMO_PORT=${DEMO_PORT:-5499}
EMULATOR_PORT=${EMULATOR_PORT:-10030}
DEMO_DAYS=${DEMO_DAYS:-60}
DEMO_PROFILE=${DEMO_PROFILE:-realistic}
DB=baostock_demo

log() { printf '\n==> %s\n' "$*"; }
psql_demo() { cluster_as "$DEMO_DIR" "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -h "$DEMO_DIR" -p "$DEMO_PORT" -d "$DB" "$@"; }

stop() {
  cluster_stop "$PGDATA_DEMO"
  if [ -f "$DEMO_DIR/emulator.pid" ]; then
    kill "$(cat "$DEMO_DIR/emulator.pid")" 2>/dev/null || true
    rm -f "$DEMO_DIR/emulator.pid"
  fi
}

if [ "${1:-}" = "stop" ]; then
  stop
  exit 0
fi

bash scripts/setup.sh
stop

log "building the emulator and installing the extension (release)"
cargo build --release -p baostock-emulator
cargo pgrx install --release --pg-config "$PG_CONFIG" "${PG_FEATURES[@]}"

log "starting the emulator on 127.0.0.1:$EMULATOR_PORT (profile $DEMO_PROFILE)"
cluster_dir "$DEMO_DIR"
nohup "$ROOT/target/release/baostock-emulator" --listen "127.0.0.1:$EMULATOR_PORT" --profile "$DEMO_PROFILE" \
  > "$DEMO_DIR/emulator.log" 2>&1 &
echo $! > "$DEMO_DIR/emulator.pid"
wait_for_port "$EMULATOR_PORT" "$(cat "$DEMO_DIR/emulator.pid")"

log "starting PostgreSQL $PG_MAJOR in $PGDATA_DEMO on port $DEMO_PORT"
if [ ! -f "$PGDATA_DEMO/PG_VERSION" ]; then
  cluster_initdb "$PGDATA_DEMO"
  cat >> "$PGDATA_DEMO/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$DEMO_DIR'
port = $DEMO_PORT
shared_preload_libraries = 'pg_baostock,pg_cron'
cron.database_name = '$DB'
baostock.host = '127.0.0.1'
baostock.port = $EMULATOR_PORT
EOF
fi
grep -q "^baostock.worker_database" "$PGDATA_DEMO/postgresql.conf" ||
  echo "baostock.worker_database = '$DB'" >> "$PGDATA_DEMO/postgresql.conf"
cluster_start "$PGDATA_DEMO" "$DEMO_DIR/postgres.log"
cluster_as "$DEMO_DIR" "$PGBIN/createdb" -h "$DEMO_DIR" -p "$DEMO_PORT" "$DB" 2>/dev/null || true

log "CREATE EXTENSION pg_baostock; calendar and securities"
psql_demo <<'SQL'
DROP EXTENSION IF EXISTS pg_baostock;
CREATE EXTENSION pg_baostock;
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT status AS calendar, rows_inserted, requests, round(seconds::numeric, 2) AS seconds FROM baostock.sync_calendar();
SELECT status AS securities, rows_inserted, requests, round(seconds::numeric, 2) AS seconds FROM baostock.sync_securities();
SQL

log "backfilling the last $DEMO_DAYS trading days: a job for the background worker"
psql_demo -v days="$DEMO_DAYS" <<'SQL'
SELECT min(day) AS start FROM (SELECT day FROM baostock.trade_calendar
      WHERE is_trading_day AND day <= baostock.latest_trading_day()
      ORDER BY day DESC LIMIT :days) d \gset
-- The bars of every code; factor histories (a request a code, once) follow for two codes.
SELECT * FROM baostock.plan(:'start', factors => false);
SELECT baostock.backfill(:'start', factors => false) AS job \gset
SELECT baostock.wait(:job);
SELECT job_id, state, units_total, units_done, units_failed, rows_written, requests,
       round(extract(epoch FROM finished_at - started_at)::numeric, 1) AS seconds, round(rate::numeric, 1) AS units_per_s
FROM baostock.jobs WHERE job_id = :job;
SQL

log "adjusted prices, computed in SQL: the factor histories of two codes, then their last closes"
psql_demo -v days="$DEMO_DAYS" <<'SQL'
SELECT baostock.backfill(baostock.latest_trading_day() - 7, codes => ARRAY['sh.600000', 'sz.000001']) AS job \gset
SELECT baostock.wait(:job);
SELECT b.code, b.date, b.close AS raw, q.close AS qfq, h.close AS hfq
FROM baostock.daily_bars b
JOIN baostock.daily_bars_qfq q USING (code, date)
JOIN baostock.daily_bars_hfq h USING (code, date)
WHERE b.code IN ('sh.600000', 'sz.000001') AND b.date > baostock.latest_trading_day() - 7
ORDER BY b.code, b.date;
SQL

log "what the scheduled call does now: every day is synced, so it only refreshes the reference data"
psql_demo <<'SQL'
SELECT day, status, requests FROM baostock.sync_date();
SELECT index_name, update_date, count(*) AS constituents FROM baostock.index_constituents GROUP BY 1, 2 ORDER BY 1;
SELECT industry, count(*) AS stocks FROM baostock.stock_industries GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5;
SQL

log "scheduling the daily sync with pg_cron: 18:30, 19:30, 21:00, 23:00 China time and a morning retry (in pg_cron's time zone)"
psql_demo <<'SQL'
SELECT * FROM baostock.schedule_daily();
SELECT jobname, schedule, command FROM cron.job ORDER BY jobname;
SQL

log "the server publishes a day in stages (daily bars 17:30, factors 18:00, minute bars 20:00 China time): what of the newest trading day it has not published yet"
psql_demo <<'SQL'
SELECT (SELECT max(day) FROM baostock.trade_calendar WHERE is_trading_day AND day <= baostock.server_time()::date)
         AS newest_trading_day, awaiting, baostock.latest_trading_day() AS newest_published_day
FROM baostock.health;
SQL

log "health report"
psql_demo <<'SQL'
\x on
SELECT * FROM baostock.health;
\x off
SELECT kind, severity, message FROM baostock.open_alerts;
SELECT kind, status, count(*) AS runs, sum(requests) AS requests, sum(rows_inserted) AS rows,
       round(avg(extract(epoch FROM duration))::numeric, 2) AS mean_s
FROM baostock.runs GROUP BY kind, status ORDER BY kind, status;
SELECT frequency, count(*) AS codes, sum(bars) AS bars, min(first_day) AS first_day, max(last_day) AS last_day
FROM baostock.coverage GROUP BY frequency;
SELECT count(*) AS gaps FROM baostock.gaps;
SQL

cat <<EOF

The cluster and the emulator keep running:
  sudo -u postgres $PGBIN/psql -h $DEMO_DIR -p $DEMO_PORT $DB
  PG_MAJOR=$PG_MAJOR bash scripts/demo.sh stop
EOF
