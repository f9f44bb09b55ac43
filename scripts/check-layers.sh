#!/usr/bin/env bash
# The layers of src/ point down only:
#
#   api, worker  ->  sync  ->  engine  ->  store, net  ->  latch, error
#
# (guc, shmem and webhook sit beside them; store and net may use guc and shmem). A file may
# name a module of its own layer or of a layer below, never one above: store/ never reaches
# sync, engine, api or worker, and so on. Fails with every offending line and the rule.
# Beneath them all, the logic that needs no Postgres is a crate of its own (crates/core, no
# pgrx, checked below): the compiler keeps it from naming the extension, so it has no rule
# here.
# `--self-test` plants an arrow pointing up in a copy of the tree and expects a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${LAYERS_ROOT:-src}

# Per folder or file of src/: the crate modules it must not name.
rules=(
  "error.rs|latch store net engine sync api worker guc shmem webhook"
  "latch.rs|store net engine sync api worker guc shmem webhook"
  "store|net engine sync api worker webhook"
  "net.rs|store engine sync api worker webhook"
  "engine|sync api worker webhook"
  "sync|api worker"
  "guc.rs|store net engine sync api worker"
  "shmem.rs|store net engine sync api worker"
  "webhook.rs|store net engine sync api worker"
)

if [ "${1:-}" = "--self-test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp -r "$root" "$tmp/src"
  printf '\nuse crate::{shmem, sync};\n' >> "$tmp/src/store/market.rs"
  if LAYERS_ROOT="$tmp/src" bash "$0" > "$tmp/out" 2>&1; then
    echo "check-layers: the self-test planted store -> sync and the check passed" >&2
    exit 1
  fi
  grep -q 'store/market.rs' "$tmp/out" || { cat "$tmp/out" >&2; exit 1; }
  echo "check-layers: self-test ok (an arrow pointing up fails the check)"
  exit 0
fi

bad=0
for rule in "${rules[@]}"; do
  place=${rule%%|*}
  forbidden=${rule#*|}
  [ -e "$root/$place" ] || { echo "check-layers: $root/$place does not exist (update the rules)" >&2; exit 1; }
  names=$(echo "$forbidden" | tr ' ' '|')
  # crate::sync::..., and crate::{store, sync} groups.
  pattern="crate::($names)\\b|crate::\\{[^}]*\\b($names)\\b"
  # Code lines only: comments (//, //!, ///) may name anything.
  if hits=$(grep -rnE "$pattern" "$root/$place" | grep -vE '^[^:]+:[0-9]+:\s*//'); then
    printf 'check-layers: %s names a module above it:\n%s\n' "$place" "$hits" >&2
    bad=1
  fi
done
# The store is the only SPI user (the pgrx tests live outside src/, in pgrx-tests/).
if hits=$(grep -rnE '\bSpi(::|\b)' "$root" --include=*.rs | grep -vE "^$root/store/" | grep -vE '^[^:]+:[0-9]+:\s*//'); then
  printf 'check-layers: SPI outside store/:\n%s\n' "$hits" >&2
  bad=1
fi
# The core crate links no pgrx: what needs Postgres stays in src/.
if hits=$(grep -nE '^\s*pgrx' crates/core/Cargo.toml); then
  printf 'check-layers: crates/core depends on pgrx:\n%s\n' "$hits" >&2
  bad=1
fi
if [ "$bad" = 1 ]; then
  cat >&2 <<'MSG'
check-layers: the rule is api, worker -> sync -> engine -> store, net -> latch, error (guc,
shmem and webhook beside them). Move what the lower module needs down (into crates/core when
it needs no Postgres, or into the store as a query), or call it from the layer above; see
src/lib.rs.
MSG
  exit 1
fi
echo "check-layers: every arrow of src/ points down"
