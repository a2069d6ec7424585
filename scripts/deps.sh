#!/usr/bin/env bash
# Installs every Debian package tollgate's build, run, tests and benchmarks need.
# Idempotent: only missing packages are installed; apt lists are refreshed only when
# an install needs them. Run as root (sudo make ... calls it).
set -euo pipefail

pkgs=(
  # build
  make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
  libssl-dev libyaml-dev libjansson-dev libcapstone-dev uthash-dev libmicrohttpd-dev libnghttp2-dev
  libxxhash-dev
  # tests
  libcmocka-dev libclang-rt-14-dev python3 curl wget openssl nginx iproute2 procps
  # benchmarks and operations tests
  wrk prometheus libhttp-parser-dev nghttp2-client
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
# node: the machine kind ships node 20 at /usr/bin/node; install Debian's only if absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages (${missing[*]}); run as root (sudo make ...)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing ${missing[*]}" >&2
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
