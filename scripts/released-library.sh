#!/usr/bin/env bash
# Builds the library of a released version from its commit (sql/released/VERSIONS), in a
# directory of its own under /var/tmp (a second run reuses the build), and prints the path of
# the built .so. Used by the upgrade test (tests/upgrade.rs).
#
#   bash scripts/released-library.sh 0.1.0
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/released.sh
version=${1:?usage: released-library.sh VERSION}
grep -q "^$version " sql/released/VERSIONS ||
  { echo "released-library.sh: $version is not in sql/released/VERSIONS" >&2; exit 1; }
commit=$(commit_of "$version")
src=$(tree_of "$commit")
target=/var/tmp/pg_baostock-released/$version/target
(cd "$src" && CARGO_TARGET_DIR="$target" cargo build --lib -p pg_baostock --quiet >&2)
echo "$target/debug/libpg_baostock.so"
