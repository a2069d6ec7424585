"""HTTP/2 over TLS is captured per request: real clients (curl with nghttp2, node's http2
module with its static OpenSSL) against nginx offering h2 by ALPN on loopback.

Each request on a multiplexed connection is an http_request with proto h2; each response
is paired with its request by stream, which the parallel test checks against nginx's own
access log (the status of every request, in whatever order the responses came); secrets
in HPACK-coded fields are redacted like HTTP/1's; the detectors see h2 traffic.
"""
import os
import re
import time
import unittest

from harness import Cgroup, NginxCase, Tollgate, tollgate_status


class Http2Test(NginxCase):
    nginx_args = {"rate": "1r/s"}  # /limited answers 429 past the first

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cg = Cgroup()
        cls.cg_enum = Cgroup()
        cls.ctl = os.path.join(cls.tmp.path, "ctl.sock")
        cls.tg = Tollgate(cgroups=[cls.cg, cls.cg_enum], args=["--control", cls.ctl])
        cls.host = f"127.0.0.1:{cls.nginx.h2_port}"

    @classmethod
    def tearDownClass(cls):
        cls.tg.stop()
        cls.cg.remove()
        cls.cg_enum.remove()
        super().tearDownClass()

    def events(self, kind, prefix):
        """Events of @kind whose request target (path?query) starts with @prefix."""
        def target(e):
            return (e.get("path") or "") + ("?" + e["query"] if e.get("query") else "")
        return [e for e in self.tg.events() if e["event"] == kind and
                target(e).startswith(prefix)]

    def wait_count(self, kind, prefix, n, timeout=15):
        """Exactly @n events of @kind under @prefix, once they have all arrived."""
        deadline = time.time() + timeout
        got = self.events(kind, prefix)
        while len(got) < n and time.time() < deadline:
            time.sleep(0.1)
            got = self.events(kind, prefix)
        self.assertEqual(len(got), n, got[-3:])
        return got

    def test_curl_requests_on_one_connection(self):
        token = "sk-h2-" + os.urandom(8).hex()
        key = "k-" + os.urandom(8).hex()
        urls = [self.h2_url(f"/h2/curl/1?api_key={key}&page=2"), self.h2_url("/h2/curl/2"),
                self.h2_url("/big?one")]
        argv = ["curl", "-sk", "--http2", "-H", f"Authorization: Bearer {token}",
                "-H", f"Cookie: session={token}"]
        for u in urls:
            argv += ["-o", "/dev/null", u]
        pid, _, _ = self.cg.run(argv)
        reqs = self.wait_count("http_request", "/h2/curl/", 2)
        for r in reqs:
            self.assertEqual(r["proto"], "h2")
            self.assertEqual(r["tls"], "openssl")
            self.assertEqual(r["method"], "GET")
            self.assertEqual(r["host"], self.host)
            self.assertEqual(r["pid"], pid)
            self.assertEqual(r["comm"], "curl")
            self.assertEqual(r["cgroup"], self.cg.rel)
            self.assertEqual(r["daddr"], "127.0.0.1")
            self.assertEqual(r["dport"], self.nginx.h2_port)
            self.assertRegex(r["auth_fp"], r"\A[0-9a-f]{12}\Z")
        self.assertEqual([r["path"] for r in reqs], ["/h2/curl/1", "/h2/curl/2"])
        self.assertEqual(reqs[0]["query"], "api_key=REDACTED&page=2")
        self.assertEqual(reqs[0]["auth_fp"], reqs[1]["auth_fp"])  # the same token
        resps = self.wait_count("http_response", "/h2/curl/", 2)
        for r in resps:
            self.assertEqual(r["proto"], "h2")
            self.assertEqual(r["status"], 200)
            self.assertGreaterEqual(r["latency_ms"], 0)
        big = self.wait_count("http_response", "/big?one", 1)[0]
        # 200000 body bytes in DATA frames (most beyond the capture: counted by their
        # frame lengths) plus frame headers and the HEADERS block
        self.assertGreaterEqual(big["bytes"], 200000)
        self.assertLess(big["bytes"], 201000)
        self.assertEqual(big["query"], "one")
        with open(self.tg.out) as f:
            raw = f.read()
        self.assertNotIn(token, raw)
        self.assertNotIn(key, raw)

    def test_parallel_streams_paired_by_stream(self):
        # 41 streams at once on one connection: a 200 kB download, whose DATA frames
        # interleave with the other responses, and 40 requests to /limited, which lets 1
        # a second through, so most are 429: each response's status must be the one nginx
        # logged for its request, and only the download's size that large
        n = 40
        self.cg.run(["curl", "-sk", "--http2", "-Z", "--parallel-max", "50",
                     "-o", "/dev/null", self.h2_url("/big?h2par"),
                     "-o", "/dev/null", self.h2_url(f"/limited?h2par=[1-{n}]")], timeout=60)
        big = self.wait_count("http_response", "/big?h2par", 1)
        self.assertGreaterEqual(big[0]["bytes"], 200000)
        reqs = self.wait_count("http_request", "/limited", n)
        self.assertTrue(all(r["proto"] == "h2" for r in reqs))
        resps = self.wait_count("http_response", "/limited", n)
        got = {r["query"]: r["status"] for r in resps}
        logged = {}
        for _, req, status in self.nginx.log():
            m = re.match(r"GET /limited\?(h2par=\d+) HTTP/2.0", req)
            if m:
                logged[m.group(1)] = status
        self.assertEqual(len(logged), n)
        self.assertEqual(got, logged)
        self.assertIn(429, got.values())
        self.assertIn(200, got.values())
        for r in resps:
            self.assertEqual(r["proto"], "h2")
            self.assertLess(r["bytes"], 2000)

    def test_node_http2_client(self):
        code = """
const http2 = require('http2');
const c = http2.connect(process.argv[1], {rejectUnauthorized: false});
const paths = ['/h2/node/a', '/h2/node/b?x=1', '/h2/node/c'];
let left = paths.length;
for (const p of paths) {
  const r = c.request({':path': p, 'x-api-key': process.argv[2]});
  r.resume();
  r.on('end', () => { if (--left === 0) c.close(); });
  r.end();
}
"""
        key = "nk-" + os.urandom(8).hex()
        pid, _, _ = self.cg.run(["node", "-e", code, self.h2_url(""), key])
        reqs = self.wait_count("http_request", "/h2/node/", 3)
        self.assertEqual(sorted(r["path"] for r in reqs), ["/h2/node/a", "/h2/node/b",
                                                           "/h2/node/c"])
        for r in reqs:
            self.assertEqual(r["proto"], "h2")
            self.assertEqual(r["pid"], pid)
            self.assertEqual(r["comm"], "node")
            self.assertEqual(r["host"], self.host)
            self.assertRegex(r["auth_fp"], r"\A[0-9a-f]{12}\Z")
        resps = self.wait_count("http_response", "/h2/node/", 3)
        self.assertEqual({r["path"]: r["status"] for r in resps},
                         {"/h2/node/a": 200, "/h2/node/b": 200, "/h2/node/c": 200})
        with open(self.tg.out) as f:
            self.assertNotIn(key, f.read())

    def test_frames_split_across_writes(self):
        # a raw HTTP/2 client (python's ssl with ALPN h2, HPACK literals by hand) writes
        # its frames in awkward pieces: the uprobe's frame walk must follow them across
        # TLS writes and past the first --capture-bytes of a write
        code = r"""
import socket, ssl, struct, sys, time
port, auth = int(sys.argv[1]), sys.argv[2].encode()
def frame(t, f, sid, p=b""):
    return struct.pack(">I", len(p))[1:] + bytes([t, f]) + struct.pack(">I", sid) + p
def lit(k, v):
    return bytes([0x00, len(k)]) + k + bytes([len(v)]) + v
def headers(sid, path):
    return frame(1, 0x5, sid, lit(b":method", b"GET") + lit(b":scheme", b"https") +
                 lit(b":authority", auth) + lit(b":path", path))
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
assert s.selected_alpn_protocol() == "h2"
h1, h3 = headers(1, b"/rawh2/cut-header"), headers(3, b"/rawh2/cut-at-start")
h5, h7 = headers(5, b"/rawh2/after-unknown-frame"), headers(7, b"/rawh2/cut-block")
for w in [b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) + h1[:4], h1[4:],
          h3[:5], h3[5:],                       # a write of the first 5 header bytes
          frame(0x20, 0, 0, b"x" * 3000) + h5,  # an unknown frame type (RFC 9113 5.5)
          h7[:20], h7[20:]]:
    s.sendall(w)
    time.sleep(0.05)
s.settimeout(1.0)
try:
    while s.recv(65536):
        pass
except socket.timeout:
    pass
"""
        before = tollgate_status(self.ctl)["http2"]["directions_lost"]
        self.cg.run(["python3", "-c", code, str(self.nginx.h2_port), "raw.example"])
        paths = ["/rawh2/cut-header", "/rawh2/cut-at-start", "/rawh2/after-unknown-frame",
                 "/rawh2/cut-block"]
        reqs = self.wait_count("http_request", "/rawh2/", 4)
        self.assertEqual([r["path"] for r in reqs], paths)
        self.assertTrue(all(r["host"] == "raw.example" for r in reqs))
        resps = self.wait_count("http_response", "/rawh2/", 4)
        self.assertEqual(sorted(r["path"] for r in resps), sorted(paths))
        self.assertTrue(all(r["status"] == 200 for r in resps))
        self.assertEqual(tollgate_status(self.ctl)["http2"]["directions_lost"], before)

    def test_enumeration_over_h2(self):
        # SAFE-T1804 list-then-detail walk by a client that speaks HTTP/2
        self.cg_enum.run(["curl", "-sk", "--http2", "-o", "/dev/null",
                          self.h2_url("/api/customers/[1-30]")], timeout=60)
        a = self.tg.wait_for(lambda e: e["event"] == "alert" and e["rule"] == "enumeration" and
                             e["cgroup"] == self.cg_enum.rel, timeout=20,
                             what="enumeration alert")[0]
        self.assertEqual(a["technique"], "SAFE-T1804")
        self.assertEqual(a["endpoint"], f"{self.host}/api/customers/{{id}}")
        self.assertEqual(a["samples"], [f"/api/customers/{i}" for i in range(16, 21)])

    def test_many_connections_come_and_go(self):
        # h2load (nghttp2's load generator): 200 connections, 2000 requests; every one
        # decoded and paired, and the connections' state (HPACK decoders included) gone
        # once they close
        before = tollgate_status(self.ctl)
        self.cg.run(["h2load", "-c", "200", "-n", "2000", "-m", "4",
                     self.h2_url("/h2/churn")], timeout=120)
        reqs = self.wait_count("http_request", "/h2/churn", 2000, timeout=30)
        self.assertTrue(all(r["comm"] == "h2load" for r in reqs))
        self.wait_count("http_response", "/h2/churn", 2000, timeout=30)
        deadline = time.time() + 10
        while tollgate_status(self.ctl)["tracked_connections"] > before["tracked_connections"]:
            self.assertLess(time.time(), deadline, "connections still tracked")
            time.sleep(0.1)
        after = tollgate_status(self.ctl)["http2"]
        self.assertEqual(after["connections"], before["http2"]["connections"] + 200)
        self.assertEqual(after["directions_lost"], before["http2"]["directions_lost"])

    def test_status_counts_http2(self):
        before = tollgate_status(self.ctl)["http2"]
        self.cg.run(["curl", "-sk", "--http2", "-o", "/dev/null", self.h2_url("/h2/status")])
        self.wait_count("http_response", "/h2/status", 1)
        after = tollgate_status(self.ctl)["http2"]
        self.assertEqual(after["connections"], before["connections"] + 1)
        # nothing in this class (every test's connections included) lost its place
        self.assertEqual(after["directions_lost"], 0)

if __name__ == "__main__":
    unittest.main()
