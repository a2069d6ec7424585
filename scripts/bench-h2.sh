#!/usr/bin/env bash
# HTTP/2 over TLS with and without tollgate, side by side in one run.
#
#   sudo scripts/bench-h2.sh [--rounds N] [--seconds S] [--clients C] [--streams M]
#   sudo TOLLGATE=/path/to/tollgate scripts/bench-h2.sh ...   (another build)
#
# Server: nginx, one worker, TLS with HTTP/2 (ALPN), its own cgroup (never watched), CPU 0.
# Client: h2load (nghttp2) with C connections and M concurrent streams each, its own
# cgroup, CPU 1, loopback. Configurations, alternating (order rotated each round):
#   none      no tollgate
#   tollgate  tollgate --cgroup CLIENT: all hooks, default policy, JSON lines to a file
# Printed: medians of requests/s and their ratio; for the tollgate runs, the share of the
# requests h2load completed that tollgate reported as http_request and http_response
# (h2load's in-flight requests at the end are counted by h2load only), the HTTP/2
# directions lost to the decoder and ring-buffer drops (goal: 0 each), tollgate's CPU.
# The saturating load is the worst case; an agent sends far fewer requests.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

ROUNDS=3
SECS=10
CLIENTS=4
STREAMS=10

while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --seconds) SECS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --clients) CLIENTS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --streams) STREAMS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    -h | --help) bench_usage; exit 0 ;;
    *) bench_log "unknown argument: $1"; bench_usage >&2; exit 2 ;;
  esac
done

command -v h2load >/dev/null || bench_die "h2load is missing (scripts/deps.sh installs nghttp2-client)"
trap bench_cleanup EXIT
bench_setup
nginx_start
RESULTS="$BENCH_TMP/results.tsv"
: >"$RESULTS"

echo "bench-h2: $(machine_note)"
echo "measuring $(tollgate_note)"
echo "nginx (1 worker, CPU $SERVER_CPU) and h2load -c$CLIENTS -m$STREAMS (CPU $CLIENT_CPU), HTTP/2 over TLS on loopback"
echo "rounds: $ROUNDS x ${SECS}s per configuration"

# one_run MODE ROUND: one h2load run; appends to RESULTS:
# mode round rps succeeded tg_requests tg_responses h2_lost drops tg_cpu_pct
one_run() {
  local mode=$1 round=$2 out pid
  out="$BENCH_TMP/h2load-$mode-$round.txt"
  local pct=- reqs=- resps=- lost=- drops=-
  [ "$mode" = tollgate ] && tg_start "$mode-$round" --cgroup "$CG_BASE/client"
  bench_in_cg "$CG_BASE/client" "$CLIENT_CPU" h2load -c "$CLIENTS" -m "$STREAMS" -D "$SECS" \
    "https://127.0.0.1:$H2_PORT/bench" >"$out" 2>&1 &
  pid=$!
  BENCH_PIDS+=("$pid")
  [ -n "$TG_PID" ] && tg_cpu_mark
  wait "$pid" || bench_die "h2load failed: $(tail -3 "$out")"
  if [ -n "$TG_PID" ]; then
    pct=$(tg_cpu_pct)
    tg_stop
    reqs=$(sed -n 's/.*stopped: [0-9]* records, \([0-9]*\) http requests.*/\1/p' "$TG_ERR")
    resps=$(sed -n 's/.*http requests, \([0-9]*\) http responses.*/\1/p' "$TG_ERR")
    lost=$(sed -n 's/.*(\([0-9]*\) directions lost.*/\1/p' "$TG_ERR")
    drops=$(tg_summary_drops "$TG_ERR")
    rm -f "$TG_JSON"
  fi
  local rps ok
  rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$out")
  ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$out")
  [ -n "$rps" ] && [ -n "$ok" ] || bench_die "cannot read h2load's output: $(tail -5 "$out")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$round" "$rps" "$ok" "${reqs:--}" \
    "${resps:--}" "${lost:--}" "${drops:--}" "$pct" >>"$RESULTS"
  bench_log "  [round $round] $mode: $rps req/s, $ok succeeded; tollgate: ${reqs:--} requests, ${resps:--} responses, ${lost:--} directions lost, ${drops:--} drops, CPU ${pct}%"
}

bench_log "warm-up run (not counted)"
h2load -c "$CLIENTS" -m "$STREAMS" -D 2 "https://127.0.0.1:$H2_PORT/bench" >/dev/null 2>&1 || true
CONFIGS=(none tollgate)
for ((r = 1; r <= ROUNDS; r++)); do
  for ((i = 0; i < 2; i++)); do
    one_run "${CONFIGS[$(((i + r - 1) % 2))]}" "$r"
  done
done

"$PY" - "$RESULTS" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r[0], []).append(r)
none = statistics.median(float(r[2]) for r in by["none"])
tg = statistics.median(float(r[2]) for r in by["tollgate"])
print(f"requests/s (median): none {none:,.0f}, tollgate {tg:,.0f}: ratio {tg / none:.3f}")
ok = sum(int(r[3]) for r in by["tollgate"])
reqs = sum(int(r[4]) for r in by["tollgate"])
resps = sum(int(r[5]) for r in by["tollgate"])
lost = sum(int(r[6]) for r in by["tollgate"])
drops = sum(int(r[7]) for r in by["tollgate"])
cpu = statistics.median(float(r[8]) for r in by["tollgate"])
print(f"tollgate reported {reqs:,} http_request ({100 * reqs / ok:.2f}%) and {resps:,} "
      f"http_response ({100 * resps / ok:.2f}%) for {ok:,} requests h2load completed")
print(f"HTTP/2 directions lost to the decoder: {lost} (goal 0); ring-buffer drops: {drops} "
      f"(goal 0); tollgate CPU (median): {cpu:.1f}% of one core")
EOF
