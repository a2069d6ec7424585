#!/usr/bin/env bash
# Overhead of tollgate on real HTTPS traffic, measured side by side in one run.
#
#   sudo scripts/bench-overhead.sh [--rounds N] [--seconds S] [--conns N]
#                                  [--agent-seconds S] [--agent-rate R] [--loss-seconds S]
#                                  [--parts LIST]
#   sudo TOLLGATE=/path/to/tollgate scripts/bench-overhead.sh ...   (another build)
#
# Server: nginx, one worker, TLS (ECDSA P-256), its own cgroup (never watched), CPU 0.
# Client: wrk -t1, keep-alive, its own cgroup, CPU 1, loopback. tollgate itself is not
# pinned: it competes with both, as it would on a real host.
#
# Parts (--parts, comma separated; default all):
#   keepalive  N rounds of the four configurations, in an order rotated each round:
#              none      no tollgate
#              floor     tollgate --bench-floor --cgroup CLIENT: only the TLS uprobes, at the
#                        same sites and with the same uprobe_multi links, returning at once
#              tollgate  tollgate --cgroup CLIENT: all hooks, default policy, JSON lines to
#                        a file
#              outside   tollgate --cgroup OTHER while wrk runs in CLIENT (not watched)
#              medians and ratios of requests/s and p99 latency against the goals
#              tollgate/none >= 0.90, tollgate/floor >= 0.95, outside/none >= 0.99
#              (--configs LIST runs a subset, e.g. none,outside for a closer look at one
#              ratio)
#   close      the same with "Connection: close" (a TCP + TLS handshake per request: the
#              connect, sock_release and skb hooks)
#   programs   per-program cost under the saturating load (kernel.bpf_stats_enabled):
#              run_time_ns / run_cnt of each tg_* program, runs per request
#   loss       ring-buffer drops with the default size (summed over the tollgate rounds
#              above; goal 0) and with --ringbuf-kb 4 (must be counted and reported, in the
#              exit summary and as JSON "drops" events)
#   agent      a realistic agent: 200 requests/s over one keep-alive TLS connection for 60 s
#              (scripts/paced-client.py), without and with tollgate: tollgate's CPU time
#              (utime + stime) plus its BPF programs' run time as a share of one core
#              (goal <= 1%), and the client's own CPU time (it pays the uprobe traps)
#
# Every number printed is measured in this run. The machine may be shared with other
# work: the load average is printed at start and end, configurations alternate, and the
# ratios use medians.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

ROUNDS=5
SECS=10
CONNS=16
AGENT_SECS=60
AGENT_RATE=200
LOSS_SECS=10
PARTS=keepalive,close,programs,loss,agent
CONFIG_LIST=none,floor,tollgate,outside

while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --seconds) SECS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --conns) CONNS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --agent-seconds) AGENT_SECS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --agent-rate) AGENT_RATE=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --loss-seconds) LOSS_SECS=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --parts) PARTS=${2:-}; shift 2 ;;
    --configs) CONFIG_LIST=${2:-}; shift 2 ;;
    -h | --help) bench_usage; exit 0 ;;
    *) bench_usage >&2; exit 2 ;;
  esac
done
for p in ${PARTS//,/ }; do
  case $p in keepalive | close | programs | loss | agent) ;; *) bench_die "--parts: unknown part $p" ;; esac
done
want() { [[ ",$PARTS," == *",$1,"* ]]; }
read -r -a CONFIGS <<<"${CONFIG_LIST//,/ }"
[ ${#CONFIGS[@]} -gt 0 ] || bench_die "--configs: empty"
for c in "${CONFIGS[@]}"; do
  case $c in none | floor | tollgate | outside) ;; *) bench_die "--configs: unknown configuration $c" ;; esac
done
[ "$SECS" -ge 3 ] || bench_die "--seconds must be at least 3"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup
nginx_start
RESULTS="$BENCH_TMP/results.tsv"
: >"$RESULTS"

