#!/usr/bin/env bash
# The health in Prometheus, tested with the real parts: Debian's prometheus-postgres-exporter
# (0.11) with contrib/prometheus/queries.yaml against a cluster whose pg_baostock has known
# data (a calendar nothing is synced of, a failed job, a failed run), scraped over 127.0.0.1;
# the series and their values are checked against that data. Then promtool checks the rules of
# contrib/prometheus/alerts.yml and runs their unit tests (each rule fires and clears).
#
# Assumes pg_baostock is installed into PostgreSQL 15. Run as root; the cluster runs as
# postgres under /var/tmp/pg_baostock-prometheus and stops on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh
DIR=/var/tmp/pg_baostock-prometheus
PORT=5495
EXPORTER_PORT=9787
DB=market
EXPORTER_PID=

fail() {
  printf 'test-prometheus: %s\n' "$*" >&2
  exit 1
}
as_pg() { (cd "$DIR" && sudo -u postgres "$@"); }
q() { "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d "$DB" "$@"; }
cleanup() {
  local rc=$?
  if [ -n "$EXPORTER_PID" ]; then kill "$EXPORTER_PID" 2> /dev/null || true; fi
  if [ "$rc" -ne 0 ]; then
    for f in "$DIR"/*.log; do [ -f "$f" ] && { echo "==> $f"; tail -n 30 "$f"; }; done
  fi
  if [ -f "$DIR/data/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop > /dev/null || true; fi
  exit "$rc"
}

for p in prometheus-postgres-exporter promtool curl; do
  command -v "$p" > /dev/null || fail "$p is missing (scripts/setup.sh installs it)"
done
if [ -f "$DIR/data/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop > /dev/null || true; fi
rm -rf "$DIR"
mkdir -p "$DIR"
chown postgres:postgres "$DIR"
trap cleanup EXIT

echo "==> the rules: promtool check rules, promtool test rules"
(cd contrib/prometheus && promtool check rules alerts.yml && promtool test rules alerts_test.yml)

echo "==> a cluster with known data"
as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -E UTF8 --locale C.UTF-8 > /dev/null
cat >> "$DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$DIR'
port = $PORT
shared_preload_libraries = 'pg_baostock'
baostock.worker_database = '$DB'
EOF
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w start > /dev/null
"$PGBIN/psql" -X -q -h "$DIR" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE $DB"
# Two trading days long published and not synced (stale, lag 2), a job that failed, a failed
# sync_date run of 3 requests and 2.5 s.
q -q <<'SQL'
CREATE EXTENSION pg_baostock;
INSERT INTO baostock.trade_calendar (day, is_trading_day) VALUES ('2020-01-14', true), ('2020-01-15', true), ('2020-01-16', false);
INSERT INTO baostock.sync_jobs (state, start_date, end_date, frequency, force, plan, est_requests, est_seconds,
                                error_message, started_at, finished_at)
VALUES ('failed', '2020-01-14', '2020-01-15', 'd', false, '{}', 2, 1, 'a failure made by the test', now(), now());
INSERT INTO baostock.sync_runs (kind, day, started_at, finished_at, status, requests, error_sqlstate, error_message)
VALUES ('sync_date', '2020-01-15', now() - interval '2.5 seconds', now(), 'failed', 3, '08P01', 'made by the test');
SQL
# The worker evaluates alerts every 2 s: the stale and job_failures alerts.
for _ in $(seq 100); do
  [ "$(q -c "SELECT count(*) FROM baostock.open_alerts")" = 2 ] && break
  sleep 0.2
done
[ "$(q -c "SELECT string_agg(kind, ',' ORDER BY kind) FROM baostock.open_alerts")" = "job_failures,stale" ] ||
  fail "the worker raised $(q -c "SELECT string_agg(kind, ',') FROM baostock.open_alerts")"

echo "==> prometheus-postgres-exporter with contrib/prometheus/queries.yaml, scraped on 127.0.0.1:$EXPORTER_PORT"
DATA_SOURCE_NAME="host=$DIR port=$PORT user=postgres dbname=$DB sslmode=disable" \
  prometheus-postgres-exporter --extend.query-path=contrib/prometheus/queries.yaml \
  --web.listen-address="127.0.0.1:$EXPORTER_PORT" --disable-default-metrics --disable-settings-metrics \
  > "$DIR/exporter.log" 2>&1 &
EXPORTER_PID=$!
metrics=
for _ in $(seq 100); do
  metrics=$(curl -sf "http://127.0.0.1:$EXPORTER_PORT/metrics" || true)
  grep -q '^baostock_status_info' <<< "$metrics" && break
  sleep 0.2
done
echo "$metrics" | grep '^baostock_' > "$DIR/scrape.txt" || fail "no baostock_ series in the scrape"
cat "$DIR/scrape.txt"

# A series (name and label=value pairs, in any order) must have the value.
expect() {
  local name=$1 want=$2
  shift 2
  local found
  found=$(awk -v name="$name" -v labels="$*" '
    { split($1, head, "{"); if (head[1] != name) next
      n = split(labels, need, " "); ok = 1
      for (i = 1; i <= n; i++) if (index($1, need[i]) == 0) ok = 0
      if (ok) { print $2; exit } }' "$DIR/scrape.txt")
  [ -n "$found" ] || fail "no series $name{$*}"
  [ "$found" = "$want" ] || fail "$name{$*} is $found, not $want"
  echo "ok: $name{$*} = $want"
}
expect baostock_status_info 1 'status="stale"'
expect baostock_health_lag_trading_days 2
expect baostock_health_holes 0
expect baostock_health_worker_up 1
expect baostock_health_blacklisted 0
expect baostock_health_open_alerts 2
expect baostock_health_tracked_lagging 0
expect baostock_health_consecutive_failures 1
expect baostock_open_alerts_count 1 'kind="stale"' 'severity="warning"'
expect baostock_open_alerts_count 1 'kind="job_failures"'
expect baostock_open_alerts_count 0 'kind="blacklisted"'
expect baostock_jobs_jobs 1 'state="failed"'
expect baostock_jobs_jobs 0 'state="running"'
expect baostock_runs_runs 1 'kind="sync_date"' 'status="failed"'
expect baostock_runs_requests 3 'kind="sync_date"' 'status="failed"'
expect baostock_runs_seconds 2.5 'kind="sync_date"' 'status="failed"'
echo "test-prometheus: ok"
