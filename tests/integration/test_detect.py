"""Issue 3 end to end: real clients in test cgroups against a local nginx over TLS whose
limit_req answers real 429s, watched by a real `tollgate run` under the built-in policy.

A flood raises volume, rapid and rate_limit; an enumeration of /api/customers/1..200 raises
enumeration; a page walk raises pagination. `tollgate replay` of the run's own output
raises the very same alerts. Root (CI runs as root).
"""
import json
import os
import subprocess
import time
import unittest

from harness import TOLLGATE, Certs, Cgroup, Nginx, NginxCase, TempDir, Tollgate


class DetectTest(NginxCase):
    nginx_args = {"rate": "1r/s"}  # the flood workload needs real 429s

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host = f"127.0.0.1:{cls.nginx.tls_port}"
        cls.base = f"https://{cls.host}"
        cls.cg_flood = Cgroup()
        cls.cg_enum = Cgroup()
        cls.cg_page = Cgroup()
        cls.tg = Tollgate(cgroups=[cls.cg_flood, cls.cg_enum, cls.cg_page])
        # one curl per workload: URL globbing, one keep-alive TLS connection, sequential
        cls.workload(cls.cg_flood, "/limited?n=[1-150]", 150)
        cls.workload(cls.cg_enum, "/api/customers/[1-200]", 200)
        cls.workload(cls.cg_page, "/api/items?page=[1-30]&limit=50", 30)

    @classmethod
    def workload(cls, cg, target, n):
        cg.run(["curl", "-sk", "--http1.1", "-o", "/dev/null", cls.base + target], timeout=120)
        # the detectors can only judge what was captured: make sure all of it was, so a
        # capture problem is reported as one, not as a missing alert
        deadline = time.time() + 15
        while True:
            got = [e for e in cls.tg.events() if e["event"] == "http_response" and
                   e["cgroup"] == cg.rel]
            if len(got) >= n or time.time() > deadline:
                break
            time.sleep(0.1)
        if len(got) < n:
            err = cls.tg.stderr()[-2000:]
            cls.tearDownClass()
            raise AssertionError(f"capture: {len(got)} of {n} responses of {target} seen in "
                                 f"{cg.rel}:\n{err}")

    @classmethod
    def tearDownClass(cls):
        cls.tg.stop()
        cls.cg_flood.remove()
        cls.cg_enum.remove()
        cls.cg_page.remove()
        super().tearDownClass()

    def alert(self, rule, cg):
        hits = self.tg.wait_for(lambda e: e["event"] == "alert" and e["rule"] == rule and
                                e["cgroup"] == cg.rel and e["suppressed"] == 0,
                                timeout=20, what=f"{rule} alert for {cg.rel}")
        self.assertEqual(len(hits), 1, hits)
        a = hits[0]
        self.assertEqual(a["comm"], "curl")
        self.assertGreater(a["pid"], 0)
        self.assertLessEqual(a["first_ts"], a["last_ts"])
        # live, ts is when tollgate raised the alert: at or after the observation that
        # fired it (replay stamps it with that observation's time)
        self.assertLessEqual(a["last_ts"], a["ts"])
        return a

    def test_flood_volume(self):
        a = self.alert("volume", self.cg_flood)
        self.assertEqual(a["technique"], "SAFE-T2102")
        self.assertEqual(a["severity"], "high")
        self.assertEqual(a["host"], self.host)
        self.assertIsNone(a["endpoint"])
        self.assertEqual(a["count"], 100)
        self.assertEqual(a["threshold"], 100)
        self.assertEqual(a["window_s"], 300)
        self.assertEqual(a["samples"], [f"/limited?n={i}" for i in range(96, 101)])

    def test_flood_rapid(self):
        a = self.alert("rapid", self.cg_flood)
        self.assertEqual(a["technique"], "SAFE-T2102")
        self.assertEqual(a["host"], self.host)
        self.assertEqual(a["endpoint"], f"{self.host}/limited")
        self.assertEqual(a["count"], 50)
        self.assertEqual(a["window_s"], 60)
        self.assertEqual(a["samples"][-1], "/limited?n=51")

    def test_flood_rate_limit(self):
        # nginx's limit_req really answered 429: count them in its own log
        statuses = [st for _, req, st in self.nginx.log() if req.startswith("GET /limited")]
        self.assertGreaterEqual(statuses.count(429), 100)
        a = self.alert("rate_limit", self.cg_flood)
        self.assertEqual(a["technique"], "SAFE-T2102")
        self.assertEqual(a["severity"], "critical")
        self.assertEqual(a["host"], self.host)
        self.assertEqual(a["count"], 20)
        self.assertEqual(a["threshold"], 20)
        self.assertIn("429 Too Many Requests", a["detail"])

    def test_enumeration(self):
        a = self.alert("enumeration", self.cg_enum)
        self.assertEqual(a["technique"], "SAFE-T1804")
        self.assertEqual(a["host"], self.host)
        self.assertEqual(a["endpoint"], f"{self.host}/api/customers/{{id}}")
        self.assertEqual(a["count"], 20)
        self.assertEqual(a["threshold"], 20)
        self.assertEqual(a["window_s"], 600)
        self.assertEqual(a["samples"], [f"/api/customers/{i}" for i in range(16, 21)])
        self.assertIn("20 distinct ids (1..20)", a["detail"])
        # nothing in the flood cgroup is an enumeration, nothing here a rate limit
        self.assertFalse([e for e in self.tg.events() if e["event"] == "alert" and
                          e["cgroup"] == self.cg_flood.rel and e["rule"] == "enumeration"])
        self.assertFalse([e for e in self.tg.events() if e["event"] == "alert" and
                          e["cgroup"] == self.cg_enum.rel and e["rule"] == "rate_limit"])

    def test_pagination(self):
        a = self.alert("pagination", self.cg_page)
        self.assertEqual(a["technique"], "SAFE-T1804")
        self.assertEqual(a["endpoint"], f"{self.host}/api/items")
        self.assertEqual(a["count"], 11)
        self.assertEqual(a["threshold"], 10)
        self.assertEqual(a["samples"][-1], "/api/items?page=11&limit=50")
        self.assertEqual(a["detail"], f"11 distinct values of page= on {self.host}/api/items "
                                      "within 60 s")

    def test_replay_of_the_run_raises_the_same_alerts(self):
        # same observations, same code: every alert of the run comes out of replay
        # (summaries aside: live cool-downs end on the wall clock)
        self.alert("pagination", self.cg_page)
        live = [e for e in self.tg.events() if e["event"] == "alert" and e["suppressed"] == 0]
        p = subprocess.run([TOLLGATE, "replay", "-q", self.tg.out], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        replayed = [json.loads(x) for x in p.stdout.splitlines()]
        replayed = [e for e in replayed if e["suppressed"] == 0]
        ours = {self.cg_flood.rel, self.cg_enum.rel, self.cg_page.rel}
        self.assertGreaterEqual(len([e for e in live if e["cgroup"] in ours]), 5)
        # identical but for ts: live alerts carry the time they were raised, replayed ones
        # the time of the observation that fired them (last_ts, equal in both)
        for e in replayed:
            self.assertEqual(e["ts"], e["last_ts"])
        strip = lambda es: [{k: v for k, v in e.items() if k != "ts"} for e in es]
        self.assertEqual(strip(live), strip(replayed))


class PolicyOptionTest(unittest.TestCase):
    def test_run_with_policy_file(self):
        tmp = TempDir()
        certs = Certs(tmp.path)
        nginx = Nginx(tmp.path, certs)
        cg = Cgroup()
        pol = os.path.join(tmp.path, "policy.yaml")
        with open(pol, "w") as f:
            f.write(f"overrides:\n  - cgroup: \"{cg.rel}\"\n"
                    "    rules: {volume: {threshold: 10, severity: low}}\n")
        tg = Tollgate(args=["--policy", pol], cgroups=[cg])
        try:
            self.assertIn(f"detection policy: {pol} (1 overrides, 0 prices)", tg.stderr())
            cg.run(["curl", "-sk", "--http1.1", "-o", "/dev/null",
                    f"https://127.0.0.1:{nginx.tls_port}/v1/ping?n=[1-12]"])
            a = tg.wait_for(lambda e: e["event"] == "alert" and e["rule"] == "volume",
                            what="volume alert")[0]
            self.assertEqual(a["count"], 10)
            self.assertEqual(a["severity"], "low")
            self.assertEqual(a["cgroup"], cg.rel)
        finally:
            tg.stop()
            cg.remove()
            nginx.stop()
            tmp.cleanup()

    def test_bad_policy_is_refused(self):
        tmp = TempDir()
        pol = os.path.join(tmp.path, "bad.yaml")
        with open(pol, "w") as f:
            f.write("rules:\n  volume: {threshold: many}\n")
        try:
            p = subprocess.run([TOLLGATE, "run", "--policy", pol], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 2)
            self.assertEqual(p.stderr, f'tollgate: {pol}:2: rules.volume.threshold: expected an '
                                       'integer, got "many"\n')
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
