#!/usr/bin/env bash
# Soak: tollgate under a continuous flood plus churn of short-lived cgroups and processes;
# its memory, file descriptors and tracked state sampled at intervals must stay bounded.
#
#   sudo scripts/soak.sh [--seconds S | --minutes M] [--churn N] [--interval S]
#   sudo TOLLGATE=/path/to/tollgate scripts/soak.sh ...   (another build)
#
# Defaults: 10 minutes, 1000 churned cgroups, a sample every 60 s.
#
# Load, all from cgroups under one watched cgroup (tollgate --cgroup CLIENT):
#   flood  wrk keep-alive (-c8) and wrk with "Connection: close" (-c2) against nginx over
#          TLS for the whole run (CPU 1; nginx on CPU 0)
#   churn  N times: create a child cgroup, run one real client request in it (curl; every
#          10th python3, node or wget: libssl, static OpenSSL, GnuTLS), remove the cgroup;
#          spread over the run. Each new process gets per-process TLS probes; each exit
#          must release them.
# tollgate writes its JSON lines to /dev/null (at flood rates a file would fill the disk;
# the JSON is still formatted and written).
#
# Sampled: tollgate's RSS and peak RSS (/proc/PID/status), open fds and how many of them
# are BPF links (per-process TLS probes are links), CPU, the entries of each of its BPF
# hash maps (bpftool map dump), and, when the build has `tollgate status --json`, the sizes
# it reports itself (tracked cgroups and connections, TLS probe links and processes,
# detector memory). What it does not expose, the output says.
# Verdict per metric: bounded when it is flat over the second half of the run (the last
# sample at most a small slack or 2% above the middle one); otherwise GROWING, with the
# rate per minute and per churned cgroup; an LRU map that grows is reported with the cap
# the kernel holds it to.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

DURATION=600
CHURN=1000
INTERVAL=60

while [ $# -gt 0 ]; do
  case $1 in
    --seconds) DURATION=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --minutes) DURATION=$(($(bench_num "$1" "${2:-}") * 60)); shift 2 ;;
    --churn) CHURN=$(bench_num "$1" "${2:-}"); shift 2 ;;
    --interval) INTERVAL=$(bench_num "$1" "${2:-}"); shift 2 ;;
    -h | --help) bench_usage; exit 0 ;;
    *) bench_usage >&2; exit 2 ;;
  esac
done
[ "$DURATION" -ge 20 ] || bench_die "--seconds: at least 20"
[ "$INTERVAL" -lt "$DURATION" ] || bench_die "--interval must be shorter than the run"
for t in curl node wget; do command -v "$t" >/dev/null || bench_die "$t is missing"; done

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup
nginx_start
SAMPLES="$BENCH_TMP/samples.tsv"
CHURN_LOG="$BENCH_TMP/churn.log"

echo "soak: $(machine_note)"
echo "soak: ${DURATION}s, $CHURN churned cgroups, a sample every ${INTERVAL}s"
echo "measuring $(tollgate_note)"

mkdir "$CG_BASE/client/flood-ka" "$CG_BASE/client/flood-close"
# with the metrics registry on, as an agent host runs it (its series are per cgroup)
# its own control socket: `tollgate status` must ask this tollgate, not another one that
# holds the default path
CTL="$BENCH_TMP/control.sock"
TG_JSON_TO=/dev/null tg_start soak --cgroup "$CG_BASE/client" --metrics "$(bench_free_port)" \
  --control "$CTL"

url="https://127.0.0.1:$TLS_PORT"
bench_in_cg "$CG_BASE/client/flood-ka" "$CLIENT_CPU" wrk -t1 -c8 -d"${DURATION}s" --timeout 5s \
  "$url/flood" >"$BENCH_TMP/wrk-ka.txt" 2>&1 &
BENCH_PIDS+=($!)
WRK_KA=$!
bench_in_cg "$CG_BASE/client/flood-close" "$CLIENT_CPU" wrk -t1 -c2 -d"${DURATION}s" --timeout 5s \
  -H "Connection: close" "$url/flood-close" >"$BENCH_TMP/wrk-close.txt" 2>&1 &
BENCH_PIDS+=($!)
WRK_CLOSE=$!

