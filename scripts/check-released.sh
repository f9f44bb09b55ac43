#!/usr/bin/env bash
# Released SQL never changes. Checks that every released install script (sql/released/) and
# every upgrade script (sql/pg_baostock--A--B.sql) of a released version still has the digest
# recorded in sql/released/SHA256SUMS and that each released version has a path of upgrade
# scripts to the current one; with --installed, that the install script `cargo pgrx install`
# generated for this version equals the released one when this version is released (a schema
# change needs a new version and an upgrade script, not an edit); with --assembled, before this
# version is released, that its upgrade scripts are what sql/updates/ and the sources assemble
# (scripts/assemble-update.sh, no install needed).
#
#   bash scripts/check-released.sh               # the digests and the upgrade paths
#   bash scripts/check-released.sh --installed   # also the installed install script
#   bash scripts/check-released.sh --assembled   # also the committed update scripts
#   bash scripts/check-released.sh --record      # at a release: records the current version
#   bash scripts/check-released.sh --same-sql BIN   # 18's generated install script = 15's
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
extdir=$("${PGBIN:-/usr/lib/postgresql/15/bin}/pg_config" --sharedir)/extension
fail() {
  printf 'check-released: %s\n' "$*" >&2
  exit 1
}
# pgrx writes the source line of each generated object as a comment: not part of the schema.
normalized() { sed -E 's/^(-- src\/[^:]+):[0-9]+$/\1/' "$1"; }

# The install script generated for another major (its bin directory): the same SQL as 15's.
if [ "${1:-}" = "--same-sql" ]; then
  other=$("${2:?--same-sql needs a bin directory}/pg_config" --sharedir)/extension/pg_baostock--$version.sql
  [ -f "$other" ] || fail "$other is not installed"
  [ -f "$extdir/pg_baostock--$version.sql" ] || fail "$extdir/pg_baostock--$version.sql is not installed"
  if ! diff <(normalized "$extdir/pg_baostock--$version.sql") <(normalized "$other") > /tmp/check-released.diff; then
    cat /tmp/check-released.diff >&2
    fail "the install script generated for $(dirname "$other") differs from 15's (< 15, > the other)"
  fi
  echo "check-released: the install script of $version is the same for 15 and $("${2}/pg_config" --version)"
  exit 0
fi

if [ "${1:-}" = "--record" ]; then
  released="sql/released/pg_baostock--$version.sql"
  [ -e "$released" ] && fail "$version is released already ($released): bump the version in Cargo.toml"
  cp "$extdir/pg_baostock--$version.sql" "$released"
  commit=$(git rev-parse HEAD)
  echo "$version $commit" >> sql/released/VERSIONS
  (cd sql && sha256sum "released/pg_baostock--$version.sql" pg_baostock--*--"$version".sql >> released/SHA256SUMS)
  echo "recorded $version (install script of commit $commit): commit sql/released/"
  exit 0
fi

# 1. Nothing released has changed.
if ! (cd sql && sha256sum --quiet --strict -c released/SHA256SUMS); then
  fail "a released SQL script changed (listed above). Released scripts are immutable: users' databases
were made by them. Put the change in a new version: bump Cargo.toml's version and write
sql/pg_baostock--OLD--NEW.sql (see docs/src/upgrading.md)."
fi
# 2. Every released version can reach this one.
for v in $(awk '!/^#/ && NF { print $1 }' sql/released/VERSIONS); do
  [ -f "sql/released/pg_baostock--$v.sql" ] || fail "released $v has no install script sql/released/pg_baostock--$v.sql"
  at=$v
  steps=0
  while [ "$at" != "$version" ]; do
    # The furthest step up that does not pass the current version.
    next=$(find sql -maxdepth 1 -name "pg_baostock--$at--*.sql" | sed -E 's/.*--([^-]+)\.sql$/\1/' |
      while read -r to; do
        if [ "$to" != "$at" ] && [ "$(printf '%s\n%s\n' "$at" "$to" | sort -V | head -n 1)" = "$at" ] &&
          [ "$(printf '%s\n%s\n' "$to" "$version" | sort -V | head -n 1)" = "$to" ]; then
          echo "$to"
        fi
      done | sort -V | tail -n 1)
    steps=$((steps + 1))
    [ -n "$next" ] && [ "$steps" -le 100 ] ||
      fail "no upgrade path from released $v to $version (missing sql/pg_baostock--$at--*.sql)"
    at=$next
  done
done
# 3. This version's generated install script is the released one.
if [ "${1:-}" = "--installed" ] && [ -f "sql/released/pg_baostock--$version.sql" ]; then
  installed="$extdir/pg_baostock--$version.sql"
  [ -f "$installed" ] || fail "$installed is not installed (cargo pgrx install first)"
  if ! diff <(normalized "sql/released/pg_baostock--$version.sql") <(normalized "$installed") > /tmp/check-released.diff; then
    cat /tmp/check-released.diff >&2
    fail "the SQL this build generates differs from released $version (< released, > generated). The
schema of a released version cannot change: bump Cargo.toml's version and write an upgrade script."
  fi
fi
# 4. An upgrade script to this unreleased version is what sql/updates/ and the sources assemble.
if [ "${1:-}" = "--assembled" ] && [ ! -f "sql/released/pg_baostock--$version.sql" ]; then
  for part in sql/updates/*--"$version".sql; do
    [ -f "$part" ] || continue
    from=$(basename "$part" .sql)
    bash scripts/assemble-update.sh "${from%%--*}" --check
  done
fi
echo "check-released: released scripts unchanged; every released version upgrades to $version"
