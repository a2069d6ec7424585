"""Per-cgroup state follows the live cgroups: what tollgate holds for a cgroup (detector
windows, top's rows, metric series and sessions) is dropped once the cgroup is removed,
so a host with container churn does not accumulate state for every cgroup it ever saw.

Real cgroups under a watched one, each with a real curl against a real local server,
then removed; `tollgate status --json` must show the counts rise and fall back, and
/metrics must no longer carry the removed cgroups' session_id series.
"""
import os
import time
import unittest
import urllib.request

from harness import (Cgroup, TempDir, Tollgate, free_port, http_server,
                     tollgate_status)

N = 6


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


class ForgetRemovedCgroupsTest(unittest.TestCase):
    def test_state_of_removed_cgroups_is_dropped(self):
        tmp = TempDir()
        parent = Cgroup()
        keep = Cgroup(parent=parent, name="keep")
        srv = None
        tg = None
        try:
            ctl = os.path.join(tmp.path, "ctl.sock")
            mport = free_port()
            tg = Tollgate(cgroups=[parent], args=["--control", ctl, "--metrics", str(mport)])
            srv, port = http_server(tmp.path)
            url = f"http://127.0.0.1:{port}/item"
            churned = [Cgroup(parent=parent, name=f"churn{i}") for i in range(N)]
            for cg in [keep] + churned:
                cg.run(["curl", "-s", "-o", "/dev/null", url])
            ids = {os.stat(cg.path).st_ino for cg in churned}
            keep_id = os.stat(keep.path).st_ino
            tg.wait_for(lambda e: e["event"] == "http_response" and
                        e.get("cgroup") == churned[-1].rel, what="last churned response")
            deadline = time.time() + 10
            while time.time() < deadline:
                st = tollgate_status(ctl)["cgroup_state"]
                if st["detector_cgroups"] >= N + 1 and st["metric_sessions"] >= N + 1:
                    break
                time.sleep(0.2)
            self.assertGreaterEqual(st["detector_cgroups"], N + 1, st)
            self.assertGreaterEqual(st["top_rows"], N + 1, st)
            self.assertGreaterEqual(st["metric_sessions"], N + 1, st)
            series_before = st["metric_series"]
            body = scrape(mport)
            for i in ids:
                self.assertIn(f'session_id="{i}"', body)

            for cg in churned:
                cg.remove()
            # removed cgroups are forgotten after two walks that miss them (5 s apart)
            deadline = time.time() + 30
            while time.time() < deadline:
                st = tollgate_status(ctl)["cgroup_state"]
                if st["forgotten"] >= N:
                    break
                time.sleep(0.5)
            self.assertGreaterEqual(st["forgotten"], N, st)
            self.assertEqual(st["forget_lost"], 0, st)
            self.assertEqual(st["detector_cgroups"], 1, st)   # keep's
            self.assertEqual(st["top_rows"], 1, st)
            self.assertEqual(st["metric_sessions"], 1, st)
            self.assertLess(st["metric_series"], series_before, st)
            body = scrape(mport)
            for i in ids:
                self.assertNotIn(f'session_id="{i}"', body)
            self.assertIn(f'session_id="{keep_id}"', body)
            # the live cgroup is still tracked and counted afterwards
            keep.run(["curl", "-s", "-o", "/dev/null", url + "?again=1"])
            tg.wait_for(lambda e: e["event"] == "http_response" and
                        e.get("query") == "again=1", what="response after forgetting")
            self.assertEqual(tg.stop(), 0, tg.stderr()[-2000:])
            tg = None
        finally:
            if tg:
                tg.stop()
            if srv:
                srv.kill()
                srv.wait()
            keep.remove()
            parent.remove()
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
