#!/usr/bin/env bash
# User-space pipeline benchmark: decode + flow (+ JSON lines) throughput per core on an
# in-memory synthetic stream, our HTTP/1 parser against http-parser, our JSON line writer
# against jansson. No root needed, no kernel involved.
#
#   scripts/bench-pipeline.sh [--records N] [--reps N] [--min-ms MS] [--seed N]
#
# Arguments go to build/bench-pipeline (tests/bench/bench_pipeline.c); see its header.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
make -C "$root" --no-print-directory -s build/bench-pipeline >&2
echo "bench-pipeline: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) CPUs ($(uname -r)); load average" \
     "$(cut -d' ' -f1-3 /proc/loadavg) at start$( [ "$(cut -d. -f1 /proc/loadavg)" -ge 1 ] && echo ' - the machine is shared: expect noise')"
"$root/build/bench-pipeline" "$@"
