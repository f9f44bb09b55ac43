#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what is missing, then runs the
# format and lint checks, the layer check, the released SQL check, the Rust tests that need no
# Postgres (codec against the real captures, client against loopback servers), the extension's
# tests on a live cluster, and the worker's, jobs', upgrade and dump tests on a cluster driven
# from outside. What depends on PostgreSQL runs on 15 and on 18 (clippy, pgrx tests, cluster
# tests), then a pg_upgrade from one to the other; what does not (codec, client, emulator,
# conformance, layers, released SQL) runs once: a second run would prove nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

export BAOSTOCK_CAPTURES=${BAOSTOCK_CAPTURES:-$(cd .. && pwd)/shared/baostock-captures}
PGRX_TEST_PGDATA=${PGRX_TEST_PGDATA:-/var/tmp/pg_baostock-test/pgdata}
PG18_CONFIG=$(PG_MAJOR=18; . scripts/pg-env.sh; echo "$PG_CONFIG")

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "layers point down (scripts/check-layers.sh)"
bash scripts/check-layers.sh --self-test
bash scripts/check-layers.sh

step "released SQL unchanged (scripts/check-released.sh)"
bash scripts/check-released.sh

step "cargo clippy -D warnings (PostgreSQL 15, then the extension for 18)"
cargo clippy --workspace --all-targets --features "pg_test bench" -- -D warnings
cargo clippy -p pg_baostock --all-targets --no-default-features --features "pg18 pg_test bench" -- -D warnings

step "cargo test (crates without Postgres)"
cargo test -p baostock

step "emulator tests and the official-client conformance run"
bash scripts/test-emulator.sh

step "cargo pgrx test pg15 (live cluster, run as postgres)"
# cargo pgrx test overwrites the installed .so in place: stop the demo cluster that may have it
# loaded. The tests share one database and read committed run records: one at a time.
bash scripts/demo.sh stop
RUST_TEST_THREADS=1 cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_TEST_PGDATA"

step "cargo pgrx test pg18 (the same tests on PostgreSQL 18)"
PG_MAJOR=18 bash scripts/demo.sh stop
RUST_TEST_THREADS=1 cargo pgrx test pg18 --runas postgres --pgdata "${PGRX_TEST_PGDATA}18"

step "cargo pgrx install (the build users get) and its install script against the released one"
# cargo pgrx test installed a build with the test functions; the cluster tests and the upgrade
# test use what users install.
cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config
bash scripts/check-released.sh --installed

step "cluster tests on a database upgraded from 0.1.0 (scripts/test-cluster.sh)"
# Jobs must commit for the worker to see them, which a #[pg_test] never does: these tests drive
# a real cluster from outside. Its database is made by 0.1.0's library and SQL, filled, then
# updated with ALTER EXTENSION and compared with a fresh install before the tests run on it;
# the dump test (tests/dump.rs) moves a database with pg_dump / pg_restore.
UPGRADE_FROM=0.1.0 bash scripts/test-cluster.sh

step "the health in Prometheus: Debian's exporter scraped, promtool rules (scripts/test-prometheus.sh)"
bash scripts/test-prometheus.sh

step "Citus: the same days on one node and on a coordinator with two workers (scripts/test-citus.sh)"
# Citus 13.2.2 is built once and cached by the tarball's digest (scripts/setup-citus.sh); its
# cluster runs the build users get for 15, installed above.
bash scripts/test-citus.sh

step "the build for PostgreSQL 18 and its SQL, the same as 15's"
cargo pgrx install --pg-config "$PG18_CONFIG" --no-default-features --features pg18
bash scripts/check-released.sh --same-sql "$(dirname "$PG18_CONFIG")"

step "cluster tests on PostgreSQL 18, on a database taken up from 0.2.0's SQL"
# Every cluster test again, on 18 (its pg_dump / pg_restore, pg_cron 1.6 with cron.timezone):
# they exercise what differs between the majors (COPY, the worker, shared memory, the
# catalogs). The released libraries are 15 builds: the upgrade is of the SQL from 0.2.0 on.
PG_MAJOR=18 UPGRADE_FROM=0.2.0 bash scripts/test-cluster.sh

step "a live database moved from PostgreSQL 15 to 18 with pg_upgrade (scripts/test-pg-upgrade.sh)"
bash scripts/test-pg-upgrade.sh
