#!/usr/bin/python3
"""A paced HTTPS client: a realistic agent load for scripts/bench-overhead.sh.

    paced-client.py URL RATE SECONDS

Sends GET URL at RATE requests/s for SECONDS over one keep-alive TLS connection
(http.client, so the system libssl.so.3 through Python's _ssl: SSL_write_ex, SSL_read_ex),
on an absolute schedule (request i is due at start + i/RATE; a late request is sent at
once, never skipped). Prints one JSON object: requests sent, errors, achieved rate,
latency percentiles (ms) and this process's own CPU time (utime + stime, s), which
includes the uprobe traps tollgate's probes cost it.
"""
import http.client
import json
import resource
import ssl
import sys
import time
import urllib.parse


def main():
    url, rate, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = None
    lat = []
    errors = 0
    reconnects = 0
    n = int(rate * secs)
    start = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for i in range(n):
        due = start + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        t = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=5)
                reconnects += 1
            conn.request("GET", u.path or "/", headers={"Authorization": "Bearer sk-bench"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors += 1
            lat.append((time.monotonic() - t) * 1e3)
        except (OSError, http.client.HTTPException):
            errors += 1
            conn = None
    elapsed = time.monotonic() - start
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 3) if lat else None

    print(json.dumps({
        "requests": n, "ok": len(lat), "errors": errors, "connections": reconnects,
        "seconds": round(elapsed, 3), "rate": round(len(lat) / elapsed, 2),
        "p50_ms": pct(50), "p99_ms": pct(99),
        "cpu_s": round((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), 4),
        "utime_s": round(r1.ru_utime - r0.ru_utime, 4),
        "stime_s": round(r1.ru_stime - r0.ru_stime, 4),
    }))


if __name__ == "__main__":
    main()
