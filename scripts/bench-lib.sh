# shellcheck shell=bash
# bench-lib.sh - shared by scripts/bench-overhead.sh, bench-h2.sh and soak.sh (source it).
#
# Real processes only: nginx with TLS in its own cgroup pinned to CPU 0, clients in
# their own cgroup pinned to CPU 1, build/tollgate run as the thing measured.
# Everything started here is recorded and torn down by bench_cleanup (call it from an
# EXIT trap): processes, cgroups (cgroup.kill first), temporary files, and the previous
# value of kernel.bpf_stats_enabled.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# TOLLGATE=/path/to/tollgate measures another build (for example the merge target) with
# these scripts; by default the tree's own build/tollgate, rebuilt first.
TOLLGATE_GIVEN=${TOLLGATE:+1}
TOLLGATE=${TOLLGATE:-"$BENCH_ROOT/build/tollgate"}
PY=/usr/bin/python3 # Debian's python: its _ssl links the system libssl.so.3
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

BENCH_TMP=""
CG_ROOT=""
CG_BASE=""
NGINX_PID=""
TG_PID=""
TG_ERR=""
TG_JSON=""
BPF_STATS_OLD=""
BENCH_PIDS=()

bench_log() { printf '%s\n' "$*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

# The calling script's usage: its header comment, from line 2 to `set -euo`.
bench_usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

# bench_num OPTION VALUE: print VALUE if it is a positive integer, else die naming OPTION.
bench_num() {
  if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -eq 0 ]; then
    bench_die "$1: not a positive integer: $2"
  fi
  echo "$2"
}

bench_setup() {
  [ "$(id -u)" -eq 0 ] || bench_die "run as root (cgroups, BPF)"
  if [ -z "$TOLLGATE_GIVEN" ]; then
    # measure what the tree holds now, not a stale build
    make -C "$BENCH_ROOT" --no-print-directory -s all >&2 || bench_die "make failed"
  fi
  [ -x "$TOLLGATE" ] || bench_die "$TOLLGATE: not an executable"
  for t in nginx wrk openssl taskset bpftool "$PY"; do
    command -v "$t" >/dev/null || bench_die "$t is missing (scripts/deps.sh installs it)"
  done
  [ "$(nproc)" -ge 2 ] || bench_die "needs 2 CPUs (server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU)"
  BENCH_TMP=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
  chmod 755 "$BENCH_TMP" # nginx workers run as nobody
  CG_ROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
  [ -n "$CG_ROOT" ] || bench_die "no cgroup2 mount in /proc/self/mounts"
  CG_BASE="$CG_ROOT/tollgate-bench-$$"
  mkdir "$CG_BASE" "$CG_BASE/server" "$CG_BASE/client" "$CG_BASE/other"
}

# Kill every process of a cgroup tree and remove it.
bench_cg_remove() {
  local cg=$1 d
  [ -d "$cg" ] || return 0
  if [ -w "$cg/cgroup.kill" ]; then echo 1 >"$cg/cgroup.kill" 2>/dev/null || true; fi
  for _ in $(seq 50); do
    # deepest first
    while IFS= read -r d; do rmdir "$d" 2>/dev/null || true; done \
      < <(find "$cg" -mindepth 1 -type d 2>/dev/null | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
    rmdir "$cg" 2>/dev/null && return 0
    sleep 0.1
  done
  bench_log "warning: could not remove $cg"
}

bench_cleanup() {
  local p
  set +e
  tg_stop >/dev/null 2>&1
  for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  # nginx: a graceful stop of the master (its pid file), then cgroup.kill for anything left;
  # only then wait for our background subshells (they ignore SIGQUIT and SIGINT)
  [ -n "$NGINX_PID" ] && [ -s "$BENCH_TMP/nginx/nginx.pid" ] &&
    kill -QUIT "$(cat "$BENCH_TMP/nginx/nginx.pid")" 2>/dev/null && sleep 0.5
  [ -n "$CG_BASE" ] && bench_cg_remove "$CG_BASE"
  for p in "${BENCH_PIDS[@]}" $NGINX_PID; do wait "$p" 2>/dev/null; done
  [ -n "$BPF_STATS_OLD" ] && sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD"
  [ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
}

# bench_in_cg CGROUP CPU CMD...: exec CMD inside CGROUP, pinned to CPU (no fork in between,
# so the cgroup holds exactly CMD's process).
bench_in_cg() {
  local cg=$1 cpu=$2
  shift 2
  sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec taskset -c "$0" "$@"' "$cpu" "$cg" "$@"
}

bench_free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

bench_wait_port() {
  local port=$1
  for _ in $(seq 100); do
    if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  bench_die "nothing listens on port $port"
}

# nginx, one worker, TLS (ECDSA P-256; HTTP/1.1 on TLS_PORT, HTTP/2 offered by ALPN on
# H2_PORT) and plaintext, keep-alive without a request limit. Sets TLS_PORT, H2_PORT,
# HTTP_PORT.
nginx_start() {
  local d="$BENCH_TMP/nginx"
  mkdir -p "$d"
  chmod 755 "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$d/key.pem" -out "$d/cert.pem" -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
  TLS_PORT=$(bench_free_port)
  H2_PORT=$(bench_free_port)
  HTTP_PORT=$(bench_free_port)
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d;
  uwsgi_temp_path $d; scgi_temp_path $d;
  server {
    listen 127.0.0.1:$TLS_PORT ssl;
    ssl_certificate $d/cert.pem;
    ssl_certificate_key $d/key.pem;
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.1:$H2_PORT ssl http2;
    ssl_certificate $d/cert.pem;
    ssl_certificate_key $d/key.pem;
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.1:$HTTP_PORT;
    location / { return 200 "ok\n"; }
  }
}
EOF
  nginx -t -q -c "$d/nginx.conf" || bench_die "nginx configuration"
  bench_in_cg "$CG_BASE/server" "$SERVER_CPU" nginx -c "$d/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  bench_wait_port "$TLS_PORT"
  bench_wait_port "$H2_PORT"
  bench_wait_port "$HTTP_PORT"
}

# tg_start NAME ARGS...: start tollgate with ARGS, JSON lines to a file (or to $TG_JSON_TO
# when set); wait until it is attached ("watching" on stderr). Sets TG_PID, TG_ERR, TG_JSON.
tg_start() {
  local name=$1
  shift
  TG_ERR="$BENCH_TMP/tollgate-$name.err"
  TG_JSON=${TG_JSON_TO:-"$BENCH_TMP/tollgate-$name.jsonl"}
  # tollgate appends to an existing --json file: start each run on an empty one
  [ -n "${TG_JSON_TO:-}" ] || rm -f "$TG_JSON"
  "$TOLLGATE" run --json "$TG_JSON" "$@" 2>"$TG_ERR" &
  TG_PID=$!
  for _ in $(seq 300); do
    grep -q 'watching ' "$TG_ERR" 2>/dev/null && return 0
    kill -0 "$TG_PID" 2>/dev/null || { cat "$TG_ERR" >&2; bench_die "tollgate exited"; }
    sleep 0.05
  done
  bench_die "tollgate did not start: $(tail -3 "$TG_ERR")"
}

# Stop tollgate (SIGINT, as a user would) and wait for its summary.
tg_stop() {
  [ -n "$TG_PID" ] || return 0
  kill -INT "$TG_PID" 2>/dev/null || true
  wait "$TG_PID" 2>/dev/null || true
  TG_PID=""
}

# tg_cpu_mark, then tg_cpu_pct: tollgate's CPU time (utime + stime) between the two as a
# percentage of one core over the wall-clock time between them.
tg_cpu_mark() {
  TG_CPU0=$(proc_cpu_ns "$TG_PID")
  TG_T0=$(date +%s%N)
}
tg_cpu_pct() {
  local c t
  c=$(proc_cpu_ns "$TG_PID")
  t=$(date +%s%N)
  awk -v a="$TG_CPU0" -v b="$c" -v s="$TG_T0" -v e="$t" 'BEGIN { printf "%.1f", (b - a) * 100 / (e - s) }'
}

# CPU time (utime + stime, all threads) of a process in ns, from /proc/PID/stat.
proc_cpu_ns() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e9 / hz }' \
    "/proc/$1/stat"
}