echo "bench-overhead: $(machine_note)"
echo "measuring $(tollgate_note)"
echo "nginx (1 worker, CPU $SERVER_CPU) and wrk -t1 -c$CONNS (CPU $CLIENT_CPU) over TLS on loopback"
echo "rounds: $ROUNDS x ${SECS}s per configuration; tollgate writes JSON lines to a file under $BENCH_TMP"

cfg_args() {
  case $1 in
    floor) echo "--bench-floor --cgroup $CG_BASE/client" ;;
    tollgate) echo "--cgroup $CG_BASE/client" ;;
    outside) echo "--cgroup $CG_BASE/other" ;;
  esac
}

# one_run LABEL MODE ROUND [wrk args]: one measured wrk run; appends a line to RESULTS:
# label mode round rps p99_us errors wrk_requests tg_cpu_pct tg_links tg_http_requests tg_drops
one_run() {
  local label=$1 mode=$2 round=$3
  shift 3
  local out="$BENCH_TMP/wrk-$label-$mode-$round.txt" links=- pct=- seen=- drops=- wpid
  if [ "$mode" != none ]; then
    # shellcheck disable=SC2046
    tg_start "$label-$mode-$round" $(cfg_args "$mode")
  fi
  wrk_run "$out" "$SECS" "$CONNS" "$@" &
  wpid=$!
  BENCH_PIDS+=("$wpid")
  sleep 1
  if [ -n "$TG_PID" ]; then
    links=$(proc_link_count "$TG_PID")
    tg_cpu_mark
  fi
  wait "$wpid" || bench_die "wrk failed: $(tail -3 "$out")"
  if [ -n "$TG_PID" ]; then
    pct=$(tg_cpu_pct)
    tg_stop
    drops=$(tg_summary_drops "$TG_ERR")
    seen=$(sed -n 's/.*stopped: [0-9]* records, \([0-9]*\) http requests.*/\1/p' "$TG_ERR")
    rm -f "$TG_JSON"
  fi
  local total
  total=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
  local vals
  vals=$(wrk_parse "$out")
  read -r rps p99 errs <<<"$vals"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$mode" "$round" "$rps" "$p99" \
    "$errs" "$total" "$pct" "$links" "${seen:--}" "${drops:--}" >>"$RESULTS"
  bench_log "  [$label round $round] $mode: $rps req/s, p99 ${p99} us, errors $errs, tollgate CPU ${pct}%, links $links"
}

