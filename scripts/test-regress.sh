#!/usr/bin/env bash
# The SQL-only objects (adjusted reads, views, health, alerts, grants) tested as SQL: each file
# of tests/regress/sql runs through psql under pg_regress against a running cluster with
# pg_baostock installed, in a database of its own (made anew), and its output must equal
# tests/regress/expected (or, where a PostgreSQL major words a message otherwise, NAME_1.out
# beside NAME.out: pg_regress takes either). scripts/test-cluster.sh runs it on its cluster.
#
#   bash scripts/test-regress.sh SOCKET_DIR PORT
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:?usage: test-regress.sh SOCKET_DIR PORT}
port=${2:?usage: test-regress.sh SOCKET_DIR PORT}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
regress=$("$PGBIN/pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress
out=${REGRESS_OUT:-/var/tmp/pg_baostock-regress}
rm -rf "$out"
mkdir -p "$out"
# pg_regress makes no database on an existing cluster: a new one, with the extension.
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d postgres \
  -c "DROP DATABASE IF EXISTS pg_baostock_regress" -c "CREATE DATABASE pg_baostock_regress" > /dev/null
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d pg_baostock_regress \
  -c "CREATE EXTENSION pg_baostock" > /dev/null
if ! PGTZ=UTC PGDATESTYLE='ISO, MDY' "$regress" --use-existing --host="$host" --port="$port" --user=postgres \
  --bindir="$PGBIN" --dbname=pg_baostock_regress \
  --inputdir=tests/regress --outputdir="$out" --schedule=tests/regress/schedule; then
  if [ -f "$out/regression.diffs" ]; then
    cat "$out/regression.diffs"
  fi
  echo "test-regress: output differs from tests/regress/expected (above; all of it in $out)" >&2
  exit 1
fi
