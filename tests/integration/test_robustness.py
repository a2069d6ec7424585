"""Bad input at the edges: tollgate keeps running and says what is wrong, in one clear line.

Real tollgate, real cgroups, real clients (curl) against nginx on loopback:
  - a full disk for --json (/dev/full): an error line with the count of lost lines, no crash,
    and the exit summary counts them;
  - a kernel without a hook (simulated with --disable-hook, which leaves the program out
    before load, as on a kernel that lacks it): tollgate runs, says so, and the other hooks
    still report;
  - files that only look like TLS libraries, mapped by a watched process: a text file named
    libssl.so.3, an ELF header cut short named libgnutls.so.30, and a copy of the real
    libssl.so.3 that was deleted after it was mapped (a missing library): startup and
    capture are unaffected, and a real copy mapped the same way shows the maps were read
    (tests/unit/test_elf_file.c and tests/fuzz/fuzz_elf.c cover elf_open and probe_plan
    on such files);
  - bad arguments: one error line, exit code 2.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import TOLLGATE, Cgroup, NginxCase, Tollgate, tls_client_argv, tollgate_status

LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"


def start_tollgate(argv, timeout=30):
    """build/tollgate run ARGV with stderr in a file; returns (proc, stderr path)."""
    errf = tempfile.NamedTemporaryFile(prefix="tollgate-err-", delete=False)
    proc = subprocess.Popen([TOLLGATE, "run"] + argv, stdout=subprocess.DEVNULL, stderr=errf)
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(errf.name) as f:
            if "watching " in f.read():
                return proc, errf.name
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    with open(errf.name) as f:
        raise AssertionError("tollgate did not start: " + f.read())


def stop(proc, errpath, timeout=60):
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=timeout)
    with open(errpath) as f:
        err = f.read()
    os.unlink(errpath)
    return proc.returncode, err


class EdgesTest(NginxCase):
    def setUp(self):
        self.cg = Cgroup()

    def tearDown(self):
        self.cg.remove()

    def test_json_to_full_disk(self):
        proc, errpath = start_tollgate(["--json", "/dev/full", "--cgroup", self.cg.rel])
        for i in range(3):
            self.cg.run(["curl", "-s", "-o", "/dev/null", self.plain_url(f"/full/{i}")])
        time.sleep(1.5)
        self.assertIsNone(proc.poll(), "tollgate died on a full disk")
        rc, err = stop(proc, errpath)
        self.assertEqual(rc, 0, err)
        # one clear line: what failed, on what, why, and how much was lost
        m = re.search(r"^tollgate: write /dev/full: No space left on device "
                      r"\((\d+) output lines lost so far\)$", err, re.M)
        self.assertIsNotNone(m, err)
        self.assertGreater(int(m.group(1)), 0)
        # the exit summary counts every lost line: 3 requests made at least a connect,
        # an http_request, an http_response and a close each
        s = re.search(r"lost: \d+ ring buffer drops, \d+ malformed records, (\d+) output lines",
                      err)
        self.assertIsNotNone(s, err)
        self.assertGreaterEqual(int(s.group(1)), 12)
        self.assertGreaterEqual(int(s.group(1)), int(m.group(1)))
        self.assertNotIn("AddressSanitizer", err)

    def test_without_skb_hook(self):
        tg = Tollgate(args=["--disable-hook", "skb"], cgroups=[self.cg])
        try:
            self.assertIn("hook skb disabled: disabled by --disable-hook", tg.stderr())
            pid, _, _ = self.cg.run(tls_client_argv("curl", self.tls_url("/noskb/tls")))
            req = tg.wait_for(lambda e: e["event"] == "http_request" and
                              e.get("path") == "/noskb/tls", what="TLS request")[0]
            # TLS is still read from the uprobes; without the skb hook the session is never
            # bound to its socket, so the destination is unknown, not invented
            self.assertEqual(req["tls"], "openssl")
            self.assertEqual(req["method"], "GET")
            self.assertEqual(req["pid"], pid)
            self.assertNotIn("daddr", req)
            # plaintext HTTP came only from the skb hook: its connect is still reported
            self.cg.run(["curl", "-s", "-o", "/dev/null", self.plain_url("/noskb/plain")])
            tg.wait_for(lambda e: e["event"] == "connect" and
                        e.get("dport") == self.nginx.http_port, what="plaintext connect")
            time.sleep(0.5)
            self.assertEqual([e for e in tg.events() if e.get("path") == "/noskb/plain"], [])
        finally:
            self.assertEqual(tg.stop(), 0)

    def test_without_tls_hook(self):
        tg = Tollgate(args=["--disable-hook", "tls"], cgroups=[self.cg])
        try:
            self.assertIn("hook tls disabled: disabled by --disable-hook", tg.stderr())
            self.assertNotIn("TLS probes on", tg.stderr())
            self.cg.run(["curl", "-s", "-o", "/dev/null", self.plain_url("/notls/plain")])
            req = tg.wait_for(lambda e: e["event"] == "http_request" and
                              e.get("path") == "/notls/plain", what="plaintext request")[0]
            self.assertIsNone(req["tls"])
            self.cg.run(tls_client_argv("curl", self.tls_url("/notls/tls")))
            tg.wait_for(lambda e: e["event"] == "connect" and
                        e.get("dport") == self.nginx.tls_port, what="TLS connect")
            time.sleep(0.5)
            self.assertEqual([e for e in tg.events() if e.get("path") == "/notls/tls"], [])
        finally:
            self.assertEqual(tg.stop(), 0)

    def test_only_connect_hook(self):
        off = ["sendmsg", "sock_release", "skb", "tls", "exec"]
        args = [a for h in off for a in ("--disable-hook", h)]
        tg = Tollgate(args=args, cgroups=[self.cg])
        try:
            for h in off:
                self.assertIn(f"hook {h} disabled", tg.stderr())
            self.cg.run(["curl", "-s", "-o", "/dev/null", self.plain_url("/only-connect")])
            ev = tg.wait_for(lambda e: e["event"] == "connect" and
                             e.get("dport") == self.nginx.http_port, what="connect")[0]
            self.assertEqual(ev["cgroup"], self.cg.rel)
        finally:
            self.assertEqual(tg.stop(), 0)

    def test_most_cgroups(self):
        """64 --cgroup directories (the most tollgate takes) need 7 links each plus the two
        raw_tps: every hook is attached on the last cgroup too."""
        cgs = [Cgroup() for _ in range(63)]
        tg = None
        try:
            tg = Tollgate(cgroups=cgs + [self.cg])
            self.assertNotIn("attach", tg.stderr())
            self.cg.run(["curl", "-s", "-o", "/dev/null", self.plain_url("/most/plain")])
            req = tg.wait_for(lambda e: e["event"] == "http_request" and
                              e.get("path") == "/most/plain", what="plaintext request")[0]
            self.assertEqual(req["cgroup"], self.cg.rel)
            # TLS in scoped mode needs the exec raw_tp (probes are attached per process)
            self.cg.run(tls_client_argv("curl", self.tls_url("/most/tls")))
            req = tg.wait_for(lambda e: e["event"] == "http_request" and
                              e.get("path") == "/most/tls", what="TLS request")[0]
            self.assertEqual(req["tls"], "openssl")
        finally:
            if tg:
                self.assertEqual(tg.stop(), 0)
            for cg in cgs:
                cg.remove()

    def test_fake_tls_libraries_in_a_watched_process(self):
        d = tempfile.mkdtemp(prefix="tollgate-fakelib-")
        holder = None
        tg = None
        try:
            os.makedirs(os.path.join(d, "text"))
            os.makedirs(os.path.join(d, "short"))
            os.makedirs(os.path.join(d, "gone"))
            text = os.path.join(d, "text", "libssl.so.3")
            with open(text, "w") as f:
                f.write("this is not an ELF file\n" * 200)
            short = os.path.join(d, "short", "libgnutls.so.30")
            with open(LIBSSL, "rb") as src, open(short, "wb") as f:
                f.write(src.read(100))  # an ELF header, cut inside the program headers
            gone = os.path.join(d, "gone", "libssl.so.3")
            shutil.copy(LIBSSL, gone)
            # the control: a real copy that stays, which tollgate must find in the maps
            os.makedirs(os.path.join(d, "real"))
            real = os.path.join(d, "real", "libssl.so.3")
            shutil.copy(LIBSSL, real)
            # a watched process maps all three, then the copy of libssl is deleted
            code = ("import mmap, sys, time\n"
                    "files = [open(p, 'rb') for p in sys.argv[1:]]\n"
                    "maps = [mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) for f in files]\n"
                    "print('mapped', flush=True)\n"
                    "time.sleep(60)\n")
            holder = self.cg.popen(["python3", "-c", code, text, short, gone, real],
                                   stdout=subprocess.PIPE)
            self.assertEqual(holder.stdout.readline().strip(), b"mapped")
            os.unlink(gone)
            with open(f"/proc/{holder.pid}/maps") as f:
                maps = f.read()
            self.assertIn(text, maps)
            self.assertIn(short, maps)
            self.assertIn(gone + " (deleted)", maps)
            # tollgate starts with that process already in the watched cgroup
            tg = Tollgate(cgroups=[self.cg])
            # a rescan of the process's maps is due 1 s after it is seen: wait for its
            # probes (a loaded machine may take longer than that)
            tg.wait_stderr(f"TLS probes on {real}: SSL_write", timeout=15)
            # the maps were read: the real copy got probes, none of the others did
            for p in (text, short, gone):
                self.assertNotIn(p, tg.stderr())
            # and capture still works for a real client in the same cgroup
            self.cg.run(tls_client_argv("curl", self.tls_url("/fakelib")))
            req = tg.wait_for(lambda e: e["event"] == "http_request" and
                              e.get("path") == "/fakelib", what="request")[0]
            self.assertEqual(req["tls"], "openssl")
        finally:
            if tg:
                rc = tg.stop()
                self.assertEqual(rc, 0)
                self.assertRegex(tg.stderr(), r"tls: \d+ files with a TLS API, 0 attach errors")
            if holder:
                holder.kill()
                holder.wait()
                holder.stdout.close()
            shutil.rmtree(d, ignore_errors=True)

    def test_library_from_new_path_found_after_exec(self):
        """A process started after tollgate loads libssl from a directory nobody examined
        (LD_LIBRARY_PATH, as a bundled or container copy): the post-exec rescans of its
        maps find the copy, probe it, and its requests are captured."""
        d = tempfile.mkdtemp(prefix="tollgate-newlib-")
        lib = os.path.join(d, "libssl.so.3")
        ctl = os.path.join(d, "ctl.sock")
        tg = None
        client = None
        try:
            shutil.copy(LIBSSL, lib)
            tg = Tollgate(cgroups=[self.cg], args=["--control", ctl])
            self.assertEqual(tollgate_status(ctl)["tls"]["links"], 0)
            code = ("import ssl, sys, urllib.request\n"
                    "print('loaded', flush=True)\n"
                    "sys.stdin.readline()\n"
                    "ctx = ssl._create_unverified_context()\n"
                    "urllib.request.urlopen(sys.argv[1], context=ctx).read()\n"
                    "print('done', flush=True)\n")
            env = dict(os.environ, LD_LIBRARY_PATH=d)
            client = self.cg.popen(["python3", "-c", code, self.tls_url("/newlib")],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            self.assertEqual(client.stdout.readline().strip(), b"loaded")
            with open(f"/proc/{client.pid}/maps") as f:
                self.assertIn(lib, f.read())  # the copy, not the system's library
            took = tg.wait_stderr(f"TLS probes on {lib}: SSL_write")
            # that line is the plan; the probes are placed for the client's pid after it
            # (the status counts them once all are): wait for them before the request
            deadline = time.time() + 10
            while tollgate_status(ctl)["tls"]["links"] == 0:
                self.assertLess(time.time(), deadline, "no links after the plan line")
                time.sleep(0.05)
            print(f"\n  library found {took:.3f} s after the client loaded it", flush=True)
            client.stdin.write(b"go\n")
            client.stdin.flush()
            self.assertEqual(client.stdout.readline().strip(), b"done")
            req = tg.wait_for(lambda e: e["event"] == "http_request" and
                              e.get("path") == "/newlib", what="request")[0]
            self.assertEqual(req["tls"], "openssl")
            self.assertEqual(req["pid"], client.pid)
        finally:
            if client:
                client.kill()
                client.wait()
                client.stdin.close()
                client.stdout.close()
            if tg:
                self.assertEqual(tg.stop(), 0)
            shutil.rmtree(d, ignore_errors=True)

    def test_replaced_library_not_probed_with_old_plan(self):
        """A library planned at a path and then replaced there (a package upgrade: new
        inode) must not get the old file's breakpoint offsets in a new process."""
        d = tempfile.mkdtemp(prefix="tollgate-upgrade-")
        lib = os.path.join(d, "libssl.so.3")
        tg = None
        try:
            shutil.copy(LIBSSL, lib)
            tg = Tollgate(cgroups=[self.cg])
            code = ("import mmap, sys\n"
                    "f = open(sys.argv[1], 'rb')\n"
                    "m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n"
                    "print('mapped', flush=True)\n"
                    "sys.stdin.read()\n")
            holder = self.cg.popen(["python3", "-c", code, lib], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE)
            self.assertEqual(holder.stdout.readline().strip(), b"mapped")
            tg.wait_stderr(f"TLS probes on {lib}: SSL_write")
            holder.communicate(b"")
            # the upgrade: a new file (new inode) at the same path, shorter than the old
            # plan's offsets, so probing it with that plan would fail visibly
            os.unlink(lib)
            with open(lib, "w") as f:
                f.write("not the library that was planned\n")
            # a new process in the cgroup gets every known TLS library (pid_attach_libs)
            self.cg.run(["sleep", "0.5"])
            time.sleep(0.5)
            self.assertNotIn(f"to {lib}", tg.stderr())
        finally:
            if tg:
                self.assertEqual(tg.stop(), 0)
                self.assertRegex(tg.stderr(), r"tls: \d+ files with a TLS API, 0 attach errors")
            shutil.rmtree(d, ignore_errors=True)


