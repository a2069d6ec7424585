"""Replay scenarios: benign work stays quiet under the default policy (issue 3).

Each workload is generated as the JSON lines `tollgate run` would write for it and replayed
with `tollgate replay -`; not a single alert may come out. No root needed.
"""
import random
import unittest

from replaylib import T0, Agent, Stream, replay


def llm_agent(s, ag, hours=1.0, per_min=15, seed=1):
    """An agent calling one LLM API 15 times a minute: streamed answers of 1-8 s."""
    rnd = random.Random(seed)
    n = int(hours * 60 * per_min)
    for i in range(n):
        t = T0 + i * 60.0 / per_min + rnd.uniform(0, 0.5)
        s.call(t, ag, "api.openai.com", "/v1/chat/completions", method="POST",
               latency_ms=rnd.uniform(1000, 8000), nbytes=rnd.randint(2000, 30000))


def package_downloads(s, ag, t0=T0, seed=2):
    """apt fetching 50 packages from one mirror in a minute, pipelined 10 deep."""
    rnd = random.Random(seed)
    host = "deb.debian.org"
    s.call(t0, ag, host, "/debian/dists/bookworm/InRelease", tls=None, dport=80,
           nbytes=151000, latency_ms=40.0)
    s.call(t0 + 0.2, ag, host, "/debian/dists/bookworm/main/binary-amd64/Packages.xz",
           tls=None, dport=80, nbytes=8800000, latency_ms=900.0)
    names = ["libssl3", "curl", "libcurl4", "ca-certificates", "openssl", "libnghttp2-14",
             "libpsl5", "librtmp1", "libssh2-1", "libldap-2.5-0", "libsasl2-2", "libbrotli1",
             "libzstd1", "liblz4-1", "libgnutls30", "libidn2-0", "libunistring2", "libtasn1-6",
             "libp11-kit0", "libffi8", "libgmp10", "nettle", "libhogweed6", "libkrb5-3",
             "libk5crypto3", "libkeyutils1", "libkrb5support0", "libgssapi-krb5-2", "libcom-err2",
             "libsasl2-modules-db", "libdb5.3", "git", "git-man", "liberror-perl", "perl",
             "perl-base", "perl-modules-5.36", "libperl5.36", "libgdbm6", "libgdbm-compat4",
             "less", "patch", "xz-utils", "liblzma5", "bzip2", "libbz2-1.0", "make",
             "gcc-12-base", "libgcc-s1", "libstdc++6"]
    assert len(names) == 50
    # request i+10 goes out when response i comes back: at most 10 in flight
    sent = [t0 + 1.2 + 0.001 * i for i in range(10)]
    done = []
    for i, n in enumerate(names):
        t_req = sent[i]
        size = rnd.randint(100000, 600000)
        lat = 1000.0 * size / 2e6  # 2 MB/s
        t_resp = max([t_req + lat / 1000] + done[-1:]) + 0.001
        done.append(t_resp)
        path = f"/debian/pool/main/{n[0]}/{n}/{n}_{rnd.randint(1, 9)}.{rnd.randint(0, 20)}-" \
               f"{rnd.randint(1, 5)}_amd64.deb"
        s.request(t_req, ag, host, path, tls=None, dport=80)
        s.response(t_resp, ag, host, path, status=200, nbytes=size,
                   latency_ms=(t_resp - t_req) * 1000, tls=None, dport=80)
        if i + 10 < len(names):
            sent.append(t_resp + 0.0005)
    assert done[-1] - t0 < 60


def git_clone(s, ag, t0=T0):
    """git clone over HTTPS (smart HTTP protocol v2)."""
    host = "github.com"
    s.call(t0, ag, host, "/tollgate-dev/agent-tools.git/info/refs",
           "service=git-upload-pack", nbytes=9000, latency_ms=180.0)
    s.call(t0 + 0.3, ag, host, "/tollgate-dev/agent-tools.git/git-upload-pack", method="POST",
           nbytes=12000, latency_ms=220.0)
    s.call(t0 + 0.6, ag, host, "/tollgate-dev/agent-tools.git/git-upload-pack", method="POST",
           nbytes=31000000, latency_ms=14000.0)


