"""Replay scenarios: every seed attack of SAFE-T2102 and SAFE-T1804 fires its rule.

Each test generates the JSON lines `tollgate run` would write for the attack (replaylib),
pipes them to `tollgate replay -` under the default policy (or the one named) and checks
exact fields of the alert. No root needed.
"""
import unittest

from replaylib import T0, Agent, Stream, first, replay

T2102 = "SAFE-T2102"
T1804 = "SAFE-T1804"


class AttackReplayTest(unittest.TestCase):
    def check(self, alerts, rule, technique, agent, count, threshold, host=None, endpoint=None,
              severity=None):
        a = first(alerts, rule, cgroup=agent.path)
        self.assertIsNotNone(a, f"no {rule} alert for {agent.path} in "
                                f"{[(x['rule'], x['cgroup']) for x in alerts]}")
        self.assertEqual(a["technique"], technique)
        self.assertEqual(a["cgroup_id"], agent.id)
        self.assertEqual(a["cgroup"], agent.path)
        self.assertEqual(a["comm"], agent.comm)
        self.assertEqual(a["pid"], agent.pid)
        self.assertEqual(a["host"], host)
        self.assertEqual(a["endpoint"], endpoint)
        self.assertEqual(a["count"], count)
        self.assertEqual(a["threshold"], threshold)
        self.assertEqual(a["suppressed"], 0)
        self.assertLessEqual(a["first_ts"], a["last_ts"])
        self.assertLessEqual(len(a["samples"]), 5)
        if severity:
            self.assertEqual(a["severity"], severity)
        return a

    def test_status_flood_10000_users(self):
        # The seed's example: /api/users/{id}/status for ids 1..10000 at 100 requests/s;
        # the API answers every other one 429 (Retry-After: 1) and the agent retries at once.
        ag = Agent(101, "/agents/status-bot")
        s = Stream()
        host = "api.example.com"
        for i in range(1, 10001):
            t = T0 + i * 0.01
            path = f"/api/users/{i}/status"
            if i % 2:
                s.call(t, ag, host, path, status=429, retry_after=1, latency_ms=2.0)
                s.call(t + 0.004, ag, host, path, status=200, latency_ms=3.0)
            else:
                s.call(t, ag, host, path, status=200, latency_ms=3.0)
        alerts, _ = replay(s.text())
        ep = host + "/api/users/{id}/status"
        self.check(alerts, "volume", T2102, ag, 100, 100, host=host, severity="high")
        self.check(alerts, "rapid", T2102, ag, 50, 50, host=host, endpoint=ep)
        a = self.check(alerts, "rate_limit", T2102, ag, 20, 20, host=host, severity="critical")
        self.assertIn("429 Too Many Requests", a["detail"])
        self.check(alerts, "enumeration", T1804, ag, 20, 20, host=host, endpoint=ep)
        # one alert per (rule, cgroup, key) per cool-down: the rest are counted in summaries
        vol = [x for x in alerts if x["rule"] == "volume"]
        self.assertEqual(len(vol), 2)
        self.assertEqual(vol[1]["suppressed"], 15000 - 100)
        self.assertTrue(vol[1]["detail"].startswith("summary:"))

    def test_retry_storm_on_429(self):
        # 429 with Retry-After: 30, re-sent every 500 ms anyway
        ag = Agent(102, "/agents/notifier")
        s = Stream()
        t = T0
        for _ in range(10):
            s.call(t, ag, "api.sms.example", "/v1/messages", "to=REDACTED", method="POST",
                   status=429, retry_after=30, latency_ms=15.0)
            t += 0.5
        alerts, _ = replay(s.text())
        a = self.check(alerts, "retry_loop", T2102, ag, 6, 5, host="api.sms.example",
                       endpoint="api.sms.example/v1/messages")
        self.assertEqual(a["detail"], "POST /v1/messages re-sent 6 times after 429/5xx "
                                      "responses (last 429); Retry-After given on 6 of them "
                                      "(last 30 s), honoured 0, ignored 6")
        self.assertEqual(a["samples"], ["/v1/messages?to=REDACTED"] * 5)

    def test_retry_loop_on_5xx_honouring_retry_after(self):
        ag = Agent(103, "/agents/patient")
        s = Stream()
        t = T0
        for _ in range(7):
            s.call(t, ag, "api.flaky.example", "/v2/report", status=503, retry_after=2,
                    latency_ms=100.0)
            t += 2.5
        alerts, _ = replay(s.text())
        a = self.check(alerts, "retry_loop", T2102, ag, 6, 5, host="api.flaky.example",
                       endpoint="api.flaky.example/v2/report")
        self.assertIn("(last 503); Retry-After given on 6 of them (last 2 s), honoured 6, "
                      "ignored 0", a["detail"])

    def test_parallel_fan_out(self):
        # batches of 15 concurrent searches every 10 s, each answered after 1.5 s
        ag = Agent(104, "/agents/fanout")
        s = Stream()
        for b in range(6):
            for i in range(15):
                t = T0 + b * 10 + i * 0.002
                s.call(t, ag, "api.search.example", "/search", f"q=item{b}-{i}",
                       latency_ms=1500.0)
        alerts, _ = replay(s.text())
        a = self.check(alerts, "parallel", T2102, ag, 5, 5, host="api.search.example")
        self.assertIn("while more than 10 were in flight (now 15)", a["detail"])

    def test_paced_enumeration(self):
        # the seed's "rate limit evasion": one customer every 3 s, far below any rate rule
        ag = Agent(105, "/agents/crm-helper")
        s = Stream()
        for i in range(1, 41):
            s.call(T0 + i * 3, ag, "crm.internal", f"/v1/accounts/{i}", nbytes=800)
        alerts, _ = replay(s.text())
        a = self.check(alerts, "enumeration", T1804, ag, 20, 20, host="crm.internal",
                       endpoint="crm.internal/v1/accounts/{id}", severity="high")
        self.assertEqual(a["samples"], [f"/v1/accounts/{i}" for i in range(16, 21)])
        self.assertEqual(a["first_ts"], "2026-11-21T08:00:03.000000Z")
        self.assertEqual([x["rule"] for x in alerts if x["suppressed"] == 0], ["enumeration"])

    def test_enumeration_every_100ms(self):
        ag = Agent(106, "/agents/crm-fast")
        s = Stream()
        for i in range(1, 201):
            s.call(T0 + i * 0.1, ag, "crm.internal", f"/v1/accounts/{i}")
        alerts, _ = replay(s.text())
        self.check(alerts, "enumeration", T1804, ag, 20, 20, host="crm.internal",
                   endpoint="crm.internal/v1/accounts/{id}")

    def test_pagination_walk(self):
        ag = Agent(107, "/agents/exporter")
        s = Stream()
        for p in range(1, 41):
            s.call(T0 + p, ag, "shop.internal", "/api/orders", f"page={p}&limit=100",
                   nbytes=40000)
        alerts, _ = replay(s.text())
        a = self.check(alerts, "pagination", T1804, ag, 11, 10, host="shop.internal",
                       endpoint="shop.internal/api/orders", severity="medium")
        self.assertEqual(a["detail"], "11 distinct values of page= on shop.internal/api/orders "
                                      "within 60 s")
        self.assertEqual(a["samples"][-1], "/api/orders?page=11&limit=100")

    def test_list_detail_crawl(self):
        # the seed: list the customers, then fetch each one's record, metrics and logs
        ag = Agent(108, "/agents/analyst")
        s = Stream()
        host = "crm.internal"
        s.call(T0, ag, host, "/api/customers", "limit=1000", nbytes=200000)
        t = T0 + 1
        for cid in (8812, 17, 4410, 93, 2077):
            for sub in ("", "/metrics", "/logs", "/orders", "/invoices"):
                q = "start=2024-01-01" if sub == "/logs" else None
                s.call(t, ag, host, f"/api/customers/{cid}{sub}", q)
                t += 2
        alerts, _ = replay(s.text())
        a = self.check(alerts, "cross_endpoint", T1804, ag, 6, 5, host=host)
        self.assertIn("a collection followed by its {id} children", a["detail"])
        self.assertEqual(a["first_ts"], "2026-11-21T08:00:00.000000Z")

    def test_prometheus_grafana_scraping(self):
        # the seed's observability harvest across Prometheus and Grafana
        ag = Agent(109, "/agents/aiops")
        s = Stream()
        prom, graf = "prometheus.internal:9090", "grafana.internal:3000"
        t = T0
        s.call(t, ag, prom, "/api/v1/query", "query=up", tls=None, dport=9090)
        metrics = ["node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "http_requests",
                   "up", "process_open_fds", "go_goroutines", "node_disk_io_time",
                   "kube_pod_info", "container_cpu_usage"]
        for m in metrics:
            t += 0.5
            s.call(t, ag, prom, "/api/v1/series", f"match[]={m}", tls=None, dport=9090)
        t += 0.5
        s.call(t, ag, graf, "/api/datasources", tls=None, dport=3000)
        for uid in ("rYdddlPWk", "000000012", "aBcD3fGh1", "node-exp", "k8s-overview",
                    "sloth-slo", "loki-logs", "api-latency", "billing", "security"):
            t += 0.5
            s.call(t, ag, graf, f"/api/dashboards/uid/{uid}", tls=None, dport=3000)
        alerts, _ = replay(s.text())
        a = self.check(alerts, "observability_api", T1804, ag, 21, 20)
        self.assertEqual(a["severity"], "high")
        self.assertIn("21 distinct requests to observability and data API paths", a["detail"])

    def test_cost_exhaustion(self):
        policy = ("prices:\n"
                  "  - match: \"api.llm.example/v1/chat/*\"\n"
                  "    usd: 0.05\n")
        ag = Agent(110, "/agents/looping")
        s = Stream()
        for i in range(2100):
            s.call(T0 + i * 1.5, ag, "api.llm.example", "/v1/chat/completions", method="POST",
                   latency_ms=900.0)
        alerts, _ = replay(s.text(), policy=policy)
        a = self.check(alerts, "cost", T2102, ag, 2001, 100, severity="critical")
        self.assertEqual(a["value"], 100.05)
        self.assertEqual(a["window_s"], 3600)
        self.assertIn("more than max_usd 100.00", a["detail"])
        # without a price table nothing costs anything
        alerts, _ = replay(s.text())
        self.assertIsNone(first(alerts, "cost"))

    def test_runaway_growth(self):
        # 20 min at 20 requests/min, then a loop at 2 requests/s
        ag = Agent(111, "/agents/runaway")
        s = Stream()
        t = T0
        while t < T0 + 1200:
            s.call(t, ag, "api.tools.example", "/v1/run", latency_ms=50.0)
            t += 3
        while t < T0 + 1500:
            s.call(t, ag, "api.tools.example", "/v1/run", latency_ms=50.0)
            t += 0.5
        alerts, _ = replay(s.text())
        a = first(alerts, "growth", cgroup=ag.path)
        self.assertIsNotNone(a)
        self.assertEqual(a["technique"], T2102)
        self.assertIsNone(a["host"])
        # the baseline is 300 requests in 15 min (20/min); at 300 requests in the last
        # 5 min (60/min) the rate is exactly 3x, which is not more than 3: the next one fires
        self.assertEqual(a["count"], 301)
        self.assertEqual(a["threshold"], 3)
        self.assertEqual(a["value"], 3.01)
        self.assertIn("301 requests in the last 300 s against 300 in the 900 s before",
                      a["detail"])

    def test_bulk_data_volume(self):
        ag = Agent(112, "/agents/exfil")
        s = Stream()
        for i in range(60):
            s.call(T0 + i * 2, ag, "files.internal", f"/export/part-{i:03d}.csv",
                   nbytes=1 << 20)
        alerts, _ = replay(s.text())
        a = self.check(alerts, "data_volume", T1804, ag, 50 * (1 << 20) + (1 << 20),
                       50 * (1 << 20))
        self.assertEqual(a["value"], 51 * (1 << 20))

    def test_drops_are_reported_with_alerts(self):
        ag = Agent(113, "/agents/flood-with-drops")
        s = Stream()
        s.drops(T0 + 1, 37)
        for i in range(120):
            s.call(T0 + i * 0.2, ag, "api.example.com", "/v1/items", f"n={i}")
        alerts, _ = replay(s.text())
        a = first(alerts, "volume", cgroup=ag.path)
        self.assertEqual(a["drops"], 37)

    def test_cgroups_are_kept_apart(self):
        # two agents at 60 requests each to one host: neither reaches volume's 100
        a1, a2 = Agent(114, "/agents/one"), Agent(115, "/agents/two")
        s = Stream()
        for i in range(60):
            s.call(T0 + i * 2, a1, "api.example.com", "/v1/a", f"n={i}")
            s.call(T0 + i * 2 + 1, a2, "api.example.com", "/v1/a", f"n={i}")
        alerts, _ = replay(s.text())
        self.assertEqual(alerts, [])


if __name__ == "__main__":
    unittest.main()
