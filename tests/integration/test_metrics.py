"""Issue: Prometheus metrics that drive the seed's own alert rules in a real Prometheus;
the OCI runtime hook; make install.

A real Debian prometheus on loopback scrapes a real tollgate while a client in a test
cgroup floods a real nginx; the seed's HighAPICallRate rule (a test copy of the shipped
file with shorter windows and `for:`) must fire with the cgroup as agent_id.
"""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import (ROOT, TOLLGATE, Cgroup, NginxCase, TempDir, Tollgate, free_port,
                     http_server, tls_client_argv, wait_port)

RULES = os.path.join(ROOT, "scripts", "deploy", "prometheus-rules.yml")
DASHBOARD = os.path.join(ROOT, "scripts", "deploy", "grafana-dashboard.json")
FLOOD = """
import http.client, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection('127.0.0.1', int(sys.argv[1]), context=ctx)
end = time.time() + float(sys.argv[2])
i = 0
while time.time() < end:
    c.request('GET', f'/api/customers/{i % 50}/orders'); c.getresponse().read(); i += 1
    time.sleep(0.01)
"""

# A client that names itself with an escape sequence and a byte that is not UTF-8
# (PR_SET_NAME takes any bytes), then makes one plaintext request.
EVIL_COMM = b"\x1b[31m\xff"
EVIL_CLIENT = """
import ctypes, http.client, sys
ctypes.CDLL(None, use_errno=True).prctl(15, b'\\x1b[31m\\xff', 0, 0, 0)  # PR_SET_NAME
assert open('/proc/self/comm', 'rb').read() == b'\\x1b[31m\\xff\\n'
c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=5)
c.request('GET', '/comm/evil'); c.getresponse().read()
"""
# One sample line of the text exposition format 0.0.4: name, optional labels whose values
# are closed and escaped, one value, nothing else.
SAMPLE = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*'
                    r'(\{[a-zA-Z_]\w*="(?:[^"\\\n]|\\[\\"n])*"'
                    r'(?:,[a-zA-Z_]\w*="(?:[^"\\\n]|\\[\\"n])*")*\})?'
                    r' [-+]?(?:[0-9.eE+-]+|Inf|NaN)')


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def wait_ready(port, timeout=60):
    """Prometheus listens before its TSDB is open and answers 503 until then: wait for
    /-/ready (200) so the first API query is not a startup race."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError) as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"prometheus on :{port} not ready after {timeout}s: {last}")


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


class MetricsTest(NginxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cg = Cgroup()
        cls.port = free_port()
        cls.ctl = os.path.join(cls.tmp.path, "ctl.sock")
        cls.tg = Tollgate(cgroups=[cls.cg],
                          args=["--metrics", str(cls.port), "--control", cls.ctl])

    @classmethod
    def tearDownClass(cls):
        cls.tg.stop()
        cls.cg.remove()
        super().tearDownClass()

    def test_shipped_rules_pass_promtool(self):
        p = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SUCCESS: 4 rules found", p.stdout)

    def test_metrics_loopback_and_format(self):
        body = scrape(self.port)
        for name in ("mcp_agent_api_requests_total", "mcp_agent_api_request_duration_seconds",
                     "mcp_agent_api_cost_total", "mcp_agent_rate_limit_errors_total",
                     "mcp_agent_concurrent_requests", "tollgate_events_total",
                     "tollgate_ringbuf_drops_total", "tollgate_alerts_total",
                     "tollgate_actions_total", "tollgate_probe_attach_errors_total",
                     "tollgate_tracked_cgroups", "tollgate_state_evictions_total"):
            self.assertIn(f"# TYPE {name} ", body)
        # only loopback when a bare port is given
        out = subprocess.run(["ss", "-ltnH", f"sport = :{self.port}"], capture_output=True,
                             text=True).stdout
        self.assertIn(f"127.0.0.1:{self.port}", out)
        self.assertNotIn(f"0.0.0.0:{self.port}", out)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/other", timeout=5)
        self.assertEqual(cm.exception.code, 404)

    def test_hostile_comm(self):
        self.cg.run(["python3", "-c", EVIL_CLIENT, str(self.nginx.http_port)])
        ev = self.tg.wait_for(lambda e: e["event"] == "http_response" and
                              e.get("path") == "/comm/evil", what="response")[0]
        self.assertEqual(ev["comm"], "?[31m?")
        # the whole scrape is UTF-8 and every sample line is well-formed exposition
        deadline = time.time() + 5
        line = None
        while time.time() < deadline and not line:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics",
                                        timeout=5) as r:
                raw = r.read()
            body = raw.decode("utf-8")  # strict: Prometheus refuses the scrape otherwise
            for l in body.splitlines():
                if not l.startswith("#"):
                    self.assertRegex(l, r"\A" + SAMPLE.pattern + r"\Z")
                if l.startswith("mcp_agent_api_requests_total{") and "/comm/evil" in l:
                    line = l
            time.sleep(0.2)
        self.assertIsNotNone(line)
        self.assertNotIn(b"\x1b", raw)
        self.assertEqual(dict(re.findall(r'(\w+)="([^"]*)"', line))["tool_name"], "?[31m?")
        p = subprocess.run(["promtool", "check", "metrics"], input=raw, capture_output=True)
        self.assertNotIn(b"error while linting", p.stdout + p.stderr)
        self.assertNotIn(b"parse", (p.stdout + p.stderr).lower())
        # top shows the row, with the name printable and no escape reaching the terminal
        top = subprocess.run([TOLLGATE, "top", "--control", self.ctl, "--once"],
                             capture_output=True, check=True)
        rows = [l for l in top.stdout.split(b"\n") if l.startswith(self.cg.rel.encode() + b" ")]
        self.assertEqual(len(rows), 1, top.stdout)
        self.assertNotIn(b"\x1b", top.stdout)
        self.assertNotIn(EVIL_COMM, top.stdout)

    def test_request_counter_labels(self):
        # The labels are under test here, not the race of a fresh process's first request
        # with its probes (test_capture covers that; README, Known limits): a curl whose
        # request was not seen is run once more, so the counter below is still exactly 1.
        for attempt in (1, 2):
            self.cg.run(tls_client_argv(
                "curl", f"https://127.0.0.1:{self.nginx.tls_port}/api/users/42"))
            try:
                self.tg.wait_for(lambda e: e["event"] == "http_response" and
                                 e.get("path") == "/api/users/42", what="response")
                break
            except AssertionError:
                if attempt == 2:
                    raise
        deadline = time.time() + 5
        line = None
        while time.time() < deadline and not line:
            for l in scrape(self.port).splitlines():
                if l.startswith("mcp_agent_api_requests_total{") and "users" in l:
                    line = l
            time.sleep(0.2)
        self.assertIsNotNone(line)
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
        self.assertEqual(labels["agent_id"], self.cg.rel)
        self.assertEqual(labels["tool_name"], "curl")
        self.assertEqual(labels["status_code"], "200")
        self.assertTrue(labels["session_id"].isdigit())
        self.assertIn("/api/users", labels["endpoint"])
        self.assertEqual(float(line.rsplit(" ", 1)[1]), 1.0)

    def test_prometheus_fires_high_api_call_rate(self):
        d = tempfile.mkdtemp(prefix="prom-", dir=self.tmp.path)
        # the test copy: the shipped rules with windows and `for:` short enough for a test
        with open(RULES) as f:
            rules = f.read()
        rules = rules.replace("rate(mcp_agent_api_requests_total[5m]) > 100",
                              "rate(mcp_agent_api_requests_total[20s]) > 0.5")
        rules = rules.replace("for: 2m", "for: 5s").replace("interval: 30s", "interval: 1s")
        self.assertIn("[20s]) > 0.5", rules)
        with open(os.path.join(d, "rules.yml"), "w") as f:
            f.write(rules)
        pport = free_port()
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: tollgate
    static_configs: [{{targets: ["127.0.0.1:{self.port}"]}}]
""")
        prom = subprocess.Popen(["prometheus", f"--config.file={d}/prometheus.yml",
                                 f"--storage.tsdb.path={d}/data",
                                 f"--web.listen-address=127.0.0.1:{pport}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(pport, timeout=30)
            wait_ready(pport)
            flood = self.cg.popen(["python3", "-c", FLOOD, str(self.nginx.tls_port), "60"])
            firing = None
            deadline = time.time() + 60
            while time.time() < deadline and not firing:
                alerts = get_json(f"http://127.0.0.1:{pport}/api/v1/alerts")["data"]["alerts"]
                for a in alerts:
                    if (a["labels"]["alertname"] == "HighAPICallRate" and
                            a["state"] == "firing" and
                            a["labels"].get("agent_id") == self.cg.rel):
                        firing = a
                time.sleep(1)
            flood.kill()
            flood.wait()
            self.assertIsNotNone(firing, "HighAPICallRate never fired for the test cgroup")
            self.assertEqual(firing["labels"]["tool_name"], "python3")
            # every query of the seed's dashboard is valid against our series and returns data
            with open(DASHBOARD) as f:
                dash = json.load(f)
            for panel in dash["dashboard"]["panels"]:
                for target in panel["targets"]:
                    q = urllib.parse.quote(target["expr"])
                    r = get_json(f"http://127.0.0.1:{pport}/api/v1/query?query={q}")
                    self.assertEqual(r["status"], "success", target["expr"])
                    if "cost" not in target["expr"] and "rate_limit" not in target["expr"]:
                        self.assertGreater(len(r["data"]["result"]), 0, target["expr"])
        finally:
            prom.terminate()
            prom.wait()


class OciHookTest(unittest.TestCase):
    def test_hook_registers_container_name(self):
        tmp = TempDir()
        cg = Cgroup()
        try:
            ctl = os.path.join(tmp.path, "ctl.sock")
            port = free_port()
            tg = Tollgate(cgroups=[cg], args=["--control", ctl, "--metrics", str(port)])
            srv, srv_port = http_server(tmp.path)
            # a real process in a real cgroup, as a runtime would have created it
            proc = cg.popen(["sleep", "60"])
            deadline = time.time() + 10
            while proc.pid not in cg.procs() and time.time() < deadline:
                time.sleep(0.02)
            self.assertIn(proc.pid, cg.procs())
            state = {"ociVersion": "1.0.2", "id": "3f2c0a9b8e7d6c5b4a39281706f5e4d3",
                     "status": "created", "pid": proc.pid, "bundle": tmp.path,
                     "annotations": {"tollgate.io/name": "research-agent",
                                     "tollgate.io/policy": "strict"}}
            # invoked exactly as runc/crun invoke a hook: state JSON on stdin
            p = subprocess.run([TOLLGATE, "oci-hook", "--control", ctl],
                               input=json.dumps(state), text=True, capture_output=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, "")
            cg.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{srv_port}/hooked"])
            ev = tg.wait_for(lambda e: e["event"] == "http_request" and
                             e.get("path") == "/hooked", what="request")[0]
            self.assertEqual(ev["container"], "research-agent")
            # the counter is bumped at the response, which may come after the request line
            want = r'mcp_agent_api_requests_total\{agent_id="research-agent",'
            deadline = time.time() + 10
            body = scrape(port)
            while not re.search(want, body) and time.time() < deadline:
                time.sleep(0.1)
                body = scrape(port)
            self.assertRegex(body, want)
            # a runtime must never be held up: no daemon -> a line on stderr, exit 0
            p = subprocess.run([TOLLGATE, "oci-hook", "--control",
                                os.path.join(tmp.path, "absent.sock")],
                               input=json.dumps(state), text=True, capture_output=True)
            self.assertEqual(p.returncode, 0)
            self.assertIn("not registered", p.stderr)
            p = subprocess.run([TOLLGATE, "oci-hook", "--control", ctl], input="not json",
                               text=True, capture_output=True)
            self.assertEqual(p.returncode, 0)
            self.assertIn("not JSON", p.stderr)
            proc.kill()
            proc.wait()
            srv.terminate()
            srv.wait()
            tg.stop()
        finally:
            cg.remove()
            tmp.cleanup()


class InstallTest(unittest.TestCase):
    def test_make_install(self):
        tmp = TempDir()
        try:
            dest = os.path.join(tmp.path, "root")
            p = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "install",
                                f"DESTDIR={dest}", "PREFIX=/usr/local"],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            for f in ("usr/local/bin/tollgate", "etc/tollgate/policy.yaml",
                      "usr/local/share/tollgate/prometheus-rules.yml",
                      "usr/local/share/tollgate/grafana-dashboard.json",
                      "usr/local/lib/systemd/system/tollgate.service",
                      "usr/local/share/containers/oci/hooks.d/tollgate.json",
                      "etc/logrotate.d/tollgate"):
                self.assertTrue(os.path.exists(os.path.join(dest, f)), f)
            with open(os.path.join(dest, "usr/local/lib/systemd/system/tollgate.service")) as f:
                unit = f.read()
            self.assertIn("ExecStart=/usr/local/bin/tollgate run --policy "
                          "/etc/tollgate/policy.yaml", unit)
            self.assertIn("CapabilityBoundingSet=CAP_BPF CAP_PERFMON", unit)
            self.assertNotIn("@", unit)
            p = subprocess.run(["systemd-analyze", "verify", "--root", dest,
                                os.path.join(dest, "usr/local/lib/systemd/system/"
                                             "tollgate.service")],
                               capture_output=True, text=True)
            self.assertNotIn("Unknown", p.stderr)
            with open(os.path.join(dest, "usr/local/share/containers/oci/hooks.d/"
                                   "tollgate.json")) as f:
                hook = json.load(f)
            self.assertEqual(hook["hook"]["path"], "/usr/local/bin/tollgate")
            self.assertEqual(hook["stages"], ["createRuntime"])
            with open(os.path.join(dest, "etc/logrotate.d/tollgate")) as f:
                rot = f.read()
            self.assertIn("/var/log/tollgate/events.jsonl {", rot)
            self.assertIn("--signal=HUP", rot)
            self.assertNotIn("copytruncate", rot)
            p = subprocess.run([os.path.join(dest, "usr/local/bin/tollgate"), "policy", "check",
                                os.path.join(dest, "etc/tollgate/policy.yaml")],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