class ArgumentsTest(unittest.TestCase):
    def run_tg(self, *args):
        return subprocess.run([TOLLGATE, "run"] + list(args), capture_output=True, text=True,
                              timeout=30)

    def assert_one_error(self, p, text):
        self.assertEqual(p.returncode, 2, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn(text, lines[0])

    def test_unknown_cgroup(self):
        self.assert_one_error(self.run_tg("--cgroup", "/no/such/cgroup-robustness"),
                              "--cgroup /no/such/cgroup-robustness: no such cgroup")

    def test_unknown_hook(self):
        self.assert_one_error(self.run_tg("--disable-hook", "kprobe"),
                              "--disable-hook kprobe: unknown hook")

    def test_ring_buffer_size_not_a_power_of_two(self):
        self.assert_one_error(self.run_tg("--ringbuf-kb", "3"),
                              "--ringbuf-kb 3: not a power of two")

    def test_capture_bytes_out_of_range(self):
        self.assert_one_error(self.run_tg("--capture-bytes", "10"), "--capture-bytes 10")

    def test_policy_caps_agree_between_check_and_run(self):
        """One cap, two commands: what `policy check` refuses `run` refuses with the same
        file:line message, and what it accepts `run` takes (tests/unit/test_policy.c
        checks every cap at the limit and one above)."""
        d = tempfile.mkdtemp(prefix="tollgate-caps-")
        try:
            path = os.path.join(d, "p.yaml")
            with open(path, "w") as f:
                f.write("protected_cgroups:\n" + "".join(f"  - /p{i}\n" for i in range(33)))
            c = subprocess.run([TOLLGATE, "policy", "check", path], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(c.returncode, 1, c.stderr)
            want = f"{path}:2: protected_cgroups: 33 entries is more than 32"
            self.assertIn(want, c.stderr)
            self.assert_one_error(self.run_tg("--policy", path), want)
            for bad, why in (("", ":1: empty"), ("version: 1\n---\n", ":2: a second YAML"),
                             ("a: " + "[" * 100000 + "]" * 100000 + "\n", ":1: nested more")):
                with open(path, "w") as f:
                    f.write(bad)
                t0 = time.time()
                self.assert_one_error(self.run_tg("--policy", path), path + why)
                self.assertLess(time.time() - t0, 5)
            self.assert_one_error(self.run_tg("--policy", d), f"--policy {d}: Is a directory")
        finally:
            shutil.rmtree(d)

    def test_json_in_missing_directory(self):
        self.assert_one_error(self.run_tg("--json", "/nonexistent-dir/out.jsonl"),
                              "--json /nonexistent-dir/out.jsonl: No such file or directory")


if __name__ == "__main__":
    unittest.main()
