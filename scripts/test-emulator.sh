#!/usr/bin/env bash
# Emulator tests: invariants, protocol, faults, sessions, counters, control port, the Rust client
# against the market and replay mode, and the official-client conformance run (needs .venv from
# scripts/setup-python.sh; the test fails, never skips, without it).
set -euo pipefail
cd "$(dirname "$0")/.."
export BAOSTOCK_CAPTURES=${BAOSTOCK_CAPTURES:-$(cd .. && pwd)/shared/baostock-captures}
if [ -z "${BAOSTOCK_PYTHON:-}" ] && [ ! -x .venv/bin/python ]; then
  echo "test-emulator: .venv/bin/python is missing; run scripts/setup-python.sh" >&2
  exit 1
fi
cargo test -p baostock-emulator
