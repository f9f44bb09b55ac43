#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what is missing, then runs every
# tier, or the tiers named:
#
#   bash scripts/test.sh                  # every tier, in the order below
#   bash scripts/test.sh citus pg_upgrade # those tiers alone
#
#   lint        fmt, the layers, the manual (mdbook, links), released SQL and the assembled
#               update, clippy -D warnings for 15 and for 18
#   unit        the crates without Postgres: the core (units, planning, COPY's formats, row
#               digests), codec against the real captures, client against loopback servers,
#               the emulator, the official-client conformance run
#   pgrx15      the extension's #[pg_test]s in a live PostgreSQL 15 (pgrx-tests/)
#   pgrx18      the same in PostgreSQL 18
#   cluster15   the tests that drive a 15 cluster from outside (tests/), on a database updated
#               from 0.1.0, and the pg_regress files (tests/regress)
#   prometheus  Debian's exporter and promtool against the health views
#   citus       a Citus coordinator with two workers against one node
#   cluster18   the cluster tests on 18, on a database taken up from 0.2.0's SQL
#   pg_upgrade  a live database moved from 15 to 18 with pg_upgrade
#   package     the Debian packages for 15 and 18 (scripts/package.sh, lintian) installed with
#               dpkg on a host without the build, and the last release's package upgraded
#
# Each tier installs the build it tests (cargo pgrx install is quick once built; the pgrx tiers
# install a test build, which the next tier replaces), so any tier runs alone on a clean clone
# and the tiers run in any order. What depends on PostgreSQL runs on 15 and on 18; what does
# not runs once: a second run would prove nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(lint unit pgrx15 pgrx18 cluster15 prometheus citus cluster18 pg_upgrade package)
tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=("${ALL[@]}")
for t in "${tiers[@]}"; do
  [[ " ${ALL[*]} " == *" $t "* ]] || { echo "test.sh: no tier '$t' (tiers: ${ALL[*]})" >&2; exit 2; }
done

bash scripts/setup.sh

export BAOSTOCK_CAPTURES=${BAOSTOCK_CAPTURES:-$(cd .. && pwd)/shared/baostock-captures}
PGRX_TEST_PGDATA=${PGRX_TEST_PGDATA:-/var/tmp/pg_baostock-test/pgdata}
PG15_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG18_CONFIG=$(PG_MAJOR=18; . scripts/lib/pg-env.sh; echo "$PG_CONFIG")

step() { printf '\n==> %s\n' "$*"; }

# The build users get, installed for 15 or 18 (a cluster that loaded the library is stopped by
# the tier that started it before another installs).
install_15() { cargo pgrx install --pg-config "$PG15_CONFIG"; }
install_18() { cargo pgrx install --pg-config "$PG18_CONFIG" --no-default-features --features pg18; }

tier_lint() {
  step "cargo fmt --check"
  cargo fmt --all -- --check
  step "layers point down (scripts/check-layers.sh)"
  bash scripts/check-layers.sh --self-test
  bash scripts/check-layers.sh
  step "the manual: its links and anchors (scripts/check-docs.py), mdbook build docs"
  bash scripts/setup-mdbook.sh
  python3 scripts/check-docs.py --self-test
  python3 scripts/check-docs.py
  mdbook build docs --dest-dir "$PWD/target/book"
  step "released SQL unchanged, the update assembled from sql/updates/ and the sources (no install)"
  bash scripts/check-released.sh --assembled
  step "cargo clippy -D warnings (PostgreSQL 15, then the extension for 18)"
  cargo clippy --workspace --all-targets --features "pg_test bench" -- -D warnings
  cargo clippy -p pg_baostock --all-targets --no-default-features --features "pg18 pg_test bench" -- -D warnings
}

tier_unit() {
  step "cargo test (crates without Postgres: the core, the codec and client)"
  cargo test -p pg_baostock-core
  cargo test -p baostock
  step "emulator tests and the official-client conformance run"
  bash scripts/test-emulator.sh
}