# rounds LABEL [wrk args]: ROUNDS rounds of the four configurations, order rotated.
rounds() {
  local label=$1 r i k
  shift
  bench_log "$label: warm-up run (not counted)"
  wrk_run "$BENCH_TMP/warmup.txt" 3 "$CONNS" "$@"
  for ((r = 1; r <= ROUNDS; r++)); do
    for ((i = 0; i < ${#CONFIGS[@]}; i++)); do
      k=$(((i + r - 1) % ${#CONFIGS[@]}))
      one_run "$label" "${CONFIGS[$k]}" "$r" "$@"
    done
  done
}

# report LABEL TITLE: medians and ratios of one set of rounds.
report() {
  "$PY" - "$RESULTS" "$1" "$2" "$CONFIG_LIST" <<'EOF'
import statistics, sys
path, label, title, configs = sys.argv[1:5]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.split("\t")[0] == label]
modes = [m for m in ["none", "floor", "tollgate", "outside"] if m in configs.split(",")]
by = {m: [r for r in rows if r[1] == m] for m in modes}
med = lambda m, i: statistics.median(float(r[i]) for r in by[m])
print(f"\n== {title}: medians of {len(by[modes[0]])} rounds (per-round values in the order run)")
print(f"{'config':<9} {'req/s':>10} {'p99 us':>8} {'errors':>6} {'tollgate CPU':>12} {'links':>5}  {'req/s by round'}")
for m in modes:
    cpu = [float(r[7]) for r in by[m] if r[7] != "-"]
    links = sorted(set(r[8] for r in by[m]))
    print(f"{m:<9} {med(m, 3):>10.0f} {med(m, 4):>8.0f} {sum(int(r[5]) for r in by[m]):>6} "
          f"{(('%.1f%%' % statistics.median(cpu)) if cpu else '-'):>12} {','.join(links):>5}  "
          + " ".join("%.0f" % float(r[3]) for r in sorted(by[m], key=lambda r: int(r[2]))))
print("(tollgate CPU: utime + stime of the tollgate process over the run, % of one core;"
      " links: BPF links it held during the run)")
goals = [("tollgate", "none", 0.90), ("tollgate", "floor", 0.95), ("outside", "none", 0.99)]
print(f"{'ratio':<16} {'req/s':>7} {'p99 (inverse)':>14} {'goal':>6}  verdict (req/s; p99)")
for a, b, g in goals:
    if a not in modes or b not in modes:
        continue
    rr = med(a, 3) / med(b, 3)
    rl = med(b, 4) / med(a, 4)
    v = lambda x: "met" if x >= g else "MISSED"
    print(f"{a + '/' + b:<16} {rr:>7.3f} {rl:>14.3f} {'>=%.2f' % g:>6}  {v(rr)}; {v(rl)}")
print("(p99 (inverse) = baseline p99 / config p99, so that higher is better for both columns)")
seen = [(int(r[9]), int(r[6])) for r in by.get("tollgate", []) if r[9] != "-"]
if seen:
    print("tollgate reported %d http_request events for %d requests wrk completed (%.2f%%);"
          " requests in flight at the end are counted by wrk only"
          % (sum(s for s, _ in seen), sum(t for _, t in seen),
             100.0 * sum(s for s, _ in seen) / max(1, sum(t for _, t in seen))))
if all(m in modes for m in ("none", "floor", "tollgate")):
    n, f, t = med("none", 3), med("floor", 3), med("tollgate", 3)
    print("time per request at saturation: none %.2f us, floor %.2f us (+%.2f), tollgate %.2f us"
          " (+%.2f over floor)" % (1e6 / n, 1e6 / f, 1e6 / f - 1e6 / n, 1e6 / t, 1e6 / t - 1e6 / f))
EOF
}

# programs LABEL [wrk args]: per-program cost under the saturating load.
programs() {
  local label=$1 out ids s0 s1 wpid t0 t1
  shift
  out="$BENCH_TMP/wrk-programs-$label.txt"
  bpf_stats_on
  tg_start "programs-$label" --cgroup "$CG_BASE/client"
  ids=$(proc_prog_ids "$TG_PID")
  s0=$(bpf_prog_stats "$ids")
  t0=$(date +%s%N)
  wrk_run "$out" "$SECS" "$CONNS" "$@"
  t1=$(date +%s%N)
  s1=$(bpf_prog_stats "$ids")
  tg_stop
  bpf_stats_restore
  rm -f "$TG_JSON"
  local total vals
  total=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
  vals=$(wrk_parse "$out")
  read -r rps _ _ <<<"$vals"
  "$PY" - "$label" "$total" "$rps" "$((t1 - t0))" "$s0" "$s1" <<'EOF'
import sys
label, total, rps, wall = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
parse = lambda s: {l.split()[0]: l.split() for l in s.splitlines() if l.strip()}
a, b = parse(sys.argv[5]), parse(sys.argv[6])
print(f"\n== per-program cost under load ({label}): {total} requests at {rps:.0f} req/s with"
      " kernel.bpf_stats_enabled=1")
print(f"{'program':<18} {'runs':>10} {'runs/req':>9} {'ns/run':>8} {'ms total':>9} {'% of a core':>11}")
tot = 0
hits = {}
for pid, row in sorted(b.items(), key=lambda kv: kv[1][1]):
    runs = int(row[2]) - int(a.get(pid, row)[2])
    ns = int(row[3]) - int(a.get(pid, row)[3])
    tot += ns
    hits[row[1]] = runs / max(1, total)
    print(f"{row[1]:<18} {runs:>10} {runs / max(1, total):>9.2f} {(ns / runs if runs else 0):>8.0f}"
          f" {ns / 1e6:>9.1f} {ns * 100 / wall:>10.2f}%")
print(f"{'all':<18} {'':>10} {'':>9} {'':>8} {tot / 1e6:>9.1f} {tot * 100 / wall:>10.2f}%")
if "tg_tls_enter" in hits:
    print("uprobe hits per request: %.2f at TLS entry sites (writes and the read worker's entry)"
          " + %.2f at the read worker's return = %.2f breakpoint traps per request; run_time_ns"
          " covers the programs only, not the traps"
          % (hits["tg_tls_enter"], hits.get("tg_tls_exit", 0),
             hits["tg_tls_enter"] + hits.get("tg_tls_exit", 0)))
EOF
}

if want keepalive; then
  rounds keepalive
  report keepalive "keep-alive (wrk -t1 -c$CONNS, ${SECS}s per run)"
fi
if want close; then
  rounds close -H "Connection: close"
  report close "Connection: close (a TCP and TLS handshake per request)"
fi
if want programs; then
  programs keep-alive
  programs close -H "Connection: close"
fi

if want loss; then
  echo
  echo "== loss"
  if [ -s "$RESULTS" ]; then
    awk -F'\t' '$2 == "tollgate" && $11 != "-" { d += $11; n++; r += $10 }
      END { if (n) printf "default ring buffer (8 MiB): %d drops over %d tollgate runs at saturation (%d http_request events) - goal 0: %s\n", d, n, r, d == 0 ? "met" : "MISSED" }' "$RESULTS"
  else
    echo "default ring buffer: no tollgate rounds were run (--parts)"
  fi
  tg_start loss --cgroup "$CG_BASE/client" --ringbuf-kb 4
  wrk_run "$BENCH_TMP/wrk-loss.txt" "$LOSS_SECS" "$CONNS"
  tg_stop
  vals=$(wrk_parse "$BENCH_TMP/wrk-loss.txt")
  read -r rps _ _ <<<"$vals"
  summary=$(tg_summary_drops "$TG_ERR")
  read -r jdrops jevents jreq < <("$PY" - "$TG_JSON" <<'EOF'
import json, sys
d = e = r = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["event"] == "drops":
        d += o["count"]; e += 1
    elif o["event"] == "http_request":
        r += 1
print(d, e, r)
EOF
)
  echo "forced 4 KiB ring buffer (--ringbuf-kb 4), ${LOSS_SECS}s at $rps req/s:"
  echo "  exit summary: $(grep -o 'lost: [0-9]* ring buffer drops' "$TG_ERR")"
  echo "  JSON: $jevents \"drops\" events, counts summing to $jdrops; $jreq http_request events"
  if [ "$summary" -gt 0 ] && [ "$summary" = "$jdrops" ]; then
    echo "  drops are counted and reported, never silent: yes (summary = sum of JSON drops = $summary)"
  else
    echo "  drops are counted and reported: NO (summary $summary, JSON $jdrops)"
  fi
  rm -f "$TG_JSON"
fi

# agent_run MODE RESULT: writes "client_json tg_cpu_ns bpf_ns wall_ns tg_http_requests" to RESULT
agent_run() {
  local mode=$1 result=$2 out="$BENCH_TMP/agent-$1.json" cpid ids="" s0="" s1="" c0=0 c1=0 t0 t1
  if [ "$mode" = tollgate ]; then
    bpf_stats_on
    tg_start agent --cgroup "$CG_BASE/client"
    ids=$(proc_prog_ids "$TG_PID")
  fi
  bench_in_cg "$CG_BASE/client" "$CLIENT_CPU" "$PY" "$BENCH_ROOT/scripts/paced-client.py" \
    "https://127.0.0.1:$TLS_PORT/agent" "$AGENT_RATE" "$AGENT_SECS" >"$out" &
  cpid=$!
  BENCH_PIDS+=("$cpid")
  sleep 1 # the client is running: leave tollgate's start-up and attach out of the window
  t0=$(date +%s%N)
  if [ -n "$TG_PID" ]; then
    c0=$(proc_cpu_ns "$TG_PID")
    bpf_prog_stats "$ids" >"$BENCH_TMP/agent-progs0.txt"
    s0=$(awk '{ s += $4 } END { print s + 0 }' "$BENCH_TMP/agent-progs0.txt")
  fi
  wait "$cpid" || bench_die "paced client failed"
  t1=$(date +%s%N)
  local seen=-
  if [ -n "$TG_PID" ]; then
    c1=$(proc_cpu_ns "$TG_PID")
    bpf_prog_stats "$ids" >"$BENCH_TMP/agent-progs1.txt"
    s1=$(awk '{ s += $4 } END { print s + 0 }' "$BENCH_TMP/agent-progs1.txt")
    tg_stop
    bpf_stats_restore
    seen=$(sed -n 's/.*stopped: [0-9]* records, \([0-9]*\) http requests.*/\1/p' "$TG_ERR")
    rm -f "$TG_JSON"
  fi
  echo "$(tr -d '\n' <"$out") $((c1 - c0)) $((${s1:-0} - ${s0:-0})) $((t1 - t0)) $seen" >"$result"
}

if want agent; then
  echo
  echo "== realistic agent load: $AGENT_RATE requests/s, one keep-alive TLS connection, ${AGENT_SECS}s (python http.client, system libssl)"
  agent_run none "$BENCH_TMP/agent-none.txt"
  agent_run tollgate "$BENCH_TMP/agent-tollgate.txt"
  "$PY" - "$(cat "$BENCH_TMP/agent-none.txt")" "$(cat "$BENCH_TMP/agent-tollgate.txt")" \
    "$BENCH_TMP/agent-progs0.txt" "$BENCH_TMP/agent-progs1.txt" <<'EOF'
import json, sys
def split(s):
    j, rest = s.rsplit("}", 1)
    return json.loads(j + "}"), rest.split()
cn, _ = split(sys.argv[1])
ct, (cpu, bpf, wall, seen) = split(sys.argv[2])
cpu, bpf, wall = int(cpu), int(bpf), int(wall)
for name, c in (("none", cn), ("tollgate", ct)):
    print(f"client ({name}): {c['ok']} ok, {c['errors']} errors, {c['rate']} req/s, "
          f"p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms, client CPU {c['cpu_s']} s "
          f"({c['cpu_s'] * 100 / c['seconds']:.2f}% of a core)")
share = (cpu + bpf) * 100 / wall
print(f"tollgate process CPU (utime+stime): {cpu / 1e6:.0f} ms over {wall / 1e9:.1f} s = "
      f"{cpu * 100 / wall:.3f}% of one core")
print(f"tollgate BPF programs (run_time_ns): {bpf / 1e6:.1f} ms = {bpf * 100 / wall:.3f}% of one core")
print(f"total: {share:.3f}% of one core - goal <= 1%: {'met' if share <= 1 else 'MISSED'}")
d = ct["cpu_s"] - cn["cpu_s"]
print(f"client CPU with tollgate - without: {d * 1000:+.0f} ms over {ct['seconds']:.0f} s = "
      f"{d * 100 / ct['seconds']:+.3f}% of a core ({d * 1e6 / max(1, ct['ok']):+.1f} us per request;"
      " includes the uprobe traps, which run_time_ns does not; noisy at this size)")
print(f"tollgate reported {seen} http_request events for {ct['ok']} requests")
parse = lambda p: {l.split()[0]: l.split() for l in open(p) if l.strip()}
a, b = parse(sys.argv[3]), parse(sys.argv[4])
print("per program over the window:", ", ".join(
    f"{r[1]} {(int(r[2]) - int(a[k][2])) / max(1, ct['ok']):.2f}/req x "
    f"{(int(r[3]) - int(a[k][3])) / max(1, int(r[2]) - int(a[k][2])):.0f} ns"
    for k, r in sorted(b.items(), key=lambda kv: kv[1][1]) if k in a and int(r[2]) > int(a[k][2])))
EOF
fi

echo
echo "bench-overhead: done; $(machine_note)"
