"""Integration test harness: real cgroups, a real tollgate, real servers on loopback.

Everything here runs as root (CI does). Nothing is mocked: a Cgroup is a directory in the
host's cgroup2 hierarchy, Tollgate runs build/tollgate, servers are nginx, openssl s_server
and python's http.server, clients are curl, python3, node and wget.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLLGATE = os.path.join(ROOT, "build", "tollgate")


def cgroup2_root():
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    raise RuntimeError("no cgroup2 mount")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def tollgate_status(ctl):
    """`tollgate status --json --control CTL`, parsed."""
    p = subprocess.run([TOLLGATE, "status", "--json", "--control", ctl], capture_output=True,
                       text=True, timeout=10)
    if p.returncode != 0:
        raise AssertionError(f"status failed: {p.stderr}")
    return json.loads(p.stdout)


def http_server(directory):
    """python3's http.server serving @directory on a free loopback port, ready.
    Returns (Popen, port); the caller terminates it."""
    port = free_port()
    srv = subprocess.Popen(["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                           cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
    except BaseException:
        srv.kill()
        srv.wait()
        raise
    return srv, port


class Cgroup:
    """A fresh cgroup v2 directory; processes are started inside it."""

    def __init__(self, name=None, parent=None):
        self.root = cgroup2_root()
        base = parent.path if parent else self.root
        self.name = name or f"tollgate-test-{uuid.uuid4().hex[:8]}"
        self.path = os.path.join(base, self.name)
        os.mkdir(self.path)
        self.rel = self.path[len(self.root):]

    def popen(self, argv, **kw):
        """Start argv inside this cgroup (the process moves itself in, then execs)."""
        wrapper = ["sh", "-c", f'echo $$ > "{self.path}/cgroup.procs" && exec "$@"', "sh"]
        return subprocess.Popen(wrapper + list(argv), **kw)

    def run(self, argv, timeout=30, check=True, **kw):
        p = self.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
        out, err = p.communicate(timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"{argv} failed ({p.returncode}): {err.decode()[-500:]}")
        return p.pid, out, err

    def procs(self):
        with open(os.path.join(self.path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]

    def remove(self):
        kill = os.path.join(self.path, "cgroup.kill")
        if os.path.exists(kill):
            try:
                with open(kill, "w") as f:
                    f.write("1")
            except OSError:
                pass
        for _ in range(100):
            try:
                for d in sorted((os.path.join(dp, x) for dp, dns, _ in os.walk(self.path)
                                 for x in dns), key=len, reverse=True):
                    os.rmdir(d)
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.05)


class Tollgate:
    """build/tollgate run with a JSON output file."""

    def __init__(self, args=(), cgroups=(), workdir=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="tollgate-")
        self.out = os.path.join(self.dir, "events.jsonl")
        self.err = os.path.join(self.dir, "stderr.txt")
        argv = [TOLLGATE, "run", "--json", self.out]
        for cg in cgroups:
            argv += ["--cgroup", cg.rel]
        argv += list(args)
        self.errf = open(self.err, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.errf)
        self._wait_ready()

    def _wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tollgate exited {self.proc.returncode}: {self.stderr()}")
            if "watching " in self.stderr():
                return
            time.sleep(0.05)
        raise RuntimeError("tollgate did not start: " + self.stderr())

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def events(self):
        out = []
        if not os.path.exists(self.out):
            return out
        with open(self.out) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
        return out

    def wait_for(self, pred, timeout=10.0, what="event"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            hits = [e for e in self.events() if pred(e)]
            if hits:
                return hits
            time.sleep(0.1)
        raise AssertionError(f"no {what} within {timeout}s; stderr:\n{self.stderr()[-2000:]}")

    def wait_stderr(self, text, timeout=10.0):
        """Wait until @text appears in tollgate's stderr; returns the seconds it took.
        Fails at once if tollgate exits."""
        t0 = time.time()
        while text not in self.stderr():
            if self.proc.poll() is not None:
                raise AssertionError(f"tollgate exited {self.proc.returncode} before "
                                     f"{text!r}; stderr:\n{self.stderr()[-2000:]}")
            if time.time() - t0 > timeout:
                raise AssertionError(f"no {text!r} within {timeout}s; stderr:\n"
                                     f"{self.stderr()[-2000:]}")
            time.sleep(0.05)
        return time.time() - t0

    def stop(self, sig=signal.SIGINT, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errf.close()
        return self.proc.returncode


class NginxCase(unittest.TestCase):
    """Tests that share one temporary directory, certificates and nginx (TLS and plain
    HTTP on loopback) per class. Subclasses extend setUpClass/tearDownClass with super()."""
    nginx_args = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        try:
            cls.certs = Certs(cls.tmp.path)
            cls.nginx = Nginx(cls.tmp.path, cls.certs, **cls.nginx_args)
        except BaseException:
            cls.tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        cls.tmp.cleanup()

    def tls_url(self, path):
        return f"https://127.0.0.1:{self.nginx.tls_port}{path}"

    def plain_url(self, path):
        return f"http://127.0.0.1:{self.nginx.http_port}{path}"

    def h2_url(self, path):
        return f"https://127.0.0.1:{self.nginx.h2_port}{path}"


class Certs:
    """A self-signed certificate for localhost / 127.0.0.1."""

    def __init__(self, d):
        self.cert = os.path.join(d, "cert.pem")
        self.key = os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", self.key, "-out", self.cert, "-days", "2",
                        "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)


class Nginx:
    """nginx with a TLS server (HTTP/1.1 only), a TLS server that offers HTTP/2 by ALPN
    (h2_port) and a plaintext server; /limited answers 429 past its rate."""

    def __init__(self, d, certs, rate="1r/s", burst=None, extra_locations=""):
        self.dir = d
        self.tls_port = free_port()
        self.h2_port = free_port()
        self.http_port = free_port()
        self.access_log = os.path.join(d, "access.log")
        conf = os.path.join(d, "nginx.conf")
        tmp = os.path.join(d, "nginx-tmp")
        os.makedirs(tmp, exist_ok=True)
        # /limited serves a file: `return` would answer in the rewrite phase, before
        # limit_req (preaccess phase) ever runs, and never give a 429
        locations = f"""
            location = /limited {{ limit_req zone=z{f" burst={burst}" if burst else ""} nodelay;
                                   limit_req_status 429; default_type text/plain;
                                   alias {d}/ok.txt; }}
            location = /big {{ alias {d}/big.bin; }}
            {extra_locations}
            location / {{ return 200 "ok\\n"; }}
        """
        with open(os.path.join(d, "big.bin"), "wb") as f:
            f.write(b"x" * 200000)
        with open(os.path.join(d, "ok.txt"), "w") as f:
            f.write("ok\n")
        with open(conf, "w") as f:
            f.write(f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
    uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
    log_format tg '$msec $remote_addr "$request" $status $body_bytes_sent $request_time';
    access_log {self.access_log} tg;
    limit_req_zone $binary_remote_addr zone=z:1m rate={rate};
    server {{
        listen 127.0.0.1:{self.tls_port} ssl;
        ssl_certificate {certs.cert};
        ssl_certificate_key {certs.key};
        {locations}
    }}
    server {{
        listen 127.0.0.1:{self.h2_port} ssl http2;
        ssl_certificate {certs.cert};
        ssl_certificate_key {certs.key};
        {locations}
    }}
    server {{
        listen 127.0.0.1:{self.http_port};
        {locations}
    }}
}}
""")
        check = subprocess.run(["nginx", "-t", "-c", conf], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError("nginx config: " + check.stderr)
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.tls_port)
        wait_port(self.h2_port)
        wait_port(self.http_port)

    def _log_lines(self):
        """Access log lines as (epoch seconds at completion, request line, fields after
        it: status, bytes, $request_time)."""
        out = []
        if not os.path.exists(self.access_log):
            return out
        with open(self.access_log) as f:
            for line in f:
                ts, _addr, rest = line.split(" ", 2)
                req = rest[rest.index('"') + 1:rest.rindex('"')]
                out.append((float(ts), req, rest[rest.rindex('"') + 1:].split()))
        return out

    def log(self):
        """Access log lines as (epoch seconds, request line, status)."""
        return [(ts, req, int(f[0])) for ts, req, f in self._log_lines()]

    def log_started(self):
        """Access log lines as (epoch seconds the request started, request line, status):
        $msec is when the response completed, $request_time how long the request took
        from its first byte read."""
        return [(ts - float(f[2]), req, int(f[0])) for ts, req, f in self._log_lines()]
        with open(self.access_log) as f:
            for line in f:
                ts, _addr, rest = line.split(" ", 2)
                req = rest[rest.index('"') + 1:rest.rindex('"')]
                fields = rest[rest.rindex('"') + 1:].split()
                out.append((float(ts) - float(fields[2]), req, int(fields[0])))
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_no_new_progs(before, timeout=10.0):
    """Wait until no tollgate program beyond @before is loaded. The kernel frees programs
    asynchronously once their last link is released (it took < 0.3 s here); returns the
    seconds it took, or raises."""
    t0 = time.time()
    while True:
        left = set(our_prog_ids()) - set(before)
        if not left:
            return time.time() - t0
        if time.time() - t0 > timeout:
            raise AssertionError(f"tollgate programs still loaded after {timeout}s: {left}")
        time.sleep(0.1)


