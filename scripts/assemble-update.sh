#!/usr/bin/env bash
# Assembles the upgrade script sql/pg_baostock--FROM--VERSION.sql (VERSION: Cargo.toml's) the
# way ALTER EXTENSION runs it: every view and function of the extension that the install script
# does not create in its bootstrap part (sql/schema.sql) dropped; the hand-written table changes
# of sql/updates/FROM--VERSION.sql (free to change or make again a table a view reads); then
# those views and functions created again from this version's install script, as `cargo pgrx
# schema` generates it into target/schema/ from the sources (sql/adjusted.sql, the Rust
# functions, sql/api.sql: their grants and comments included; no install, no root). Views and functions hold no data, so nothing of a user's is lost; a view
# of the user's over one of ours makes the update fail (it says which), as docs/src/upgrading.md says.
#
# From 0.3.0 on, the table part changes a table only through baostock.table_ddl(table, ddl)
# (a Citus cluster runs the update on every node; see sql/schema.sql): a statement of its own
# that alters a table or index is refused here.
#
#   bash scripts/assemble-update.sh FROM            # writes the upgrade script
#   bash scripts/assemble-update.sh FROM --check    # fails if the committed one differs
#
# UPDATE_TO, UPDATE_PART, UPDATE_OUT and INSTALL_SCRIPT replace the version, the table part, the
# output and the install script (tests/citus.rs assembles a next version's update).
set -euo pipefail
cd "$(dirname "$0")/.."

from=${1:?usage: assemble-update.sh FROM [--check]}
version=${UPDATE_TO:-$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)}
pg_config=${PGBIN:-/usr/lib/postgresql/15/bin}/pg_config
part=${UPDATE_PART:-sql/updates/$from--$version.sql}
out=${UPDATE_OUT:-sql/pg_baostock--$from--$version.sql}
fail() {
  printf 'assemble-update: %s\n' "$*" >&2
  exit 1
}
[ -f "$part" ] || fail "$part is missing: an update's table changes are written by hand there"
if [ -n "${INSTALL_SCRIPT:-}" ]; then
  installed=$INSTALL_SCRIPT
else
  installed=target/schema/pg_baostock--$version.sql
  mkdir -p target/schema
  cargo pgrx schema "pg$("$pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')" \
    --pg-config "$pg_config" -o "$installed" >&2
fi
[ -f "$installed" ] || fail "$installed is missing"
# Updates from before 0.3.0 (no distribute() yet) change their tables directly.
case $from in
  0.1.0 | 0.2.0) ;;
  *)
    if direct=$(grep -niE '^[[:space:]]*(ALTER[[:space:]]+(TABLE|INDEX)|(CREATE|DROP)[[:space:]]+(UNIQUE[[:space:]]+)?INDEX|CLUSTER|TRUNCATE)\b' "$part"); then
      fail "$part changes a table by a statement of its own (on a Citus cluster the update would fail):
$direct
write it as SELECT baostock.table_ddl('baostock.TABLE', 'ALTER TABLE ...');"
    fi
    ;;
esac

# The functions sql/schema.sql creates stay (tables may depend on them); the rest are remade.
kept=$(sed -nE 's/^CREATE (OR REPLACE )?FUNCTION baostock\.([a-z_]+)\(.*/\2/p' sql/schema.sql | sort -u |
  sed "s/.*/'&'/" | paste -sd, -)

assemble() {
  cat <<SQL
-- pg_baostock $from -> $version, assembled by scripts/assemble-update.sh: every view and function
-- of the extension but those of its tables' part ($kept) is dropped first (no CASCADE: an
-- object of yours over one of ours stops the update), then come the table changes written by
-- hand ($part), then the views and functions as the install script of $version makes them.
DO \$drop\$
DECLARE
    o record;
BEGIN
    FOR o IN
        SELECT c.oid::regclass AS name FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid
        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e' AND c.relkind = 'v'
          AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_baostock')
        ORDER BY c.oid DESC
    LOOP
        EXECUTE pg_catalog.format('DROP VIEW %s', o.name);
    END LOOP;
    FOR o IN
        SELECT p.oid::regprocedure AS name FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
        WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
          AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_baostock')
          AND p.proname NOT IN ($kept)
        ORDER BY p.oid DESC
    LOOP
        EXECUTE pg_catalog.format('DROP FUNCTION %s', o.name);
    END LOOP;
END
\$drop\$;
SQL
  echo
  # `\ir FILE` (relative to the part) includes a file of tables (sql/reports.sql) whole.
  awk -v dir="$(dirname "$part")" '
    /^\\ir / { f = dir "/" $2; while ((getline line < f) > 0) print line; close(f); next }
    { print }
  ' "$part"
  cat <<SQL

-- Views and functions of $version ------------------------------------------------------------
SQL
  # Everything after the bootstrap part of the generated install script, without pgrx's
  # source-line comments (they move with every edit of the Rust code) and without the parts of
  # the tables (a block with the line "-- A part of the tables: ..."; updates include them).
  awk '
    function flush() { if (!tables) printf "%s", block; block = ""; tables = 0 }
    done_bootstrap && /^\/\* <begin connected objects> \*\/$/ { flush() }
    done_bootstrap { if ($0 ~ /^-- A part of the tables: /) tables = 1; if ($0 !~ /^-- src\/[^ ]+:[0-9]+$/) block = block $0 "\n"; next }
    /^-- bootstrap$/ { in_bootstrap = 1 }
    in_bootstrap && /^\/\* <\/end connected objects> \*\/$/ { done_bootstrap = 1 }
    END { flush() }
  ' "$installed"
}

if [ "${2:-}" = "--check" ]; then
  [ -f "$out" ] || fail "$out is not committed: run bash scripts/assemble-update.sh $from"
  if ! diff <(assemble) "$out" > /tmp/assemble-update.diff; then
    head -n 40 /tmp/assemble-update.diff >&2
    fail "$out is not what sql/updates/ and this build's install script make (< assembled, > committed):
run bash scripts/assemble-update.sh $from, and commit it"
  fi
  echo "assemble-update: $out is assembled from $part and the install script of $version"
else
  assemble > "$out"
  echo "assemble-update: wrote $out"
fi
