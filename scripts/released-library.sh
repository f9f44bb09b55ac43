#!/usr/bin/env bash
# Builds the library of a released version from its commit (sql/released/VERSIONS), in a
# directory of its own under /var/tmp (a second run reuses the build), and prints the path of
# the built .so. Used by the upgrade test (tests/upgrade.rs).
#
#   bash scripts/released-library.sh 0.1.0
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: released-library.sh VERSION}
commit=$(awk -v v="$version" '$1 == v { print $2 }' sql/released/VERSIONS)
if [ -z "$commit" ]; then
  echo "released-library.sh: $version is not in sql/released/VERSIONS" >&2
  exit 1
fi
dir=/var/tmp/pg_baostock-released/$version
if [ "$(cat "$dir/commit" 2>/dev/null)" != "$commit" ]; then
  rm -rf "$dir/src"
  mkdir -p "$dir/src"
  git archive "$commit" | tar -x -C "$dir/src"
  echo "$commit" > "$dir/commit"
fi
(cd "$dir/src" && CARGO_TARGET_DIR="$dir/target" cargo build --lib -p pg_baostock --quiet >&2)
echo "$dir/target/debug/libpg_baostock.so"