tier_pgrx15() {
  step "cargo pgrx test pg15 (live cluster, run as postgres)"
  # cargo pgrx test overwrites the installed .so in place: stop the demo cluster that may have
  # it loaded. The tests share one database and read committed run records: one at a time.
  bash scripts/demo.sh stop
  RUST_TEST_THREADS=1 cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_TEST_PGDATA"
}

tier_pgrx18() {
  step "cargo pgrx test pg18 (the same tests on PostgreSQL 18)"
  PG_MAJOR=18 bash scripts/demo.sh stop
  RUST_TEST_THREADS=1 cargo pgrx test pg18 --runas postgres --pgdata "${PGRX_TEST_PGDATA}18"
}

tier_cluster15() {
  step "cargo pgrx install for 15 (the build users get) and its install script against the released one"
  install_15
  bash scripts/check-released.sh --installed
  step "cluster tests on a database upgraded from 0.1.0 (scripts/test-cluster.sh)"
  # Jobs must commit for the worker to see them, which a #[pg_test] never does: these tests
  # drive a real cluster from outside. Its database is made by 0.1.0's library and SQL,
  # filled, then updated with ALTER EXTENSION and compared with a fresh install before the
  # tests run on it; the dump test (tests/dump.rs) moves a database with pg_dump / pg_restore.
  UPGRADE_FROM=0.1.0 bash scripts/test-cluster.sh
}

tier_prometheus() {
  step "the health in Prometheus: Debian's exporter scraped, promtool rules (tests/prometheus.rs)"
  install_15
  cargo test -p pg_baostock-cluster-tests --test prometheus
}

tier_citus() {
  step "Citus: the same days on one node and on a coordinator with two workers (tests/citus.rs)"
  # Citus 13.2.2 is built once and cached by the tarball's digest (scripts/setup-citus.sh); its
  # cluster runs the build users get for 15.
  bash scripts/setup-citus.sh
  install_15
  cargo test -p pg_baostock-cluster-tests --test citus -- --nocapture
}

tier_cluster18() {
  step "the build for PostgreSQL 18 and its SQL, the same as 15's"
  install_15
  install_18
  bash scripts/check-released.sh --same-sql "$(dirname "$PG18_CONFIG")"
  step "cluster tests on PostgreSQL 18, on a database taken up from 0.2.0's SQL"
  # Every cluster test again, on 18 (its pg_dump / pg_restore, pg_cron 1.6 with cron.timezone):
  # they exercise what differs between the majors (COPY, the worker, shared memory, the
  # catalogs). The released libraries are 15 builds: the upgrade is of the SQL from 0.2.0 on.
  PG_MAJOR=18 UPGRADE_FROM=0.2.0 bash scripts/test-cluster.sh
}

tier_pg_upgrade() {
  step "a live database moved from PostgreSQL 15 to 18 with pg_upgrade (tests/pg_upgrade.rs)"
  install_15
  install_18
  cargo test -p pg_baostock-cluster-tests --test pg_upgrade
}

tier_package() {
  step "Debian packages: made (scripts/package.sh, lintian), installed and upgraded with dpkg (tests/package.rs)"
  # Release builds: this checkout's (target/release), the last release's cached by its commit.
  # The test sets aside what the build installed and puts it back, so no install is needed.
  local out=$PWD/target/packages
  PACKAGE_OUT=$out bash scripts/package.sh --lint
  PACKAGE_OUT=$out PG_CONFIG=$PG18_CONFIG bash scripts/package.sh --lint
  PACKAGE_OUT=$out bash scripts/package.sh --commit "$(. scripts/lib/released.sh; last_release)"
  PACKAGE_DIR=$out cargo test -p pg_baostock-cluster-tests --test package -- --nocapture --test-threads=1
}

for t in "${tiers[@]}"; do
  start=$SECONDS
  "tier_$t"
  printf '\n==> tier %s passed in %d s\n' "$t" $((SECONDS - start))
done