def dashboard(s, ag, hours=1.0, t0=T0):
    """A dashboard refreshing 8 panels every 30 s: 8 concurrent range queries whose time
    range moves with every refresh."""
    prom = "prometheus.internal:9090"
    panels = ["sum(rate(http_requests_total[5m]))", "up", "node_load1",
              "histogram_quantile(0.99,rate(http_latency_bucket[5m]))",
              "sum(container_memory_usage_bytes)", "rate(errors_total[5m])",
              "kube_pod_status_ready", "sum(rate(node_network_receive_bytes_total[5m]))"]
    for r in range(int(hours * 120)):
        t = t0 + r * 30
        end = int(t)
        for i, q in enumerate(panels):
            s.call(t + i * 0.003, ag, prom, "/api/v1/query_range",
                   f"query={q}&start={end - 3600}&end={end}&step=15", tls=None, dport=9090,
                   latency_ms=30.0 + i * 10, nbytes=6000)


def health_check(s, ag, hours=1.0, t0=T0):
    """A health check every 5 s."""
    for i in range(int(hours * 720)):
        s.call(t0 + i * 5, ag, "127.0.0.1:8080", "/healthz", tls=None, daddr="127.0.0.1",
               dport=8080, nbytes=120, latency_ms=1.0)


class BenignReplayTest(unittest.TestCase):
    def quiet(self, s):
        alerts, err = replay(s.text())
        self.assertEqual(alerts, [], f"alerts: {alerts}\n{err}")
        self.assertIn(" 0 bad", err)

    def test_llm_api_15_per_minute_for_an_hour(self):
        s = Stream()
        llm_agent(s, Agent(201, "/agents/assistant"))
        self.assertEqual(len(s.events), 1800)
        self.quiet(s)

    def test_50_package_downloads_in_a_minute(self):
        s = Stream()
        package_downloads(s, Agent(202, "/ci/apt"))
        self.quiet(s)

    def test_git_clone(self):
        s = Stream()
        git_clone(s, Agent(203, "/agents/coder"))
        self.quiet(s)

    def test_dashboard_8_panels_every_30s(self):
        s = Stream()
        dashboard(s, Agent(204, "/agents/dashboard"))
        self.assertEqual(len(s.events), 2 * 8 * 120)
        self.quiet(s)

    def test_health_check_every_5s_for_an_hour(self):
        s = Stream()
        health_check(s, Agent(205, "/agents/watchdog"))
        self.quiet(s)

    def test_all_together(self):
        # the five side by side on one host, each in its own cgroup
        s = Stream()
        llm_agent(s, Agent(211, "/agents/assistant"))
        package_downloads(s, Agent(212, "/ci/apt"), t0=T0 + 600)
        git_clone(s, Agent(213, "/agents/coder"), t0=T0 + 900)
        dashboard(s, Agent(214, "/agents/dashboard"))
        health_check(s, Agent(215, "/agents/watchdog"))
        self.quiet(s)

    def test_llm_agent_that_also_installs_and_clones(self):
        # One agent cgroup doing the LLM calls (about 1.3 MB of answers per 5 min), then an
        # install pulling 34 MB from a mirror and a 31 MB clone: each more than 10x its own
        # baseline, which data_volume reports (and nothing else does). Allow-listing the
        # mirror and the forge, as docs/policy.md suggests, keeps it quiet.
        s = Stream()
        ag = Agent(221, "/agents/dev")
        llm_agent(s, ag)
        package_downloads(s, ag, t0=T0 + 1200)
        git_clone(s, ag, t0=T0 + 1800)
        alerts, _ = replay(s.text())
        self.assertEqual({a["rule"] for a in alerts}, {"data_volume"})
        self.assertIn("the cgroup's baseline", alerts[0]["detail"])
        alerts, _ = replay(s.text(), policy="allow: {hosts: [deb.debian.org, github.com]}\n")
        self.assertEqual(alerts, [])

if __name__ == "__main__":
    unittest.main()