# churn: one cgroup, one process, one request each; spread over the run
churn() {
  local i cg ok=0 fail=0 t0 due argv
  t0=$(date +%s%N)
  for ((i = 1; i <= CHURN; i++)); do
    cg="$CG_BASE/client/churn-$i"
    mkdir "$cg"
    case $((i % 10)) in
      0) argv=(env NODE_TLS_REJECT_UNAUTHORIZED=0 node -e
               "fetch(process.argv[1]).then(r => r.text()).then(() => process.exit(0), () => process.exit(1))"
               "$url/churn/node/$i") ;;
      5) argv=("$PY" -c "import ssl,sys,urllib.request
c=ssl.create_default_context();c.check_hostname=False;c.verify_mode=ssl.CERT_NONE
urllib.request.urlopen(sys.argv[1], context=c).read()" "$url/churn/python/$i") ;;
      7) argv=(wget -q --no-check-certificate -O /dev/null "$url/churn/wget/$i") ;;
      *) argv=(curl -sk --http1.1 -o /dev/null --max-time 10 "$url/churn/curl/$i") ;;
    esac
    if sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "${argv[@]}" >/dev/null 2>&1; then
      ok=$((ok + 1))
    else
      fail=$((fail + 1))
    fi
    bench_cg_remove "$cg"
    echo "$i $ok $fail" >"$CHURN_LOG"
    due=$((t0 + i * DURATION * 1000000000 / CHURN))
    now=$(date +%s%N)
    if [ "$now" -lt "$due" ]; then sleep "$(awk -v d=$((due - now)) 'BEGIN { printf "%.3f", d / 1e9 }')"; fi
  done
}
churn &
CHURN_PID=$!
BENCH_PIDS+=("$CHURN_PID")

# one sample: t rss_kb hwm_kb fds links cpu_ms churn_done map:entries...
sample() {
  local t=$1 rss hwm fds links cpu maps
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$TG_PID/status")
  hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$TG_PID/status")
  fds=$(find "/proc/$TG_PID/fd" -mindepth 1 | wc -l)
  links=$(proc_link_count "$TG_PID")
  cpu=$(($(proc_cpu_ns "$TG_PID") / 1000000))
  maps=$(grep -h '^map_id:' /proc/"$TG_PID"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -un |
    while read -r id; do
      bpftool -j map show id "$id" 2>/dev/null | "$PY" -c '
import json, subprocess, sys
m = json.load(sys.stdin)
if m["type"] in ("hash", "lru_hash", "percpu_hash", "lru_percpu_hash", "lpm_trie"):
    d = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(m["id"])],
                       capture_output=True, text=True)
    n = len(json.loads(d.stdout)) if d.returncode == 0 and d.stdout.strip() else -1
    print("%s=%d/%d%s" % (m.get("name", m["id"]), n, m["max_entries"],
                          "/lru" if m["type"].startswith("lru") else ""))'
    done | sort | tr '\n' ' ')
  # what tollgate itself reports, when it has a status command (its control socket)
  status=$(timeout 5 "$TOLLGATE" status --json --control "$CTL" 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
out = {k: d[k] for k in ("tracked_cgroups", "tracked_connections", "state_evictions") if k in d}
for k in ("links", "pids", "closing", "attach_errors"):
    if k in d.get("tls", {}):
        out["tls_" + k] = d["tls"][k]
for k in ("memory_bytes", "evictions", "alerts"):
    if k in d.get("detectors", {}):
        out["detect_" + k] = d["detectors"][k]
for k in ("detector_cgroups", "top_rows", "metric_sessions", "metric_series", "agents",
          "forgotten"):
    if k in d.get("cgroup_state", {}):
        out[k] = d["cgroup_state"][k]
print(" ".join("%s=%s" % kv for kv in out.items()))' 2>/dev/null || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "$hwm" "$fds" "$links" "$cpu" \
    "$(cut -d' ' -f1 "$CHURN_LOG" 2>/dev/null || echo 0)" "$maps" "${status:-}" >>"$SAMPLES"
}

start=$(date +%s)
sample 0
echo "sample at 0 s: $(tail -1 "$SAMPLES" | cut -f2-)" >&2
next=$INTERVAL
while [ "$next" -le "$DURATION" ]; do
  wait_s=$((start + next - $(date +%s)))
  if [ "$wait_s" -gt 0 ]; then sleep "$wait_s"; fi
  kill -0 "$TG_PID" 2>/dev/null || bench_die "tollgate died: $(tail -5 "$TG_ERR")"
  sample "$next"
  echo "sample at $next s: $(tail -1 "$SAMPLES" | cut -f2-)" >&2
  next=$((next + INTERVAL))
done
wait "$WRK_KA" "$WRK_CLOSE" || true
wait "$CHURN_PID" || true
sleep 2 # let tollgate release the probes of the last processes
sample end
tg_stop
rc_summary=$(grep -E 'stopped:|lost:|tls:' "$TG_ERR" || true)

