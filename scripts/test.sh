#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what is missing, then runs the
# format and lint checks, the layer check, the released SQL check, the Rust tests that need no Postgres (codec
# against the real captures, client against loopback servers), the extension's tests on a live
# cluster, and the worker's, jobs', upgrade and dump tests on a cluster driven from outside.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

export BAOSTOCK_CAPTURES=${BAOSTOCK_CAPTURES:-$(cd .. && pwd)/shared/baostock-captures}
PGRX_TEST_PGDATA=${PGRX_TEST_PGDATA:-/var/tmp/pg_baostock-test/pgdata}

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "layers point down (scripts/check-layers.sh)"
bash scripts/check-layers.sh --self-test
bash scripts/check-layers.sh

step "released SQL unchanged (scripts/check-released.sh)"
bash scripts/check-released.sh

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --features "pg_test bench" -- -D warnings

step "cargo test (crates without Postgres)"
cargo test -p baostock

step "emulator tests and the official-client conformance run"
bash scripts/test-emulator.sh

step "cargo pgrx test pg15 (live cluster, run as postgres)"
# cargo pgrx test overwrites the installed .so in place: stop the demo cluster that may have it
# loaded. The tests share one database and read committed run records: one at a time.
bash scripts/demo.sh stop
RUST_TEST_THREADS=1 cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_TEST_PGDATA"

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
