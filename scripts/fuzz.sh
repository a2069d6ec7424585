#!/usr/bin/env bash
# Run libFuzzer targets, each for SECONDS, starting from its committed seed corpus.
#
#   scripts/fuzz.sh SECONDS build/fuzz/fuzz_NAME...
#
# The seeds are read from tests/fuzz/corpus/NAME/ and never written: new inputs go to
# build/fuzz/corpus/NAME/ (merge good ones back with `fuzz_NAME -merge=1 tests/... build/...`).
# A crash, leak or sanitizer report fails the run; the input is saved as
# build/fuzz/artifacts/NAME-crash-<sha1> and its path is printed.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 SECONDS FUZZER..." >&2
  exit 2
fi
secs=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
failed=()

for bin in "$@"; do
  exe=$(basename "$bin")
  name=${exe#fuzz_}
  seeds="$root/tests/fuzz/corpus/$name"
  work="$root/build/fuzz/corpus/$name"
  arts="$root/build/fuzz/artifacts"
  log="$root/build/fuzz/$exe.log"
  mkdir -p "$work" "$arts"
  [ -d "$seeds" ] || { echo "fuzz: $name: no seed corpus at $seeds" >&2; exit 2; }
  # the flow target takes whole record sequences: allow longer inputs
  case $name in
    flow) maxlen=32768 ;;
    elf) maxlen=16384 ;;
    *) maxlen=4096 ;;
  esac
  rc=0
  "$bin" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$arts/$name-" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$rc" -ne 0 ]; then
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "fuzz: $name: FAILED (exit $rc) after ${runs:-?} inputs; input: ${art:-none}; log: $log"
    grep -E 'ERROR|SUMMARY|invariant broken|runtime error' "$log" | head -5 | sed 's/^/  /'
    failed+=("$name")
  else
    echo "fuzz: $name: ok, ${runs:-?} inputs in ${secs}s, coverage ${cov:-?} edges"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in: ${failed[*]}" >&2
  exit 1
fi
