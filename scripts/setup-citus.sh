#!/usr/bin/env bash
# Citus 13.2.2 for Debian's PostgreSQL 15 (Debian 12 packages no Citus): built once from
# ../shared/vendor/citus-13.2.2.tar.gz, `make install DESTDIR=` into a staging tree cached under
# /var/tmp/pg_baostock-citus/<sha256 of the tarball>/, then copied from there into PostgreSQL's
# own directories (pkglibdir, sharedir/extension, includedir-server) on every run. A second run
# only compares the staged files with the installed ones (seconds). Libraries are replaced by
# rename, never rewritten in place, so a cluster that has the old citus.so mapped keeps running.
# Run as root (scripts/citus-cluster.sh starts a cluster with it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
CITUS_TARBALL=${CITUS_TARBALL:-$(cd .. && pwd)/shared/vendor/citus-13.2.2.tar.gz}
CACHE_ROOT=${CITUS_CACHE:-/var/tmp/pg_baostock-citus}
APT_PACKAGES=(liblz4-dev libzstd-dev libkrb5-dev libssl-dev)
log() { printf '[setup] citus: %s\n' "$*"; }

"$PG_CONFIG" --version | grep -q '^PostgreSQL 15' || { echo "setup-citus: $PG_CONFIG is not PostgreSQL 15" >&2; exit 1; }

digest=$(sha256sum "$CITUS_TARBALL" | cut -d' ' -f1)
cache=$CACHE_ROOT/$digest
# The staging tree is complete only once `complete` exists (written last, after a whole
# build and DESTDIR install); anything else there is the leftover of an interrupted run.
if [ -f "$cache/complete" ] && [ -d "$cache/stage" ]; then
  log "cached build of $(basename "$CITUS_TARBALL") in $cache"
else
  apt_install "${APT_PACKAGES[@]}"

  log "building $(basename "$CITUS_TARBALL") against $("$PG_CONFIG" --version) (a few minutes)"
  mkdir -p "$CACHE_ROOT"
  rm -rf "$cache"
  build=$(mktemp -d "$CACHE_ROOT/build.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  tar -xzf "$CITUS_TARBALL" -C "$build"
  src=$(echo "$build"/citus-*)

  # PostgreSQL 15.x minor releases since 2025 export have_createdb_privilege() and declare it
  # in commands/dbcommands.h; Citus 13.2.2's compatibility header still defines a static
  # inline copy for PG15, and the two declarations clash. When the server headers declare it,
  # replace that copy with the header itself (the exported function does the same check).
  compat=$src/src/include/pg_version_compat.h
  if grep -q 'extern bool have_createdb_privilege(void);' \
    "$("$PG_CONFIG" --includedir-server)/commands/dbcommands.h" &&
    grep -q '^have_createdb_privilege(void)$' "$compat"; then
    log "patching $(basename "$compat"): server headers declare have_createdb_privilege()"
    perl -0pi -e 's/static inline bool\nhave_createdb_privilege\(void\)\n\{.*?\n\}\n/#include "commands\/dbcommands.h"\n/s' "$compat"
    ! grep -q '^have_createdb_privilege(void)$' "$compat" || { echo "setup-citus: patch of $compat failed" >&2; exit 1; }
  fi

  start=$SECONDS
  (
    cd "$src"
    ./configure --without-libcurl PG_CONFIG="$PG_CONFIG"
    make -j2
    make install DESTDIR="$build/stage"
  ) > "$build/build.log" 2>&1 || { tail -n 60 "$build/build.log" >&2; exit 1; }
  log "built in $((SECONDS - start)) s"

  mkdir -p "$cache"
  mv "$build/stage" "$cache/stage"
  mv "$build/build.log" "$cache/build.log"
  "$PG_CONFIG" --version > "$cache/pg_version"
  touch "$cache/complete"
  rm -rf "$build"
  trap - EXIT
fi

# Copy the staged tree into / : only files that differ, each through a temporary name in its
# target directory and a rename (atomic; a running postgres keeps the old inode it mapped).
changed=0
while IFS= read -r -d '' f; do
  rel=${f#"$cache/stage"}
  dest=$rel
  if [ -f "$dest" ] && cmp -s "$f" "$dest"; then
    continue
  fi
  mkdir -p "$(dirname "$dest")"
  tmp=$(dirname "$dest")/.$(basename "$dest").citus-new.$$
  cp --preserve=mode "$f" "$tmp"
  mv -f "$tmp" "$dest"
  changed=$((changed + 1))
done < <(find "$cache/stage" -type f -print0)

pkglibdir=$("$PG_CONFIG" --pkglibdir)
extdir=$("$PG_CONFIG" --sharedir)/extension
for f in "$pkglibdir/citus.so" "$pkglibdir/citus_columnar.so" "$extdir/citus.control" "$extdir/citus_columnar.control"; do
  [ -f "$f" ] || { echo "setup-citus: $f missing after install" >&2; exit 1; }
done
if ((changed)); then
  log "installed $changed files into $pkglibdir and $extdir"
else
  log "installed files are up to date"
fi
