#!/usr/bin/env bash
# Installs mdBook (the manual's renderer, docs/) from crates.io unless this version is there:
# without its default features (serve, watch), which the tests do not need.
set -euo pipefail
MDBOOK_VERSION=${MDBOOK_VERSION:-0.4.52}
if mdbook --version 2>/dev/null | grep -qx "mdbook v$MDBOOK_VERSION"; then
  echo "[setup] mdbook $MDBOOK_VERSION present"
else
  echo "[setup] installing mdbook $MDBOOK_VERSION (about 2 minutes)"
  cargo install --locked mdbook --version "$MDBOOK_VERSION" --no-default-features --features search
fi
