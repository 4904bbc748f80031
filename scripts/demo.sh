#!/usr/bin/env bash
# The README's first command: installs the dependencies, builds, and runs the two-node
# failover demo in network namespaces (about half a minute). Exits non-zero if a session was
# lost. `--nodes 3`: the same story on three firewalls (two crashes in a row, failback).
set -euo pipefail
. "$(dirname "$0")/as-root.sh" "$@"
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${CTSYNC_JOBS:-2}"
exec build/tests/ctsync-demo "$@"