"$PY" - "$SAMPLES" "$CHURN_LOG" "$BENCH_TMP/wrk-ka.txt" "$BENCH_TMP/wrk-close.txt" "$rc_summary" <<'EOF'
import re, sys
samples, churn_log, wka, wclose, summary = sys.argv[1:6]
rows = [l.rstrip("\n").split("\t") for l in open(samples)]
print("\n== samples (t = seconds since start; end = after the flood and churn stopped)")
print(f"{'t':>5} {'RSS MiB':>8} {'peak MiB':>8} {'fds':>5} {'links':>5} {'CPU s':>6} {'churned':>7}  BPF map entries/max")
for r in rows:
    print(f"{r[0]:>5} {int(r[1]) / 1024:>8.1f} {int(r[2]) / 1024:>8.1f} {r[3]:>5} {r[4]:>5} "
          f"{int(r[5]) / 1000:>6.1f} {r[6]:>7}  {r[7]}")
timed = [r for r in rows if r[0] != "end"]

def maps(r):
    return {k: v.split("/") for k, v in (x.split("=") for x in r[7].split())}

def verdict(name, vals, slack, note=""):
    """Bounded = flat over the second half of the run: the last sample is at most
    max(slack, 2%) above the sample at the middle of the run."""
    if len(vals) < 3:
        return f"{name}: too few samples ({len(vals)}) to judge"
    i = len(vals) // 2
    mid, last = vals[i], vals[-1]
    grow = last - mid
    head = f"{name}: {vals[0]} at start, {mid} at {timed[i][0]} s, {last} at {timed[-1][0]} s -> "
    if grow <= max(slack, 0.02 * abs(mid)):
        return head + "bounded"
    dt = int(timed[-1][0]) - int(timed[i][0])
    dc = int(timed[-1][6]) - int(timed[i][6])
    rate = f"+{grow * 60 / dt:.1f}/min" if dt > 0 else ""
    per = f", +{grow / dc:.2f} per churned cgroup" if dc > 0 else ""
    return head + f"GROWING ({rate}{per}){note}"

print("\n== bounded? (flat over the second half: last <= middle sample + max(slack, 2%))")
print(verdict("RSS (KiB, slack 1024)", [int(r[1]) for r in timed], 1024))
print(verdict("open fds (slack 8)", [int(r[3]) for r in timed], 8))
print(verdict("BPF links (slack 8)", [int(r[4]) for r in timed], 8))
names = sorted(set().union(*(maps(r).keys() for r in timed))) if timed else []
for n in names:
    info = [maps(r).get(n) for r in timed]
    vals = [int(i[0]) if i else 0 for i in info]
    last = next((i for i in reversed(info) if i), None)
    lru = last is not None and len(last) > 2
    note = (f" (an LRU map: the kernel caps it at {last[1]} entries, evicting the least"
            " recently used)" if lru else f" (max {last[1]})" if last else "")
    print(verdict(f"map {n} entries (slack 8)", vals, 8, note))
# tollgate's own view (tollgate status --json), when it has one
st = [dict(x.split("=") for x in r[8].split()) if len(r) > 8 and r[8].strip() else {}
      for r in timed]
if any(st):
    print("\n== tollgate status (its own counts)")
    print(f"{'t':>5}  " + " ".join(f"{k:>18}" for k in st[-1]))
    for r, d in zip(timed, st):
        print(f"{r[0]:>5}  " + " ".join(f"{d.get(k, '-'):>18}" for k in st[-1]))
    sizes = ("tracked_cgroups", "tracked_connections", "tls_links", "tls_pids", "tls_closing",
             "detect_memory_bytes", "detector_cgroups", "top_rows", "metric_sessions",
             "metric_series", "agents")
    for k in sizes:
        if all(k in d for d in st):
            slack = 65536 if k == "detect_memory_bytes" else 8
            print(verdict(f"{k} (slack {slack})", [int(d[k]) for d in st], slack))
    print("(counters such as state_evictions, tls_attach_errors, detect_alerts and forgotten"
          " grow by nature: printed, not judged)")
    not_exposed = "the cgroup path cache, the socket table"
else:
    not_exposed = ("its user-space table sizes (flow connections and sockets, processes with"
                   " TLS probes, cgroup path cache); BPF links above include every per-process"
                   " TLS probe link")
first, end = rows[0], rows[-1]
print(f"after the load: {end[4]} BPF links (at start {first[4]}), {end[3]} fds (at start {first[3]})")
print("not exposed by this tollgate: " + not_exposed)
done, ok, fail = (open(churn_log).read().split() + ["0", "0", "0"])[:3]
print(f"\nchurn: {done} cgroups created and removed, {ok} client requests ok, {fail} failed")
for name, path in (("flood keep-alive", wka), ("flood Connection: close", wclose)):
    t = open(path).read()
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", t)
    e = re.search(r"Socket errors: .*", t)
    print(f"{name}: {m.group(1)} requests in {m.group(2)}" if m else f"{name}: no result",
          f"({e.group(0)})" if e else "")
print("tollgate summary:\n  " + "\n  ".join(summary.splitlines()))
EOF
echo
echo "soak: done; $(machine_note)"
