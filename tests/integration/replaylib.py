"""Deterministic `tollgate run` JSON lines for replay tests, and a runner for
`tollgate replay -`.

Nothing here needs root or BPF: a Stream builds the observations an agent's traffic
would produce (http_request, http_response paired with its request, drops), in the
schema README.md documents, and replay() pipes them through build/tollgate replay.
"""
import datetime
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLLGATE = os.path.join(ROOT, "build", "tollgate")

# 2026-11-21T08:00:00Z
T0 = 1795248000.0


def rfc3339(t):
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Agent:
    """A cgroup with one process in it."""

    def __init__(self, cgroup_id, path, comm="agent", pid=None):
        self.id = cgroup_id
        self.path = path
        self.comm = comm
        self.pid = pid or 1000 + cgroup_id


class Stream:
    """Observations in time order."""

    def __init__(self):
        self.events = []  # (t, seq, dict)
        self.seq = 0

    def _add(self, t, ev):
        self.seq += 1
        self.events.append((t, self.seq, ev))

    def _base(self, t, agent, event):
        return {"ts": rfc3339(t), "event": event, "cgroup_id": agent.id, "cgroup": agent.path,
                "pid": agent.pid, "tid": agent.pid, "comm": agent.comm}

    def request(self, t, agent, host, path, query=None, method="GET", tls="openssl",
                daddr="10.0.0.10", dport=443, nbytes=200):
        ev = self._base(t, agent, "http_request")
        ev.update({"proto": "http/1.1", "tls": tls, "daddr": daddr, "dport": dport,
                   "method": method, "host": host, "path": path, "query": query,
                   "auth_fp": "a1b2c3d4e5f6", "bytes": nbytes})
        self._add(t, ev)

    def response(self, t, agent, host, path, query=None, method="GET", status=200,
                 nbytes=1000, latency_ms=20.0, retry_after=None, tls="openssl",
                 daddr="10.0.0.10", dport=443):
        ev = self._base(t, agent, "http_response")
        ev.update({"proto": "http/1.1", "tls": tls, "daddr": daddr, "dport": dport,
                   "status": status, "method": method, "host": host, "path": path,
                   "query": query, "bytes": nbytes, "latency_ms": latency_ms})
        if retry_after is not None:
            ev["retry_after"] = retry_after
        self._add(t, ev)

    def call(self, t, agent, host, path, query=None, method="GET", status=200, nbytes=1000,
             latency_ms=20.0, retry_after=None, **kw):
        """A request at t and its response latency_ms later."""
        self.request(t, agent, host, path, query, method, **kw)
        self.response(t + latency_ms / 1000.0, agent, host, path, query, method, status,
                      nbytes, latency_ms, retry_after, **kw)

    def drops(self, t, count):
        self._add(t, {"ts": rfc3339(t), "event": "drops", "cgroup_id": 0, "cgroup": None,
                      "pid": None, "tid": None, "comm": None, "count": count})

    def lines(self):
        return [json.dumps(ev) for _, _, ev in sorted(self.events, key=lambda x: (x[0], x[1]))]

    def text(self):
        return "\n".join(self.lines()) + "\n"


def replay(text, policy=None, extra_args=()):
    """Run `tollgate replay -` on text; returns (alerts, stderr)."""
    argv = [TOLLGATE, "replay"]
    tmp = None
    if policy is not None:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        tmp.write(policy)
        tmp.close()
        argv += ["--policy", tmp.name]
    argv += list(extra_args) + ["-"]
    try:
        p = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=120)
    finally:
        if tmp:
            os.unlink(tmp.name)
    if p.returncode != 0:
        raise RuntimeError(f"tollgate replay failed ({p.returncode}): {p.stderr}")
    alerts = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    for a in alerts:
        assert a["event"] == "alert", a
    return alerts, p.stderr


def first(alerts, rule, **match):
    """The first non-summary alert of rule whose fields equal match."""
    for a in alerts:
        if a["rule"] == rule and a["suppressed"] == 0 and \
                all(a.get(k) == v for k, v in match.items()):
            return a
    return None
