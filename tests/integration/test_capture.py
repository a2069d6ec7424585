"""Issue: tollgate run captures per-cgroup outbound HTTP(S) request metadata.

Real clients run inside a fresh test cgroup watched with --cgroup; real servers listen on
loopback. Each test asserts exact fields of the JSON lines.
"""
import hashlib
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import unittest

from harness import (TOLLGATE, Cgroup, NginxCase, TempDir, Tollgate, free_port, http_server,
                     our_prog_ids, tls_client_argv, wait_no_new_progs)


class CaptureTest(NginxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cg = Cgroup()
        cls.tg = Tollgate(cgroups=[cls.cg])

    @classmethod
    def tearDownClass(cls):
        cls.tg.stop()
        cls.cg.remove()
        super().tearDownClass()

    def requests_for(self, path):
        return [e for e in self.tg.events()
                if e["event"] == "http_request" and e.get("path") == path]

    def check_tls_client(self, kind, lib):
        path = f"/capture/{kind}"
        url = f"https://127.0.0.1:{self.nginx.tls_port}{path}?page=2"
        pid, _, _ = self.cg.run(tls_client_argv(kind, url))
        req = self.tg.wait_for(lambda e: e["event"] == "http_request" and e.get("path") == path,
                               what=f"{kind} request")[0]
        self.assertEqual(req["method"], "GET")
        self.assertEqual(req["host"], f"127.0.0.1:{self.nginx.tls_port}")
        self.assertEqual(req["query"], "page=2")
        self.assertEqual(req["proto"], "http/1.1")
        self.assertEqual(req["tls"], lib)
        self.assertEqual(req["cgroup"], self.cg.rel)
        self.assertEqual(req["pid"], pid)
        self.assertEqual(req["daddr"], "127.0.0.1")
        self.assertEqual(req["dport"], self.nginx.tls_port)
        resp = self.tg.wait_for(lambda e: e["event"] == "http_response" and
                                e.get("path") == path, what=f"{kind} response")[0]
        self.assertEqual(resp["status"], 200)
        self.assertEqual(resp["pid"], pid)
        self.assertEqual(resp["cgroup"], self.cg.rel)
        self.assertGreater(resp["bytes"], 0)
        self.assertIsNotNone(resp["latency_ms"])
        self.assertGreaterEqual(resp["latency_ms"], 0)

    def test_curl_tls(self):
        self.check_tls_client("curl", "openssl")

    def test_python_tls_ssl_write_ex(self):
        self.check_tls_client("python", "openssl")

    def test_node_started_after_tollgate(self):
        # node links OpenSSL statically; this process did not exist when tollgate started,
        # so its first (and only) request proves exec-time attachment
        self.check_tls_client("node", "openssl")

    def test_wget_gnutls(self):
        self.check_tls_client("wget", "gnutls")

    def test_plaintext_curl(self):
        path = "/capture/plain"
        url = f"http://127.0.0.1:{self.nginx.http_port}{path}"
        pid, _, _ = self.cg.run(["curl", "-s", "-o", "/dev/null", url])
        req = self.tg.wait_for(lambda e: e["event"] == "http_request" and e.get("path") == path,
                               what="plaintext request")[0]
        self.assertIsNone(req["tls"])
        self.assertEqual(req["host"], f"127.0.0.1:{self.nginx.http_port}")
        self.assertEqual(req["pid"], pid)
        self.assertEqual(req["cgroup"], self.cg.rel)
        resp = self.tg.wait_for(lambda e: e["event"] == "http_response" and
                                e.get("path") == path, what="plaintext response")[0]
        self.assertEqual(resp["status"], 200)
        self.assertEqual(resp["pid"], pid)

    def test_large_response_bytes(self):
        path = "/big"
        url = f"https://127.0.0.1:{self.nginx.tls_port}{path}"
        self.cg.run(tls_client_argv("curl", url))
        resp = self.tg.wait_for(lambda e: e["event"] == "http_response" and
                                e.get("path") == path, what="big response")[0]
        self.assertEqual(resp["status"], 200)
        # 200000 body bytes plus the head
        self.assertGreaterEqual(resp["bytes"], 200000)
        self.assertLess(resp["bytes"], 201000)

    def test_connect_event(self):
        port = free_port()
        srv = socket.socket()
        srv.bind(("127.0.0.1", port))
        srv.listen()
        pid, _, _ = self.cg.run(["python3", "-c",
                                 f"import socket; socket.create_connection(('127.0.0.1', {port}))"])
        srv.close()
        ev = self.tg.wait_for(lambda e: e["event"] == "connect" and e.get("dport") == port,
                              what="connect")[0]
        self.assertEqual(ev["proto"], "tcp")
        self.assertEqual(ev["pid"], pid)
        self.assertEqual(ev["cgroup"], self.cg.rel)
        self.assertEqual(ev["daddr"], "127.0.0.1")
        self.tg.wait_for(lambda e: e["event"] == "close" and e.get("dport") == port and
                         e["cgroup"] == self.cg.rel, what="close")

    def test_udp_send(self):
        port = free_port()
        pid, _, _ = self.cg.run(["python3", "-c",
                                 "import socket; s=socket.socket(socket.AF_INET, "
                                 "socket.SOCK_DGRAM)\n"
                                 f"for i in range(3): s.sendto(b'x', ('127.0.0.1', {port}))"])
        evs = self.tg.wait_for(lambda e: e["event"] == "udp_send" and e.get("dport") == port,
                               timeout=5, what="udp_send")
        self.assertEqual(sum(e["count"] for e in evs), 3)
        self.assertEqual(evs[0]["pid"], pid)
        self.assertEqual(evs[0]["cgroup"], self.cg.rel)
        self.assertEqual(evs[0]["proto"], "udp")

    def test_outside_process_not_attributed(self):
        path = "/capture/outside"
        subprocess.run(tls_client_argv("curl", f"https://127.0.0.1:{self.nginx.tls_port}{path}"),
                       check=True)
        # a marker request from inside, after the outside one, bounds the wait (plaintext:
        # its capture does not depend on per-process TLS probes)
        self.cg.run(["curl", "-s", "-o", "/dev/null",
                     f"http://127.0.0.1:{self.nginx.http_port}/capture/marker"])
        self.tg.wait_for(lambda e: e.get("path") == "/capture/marker", what="marker")
        self.assertEqual(self.requests_for(path), [])

    def test_secrets_redacted(self):
        token = "sk-test-" + os.urandom(8).hex()
        key = "k-" + os.urandom(8).hex()
        path = "/capture/secret"
        url = f"https://127.0.0.1:{self.nginx.tls_port}{path}?api_key={key}&page=3"
        self.cg.run(tls_client_argv("curl", url, {"Authorization": f"Bearer {token}",
                                                  "Cookie": f"session={token}"}))
        req = self.tg.wait_for(lambda e: e["event"] == "http_request" and e.get("path") == path,
                               what="secret request")[0]
        self.assertEqual(req["query"], "api_key=REDACTED&page=3")
        # auth_fp is keyed per run (HMAC-SHA-256): 12 hex digits, not the plain SHA-256 of
        # the credential, the same for the same credential in any carrier within the run,
        # different for another credential
        fp = req["auth_fp"]
        self.assertRegex(fp, r"\A[0-9a-f]{12}\Z")
        self.assertNotEqual(fp, hashlib.sha256(token.encode()).hexdigest()[:12])
        for p2, hdrs in (("/capture/secret2", {"X-Api-Key": token}),
                         ("/capture/secret3", {"Authorization": f"Bearer {key}"})):
            self.cg.run(tls_client_argv("curl", f"https://127.0.0.1:{self.nginx.tls_port}{p2}",
                                        hdrs))
        fp2 = self.tg.wait_for(lambda e: e["event"] == "http_request" and
                               e.get("path") == "/capture/secret2", what="same token")[0]["auth_fp"]
        fp3 = self.tg.wait_for(lambda e: e["event"] == "http_request" and
                               e.get("path") == "/capture/secret3", what="other token")[0]["auth_fp"]
        self.assertEqual(fp2, fp)
        self.assertRegex(fp3, r"\A[0-9a-f]{12}\Z")
        self.assertNotEqual(fp3, fp)
        self.assertNotEqual(fp3, hashlib.sha256(key.encode()).hexdigest()[:12])
        with open(self.tg.out) as f:
            raw = f.read()
        self.assertNotIn(token, raw)
        self.assertNotIn(key, raw)
        self.assertNotIn(token, self.tg.stderr())

    def tls_reads_map_id(self):
        """The id of this tollgate's tls_reads map (other tollgates may run alongside)."""
        fdinfo = f"/proc/{self.tg.proc.pid}/fdinfo"
        ids = set()
        for fd in os.listdir(fdinfo):
            try:
                with open(os.path.join(fdinfo, fd)) as f:
                    for line in f:
                        if line.startswith("map_id:"):
                            ids.add(int(line.split()[1]))
            except OSError:
                pass
        maps = json.loads(subprocess.run(["bpftool", "map", "list", "-j"], check=True,
                                         capture_output=True, text=True).stdout)
        ours = [m["id"] for m in maps if m["id"] in ids and m.get("name") == "tls_reads"]
        self.assertEqual(len(ours), 1, ours)
        return ours[0]

    @staticmethod
    def tls_read_in_flight(map_id, pid, tid):
        key = struct.pack("<Q", pid << 32 | tid)
        p = subprocess.run(["bpftool", "map", "lookup", "id", str(map_id), "key", "hex",
                            *[f"{b:02x}" for b in key]], capture_output=True, text=True)
        return p.returncode == 0

    def test_read_of_killed_thread_swept(self):
        """A client SIGKILLed while blocked in SSL_read never returns from it: its entry in
        tls_reads must be swept (every 10 s) so that the table cannot fill up."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.certs.cert, self.certs.key)
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        held = []

        def serve():  # complete the handshake, read the request, never answer
            try:
                c = ctx.wrap_socket(srv.accept()[0], server_side=True)
                held.append(c)
                c.recv(4096)
            except OSError:
                pass

        threading.Thread(target=serve, daemon=True).start()
        code = ("import socket, ssl, sys\n"
                "ctx = ssl.create_default_context(); ctx.check_hostname = False\n"
                "ctx.verify_mode = ssl.CERT_NONE\n"
                "s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))))\n"
                "s.sendall(b'GET /stuck HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
                "print('sent', flush=True)\n"
                "s.recv(1)\n")
        client = self.cg.popen(["python3", "-c", code, str(port)], stdout=subprocess.PIPE)
        try:
            self.assertEqual(client.stdout.readline().strip(), b"sent")
            map_id = self.tls_reads_map_id()
            deadline = time.time() + 5
            while not self.tls_read_in_flight(map_id, client.pid, client.pid):
                self.assertLess(time.time(), deadline, "the blocked read was never recorded")
                time.sleep(0.1)
            client.kill()
            client.wait()
            deadline = time.time() + 15
            while self.tls_read_in_flight(map_id, client.pid, client.pid):
                self.assertLess(time.time(), deadline, "the dead thread's read was not swept")
                time.sleep(0.5)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
            client.stdout.close()
            for c in held:
                c.close()
            srv.close()


class LifecycleTest(unittest.TestCase):
    def test_sigint_detaches_everything(self):
        cg = Cgroup()
        try:
            before = set(our_prog_ids())
            tg = Tollgate(cgroups=[cg])
            self.assertGreater(len(set(our_prog_ids()) - before), 0)
            self.assertEqual(tg.stop(signal.SIGINT), 0)
            self.assertIn("stopped:", tg.stderr())
            wait_no_new_progs(before, timeout=5)
        finally:
            cg.remove()

    def test_sigkill_leaves_nothing_attached(self):
        cg = Cgroup()
        try:
            before = set(our_prog_ids())
            tg = Tollgate(cgroups=[cg])
            tg.stop(signal.SIGKILL)
            wait_no_new_progs(before, timeout=30)
        finally:
            cg.remove()

    def test_not_root_is_one_clear_line(self):
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            TOLLGATE, "run"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn("needs root", lines[0])
        self.assertNotIn("libbpf", p.stderr)

    def test_unknown_cgroup_is_an_error(self):
        p = subprocess.run([TOLLGATE, "run", "--cgroup", "/no/such/cgroup-here"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no such cgroup", p.stderr)

    def test_help_and_version(self):
        p = subprocess.run([TOLLGATE, "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("run", p.stdout)
        p = subprocess.run([TOLLGATE, "version"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^tollgate \d+\.\d+\.\d+")

    def test_host_wide_sees_root_cgroup_process(self):
        d = TempDir()
        try:
            srv, port = http_server(d.path)
            tg = Tollgate()
            try:
                p = subprocess.run(["curl", "-s", "-o", "/dev/null",
                                    f"http://127.0.0.1:{port}/host-wide"], check=True)
                ev = tg.wait_for(lambda e: e["event"] == "http_request" and
                                 e.get("path") == "/host-wide", what="host-wide request")[0]
                self.assertEqual(ev["comm"], "curl")
                self.assertIsNotNone(ev["cgroup"])
                self.assertEqual(p.returncode, 0)
            finally:
                tg.stop()
                srv.terminate()
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