# Ids of the BPF programs a process holds (from its fds), one per line.
proc_prog_ids() {
  grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -un
}

# Number of BPF links a process holds (cgroup hooks, raw_tp, uprobe_multi links).
proc_link_count() {
  local n=0 f
  for f in /proc/"$1"/fd/*; do
    [ "$(readlink "$f" 2>/dev/null)" = "anon_inode:bpf_link" ] && n=$((n + 1))
  done
  echo "$n"
}

# "id name run_cnt run_time_ns" of the given program ids.
bpf_prog_stats() {
  local ids
  ids=$(tr '\n' ' ' <<<"$1")
  bpftool -j prog show | "$PY" -c '
import json, sys
ids = set(int(x) for x in sys.argv[1].split())
for p in json.load(sys.stdin):
    if p["id"] in ids:
        print(p["id"], p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0))
' "$ids"
}

bpf_stats_on() {
  [ -n "$BPF_STATS_OLD" ] || BPF_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
  sysctl -qw kernel.bpf_stats_enabled=1
}

bpf_stats_restore() {
  [ -n "$BPF_STATS_OLD" ] && sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD"
  BPF_STATS_OLD=""
}

# wrk_run OUT SECONDS CONNS [wrk args...]: wrk on the TLS port from the client cgroup,
# pinned to the client CPU; its output goes to OUT.
wrk_run() {
  local out=$1 secs=$2 conns=$3
  shift 3
  bench_in_cg "$CG_BASE/client" "$CLIENT_CPU" wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s \
    --latency "$@" "https://127.0.0.1:$TLS_PORT/" >"$out" 2>&1
}

# "requests_per_s p99_us errors" from wrk's output.
wrk_parse() {
  "$PY" - "$1" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", t, re.M)
err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if not rps or not p99:
    sys.exit("cannot parse wrk output:\n" + t)
scale = {"us": 1, "ms": 1e3, "s": 1e6}[p99.group(2)]
errors = (sum(int(x) for x in err.groups()) if err else 0) + (int(non2xx.group(1)) if non2xx else 0)
print(rps.group(1), "%.0f" % (float(p99.group(1)) * scale), errors)
EOF
}

# "N" ring-buffer drops from tollgate's exit summary on stderr.
tg_summary_drops() {
  sed -n 's/.*lost: \([0-9]*\) ring buffer drops.*/\1/p' "$1" | tail -1
}

machine_note() {
  local la
  la=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "machine: $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%dT%H:%M:%SZ); load average $la"
}

# What is measured: the binary, and the commit it was built from when it is this tree's.
tollgate_note() {
  local v
  v=$("$TOLLGATE" version 2>/dev/null | head -1)
  if [ -n "$TOLLGATE_GIVEN" ]; then
    echo "$TOLLGATE ($v)"
  else
    echo "$TOLLGATE ($v, tree at $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
  fi
}
