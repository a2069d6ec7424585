#!/usr/bin/env bash
# Time from exec to attached: how long `tollgate run` (host-wide) takes to load and verify
# its BPF programs, attach them and say "watching", over N runs.
#
#   sudo scripts/bench-startup.sh [--runs N]
#   sudo TOLLGATE=/path/to/tollgate scripts/bench-startup.sh ...   (another build, e.g. to
#                                                                  compare two trees)
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

RUNS=5
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    -h | --help) bench_usage; exit 0 ;;
    *) bench_usage >&2; exit 2 ;;
  esac
done

trap bench_cleanup EXIT
bench_setup
echo "bench-startup: $(machine_note)"
echo "measuring $(tollgate_note)"
times=()
for ((i = 1; i <= RUNS; i++)); do
  t0=$(date +%s%N)
  tg_start "startup-$i"
  t1=$(date +%s%N)
  tg_stop
  times+=($(((t1 - t0) / 1000000)))
  bench_log "  run $i: ${times[-1]} ms"
done
printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  printf "exec to \"watching\" over %d runs: min %d ms, median %d ms, max %d ms\n",
    NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