def our_prog_ids():
    """Ids of loaded BPF programs whose names are tollgate's (tg_*)."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return [p["id"] for p in json.loads(out.stdout) if p.get("name", "").startswith("tg_")]


def tls_client_argv(kind, url, extra_headers=None):
    """argv for a real client fetching url over TLS with certificate checks off."""
    headers = extra_headers or {}
    if kind == "curl":
        argv = ["curl", "-sk", "--http1.1", "-o", "/dev/null"]
        for k, v in headers.items():
            argv += ["-H", f"{k}: {v}"]
        return argv + [url]
    if kind == "python":
        code = ("import ssl,sys,urllib.request\n"
                "c=ssl.create_default_context();c.check_hostname=False;"
                "c.verify_mode=ssl.CERT_NONE\n"
                f"r=urllib.request.Request(sys.argv[1], headers={headers!r})\n"
                "urllib.request.urlopen(r, context=c).read()\n")
        return ["python3", "-c", code, url]
    if kind == "node":
        code = ("process.env.NODE_TLS_REJECT_UNAUTHORIZED='0';"
                f"fetch(process.argv[1], {{headers: {json.dumps(headers)}}})"
                ".then(r => r.text()).then(() => process.exit(0), e => {{ console.error(e); "
                "process.exit(1); }})")
        return ["node", "-e", code, url]
    if kind == "wget":
        argv = ["wget", "-q", "--no-check-certificate", "-O", "/dev/null"]
        for k, v in headers.items():
            argv += [f"--header={k}: {v}"]
        return argv + [url]
    raise ValueError(kind)


class TempDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="tollgate-it-")
        os.chmod(self.path, 0o755)  # nginx workers run as nobody

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)
