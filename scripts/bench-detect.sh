#!/usr/bin/env bash
# Detector benchmark: builds build/bench-detect and prints, in one run,
#   - detector + path-template throughput on an in-memory synthetic stream (one core),
#     against the 2 M observations/s target, and the allocator calls of a steady-state pass
#     (the per-observation path must not allocate once the tables have grown),
#   - `tollgate replay` throughput on the same stream as JSON lines, against jansson
#     parsing the lines alone,
#   - the memory of 10,000 cgroups x 1,000 endpoints under the default state caps.
# Options are passed on: --n N (observations, default 4,000,000), --full (caps that hold
# all 10 M (cgroup, endpoint) pairs), --only detect|replay|memory.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build/bench-detect >/dev/null
exec build/bench-detect "$@"
