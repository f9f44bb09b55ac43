#!/usr/bin/env bash
# Emulator tests: invariants, faults, sessions, counters, and the official-client conformance run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -p baostock-emulator
