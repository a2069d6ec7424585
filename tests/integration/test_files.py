"""Files a root daemon writes where others can reach (issue: safe to run as root).

Real tollgate as root, a real unprivileged user (nobody, through setpriv) as the attacker,
curl against nginx on loopback:
  - a symbolic link planted by nobody at the --json path: refused with one clear line,
    exit 2, the link's target untouched; a file nobody created there: refused likewise;
  - an existing audit log is appended to across a restart, never truncated; a new one is
    made 0600;
  - SIGHUP reopens the log (logrotate's rename + HUP): lines before go to the rotated file,
    lines after to the new one;
  - --control naming a regular file (a policy given by mistake): the file survives and
    tollgate runs without a control socket;
  - a small tmpfs that fills up and gets room again: every line of the result parses as
    JSON (no half line), and the "lost" line accounts for exactly the lines the exit
    summary says were lost.
"""
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from harness import TOLLGATE, Cgroup, NginxCase, Tollgate

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def run_once(*args):
    return subprocess.run([TOLLGATE, "run", *args], capture_output=True, text=True, timeout=30)


class JsonPathTest(NginxCase):
    def setUp(self):
        self.cg = Cgroup()
        # a directory anyone may write to, like /tmp or a shared log directory
        self.dir = tempfile.mkdtemp(prefix="tollgate-files-")
        os.chmod(self.dir, 0o1777)
        self.path = os.path.join(self.dir, "events.jsonl")

    def tearDown(self):
        self.cg.remove()
        subprocess.run(["rm", "-rf", self.dir])

    def curl(self, path):
        self.cg.run(["curl", "-s", "-o", "/dev/null", self.plain_url(path)])

    def test_planted_symlink_refused(self):
        victim = os.path.join(tempfile.mkdtemp(prefix="tollgate-victim-"), "precious")
        with open(victim, "w") as f:
            f.write("root's data\n")
        subprocess.run(NOBODY + ["ln", "-s", victim, self.path], check=True)
        p = run_once("--json", self.path, "--cgroup", self.cg.rel)
        self.assertEqual(p.returncode, 2, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn(f"--json {self.path}: a symbolic link; refused", lines[0])
        with open(victim) as f:
            self.assertEqual(f.read(), "root's data\n")
        subprocess.run(["rm", "-rf", os.path.dirname(victim)])

    def test_file_of_another_user_refused(self):
        subprocess.run(NOBODY + ["sh", "-c", f"echo mine > {self.path}"], check=True)
        p = run_once("--json", self.path, "--cgroup", self.cg.rel)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("owned by uid 65534, not by us (uid 0); refused", p.stderr)
        with open(self.path) as f:
            self.assertEqual(f.read(), "mine\n")

    def test_restart_appends_and_new_file_is_0600(self):
        tg = Tollgate(cgroups=[self.cg], workdir=self.dir)
        try:
            self.curl("/files/first")
            tg.wait_for(lambda e: e.get("path") == "/files/first", what="first request")
        finally:
            self.assertEqual(tg.stop(), 0)
        self.assertEqual(os.stat(tg.out).st_mode & 0o7777, 0o600)
        tg = Tollgate(cgroups=[self.cg], workdir=self.dir)
        try:
            self.curl("/files/second")
            tg.wait_for(lambda e: e.get("path") == "/files/second", what="second request")
        finally:
            self.assertEqual(tg.stop(), 0)
        paths = [e.get("path") for e in tg.events() if e["event"] == "http_request"]
        self.assertEqual(paths, ["/files/first", "/files/second"])

    def test_sighup_reopens(self):
        tg = Tollgate(cgroups=[self.cg], workdir=self.dir)
        rotated = tg.out + ".1"
        try:
            self.curl("/files/before")
            tg.wait_for(lambda e: e.get("path") == "/files/before", what="request before")
            os.rename(tg.out, rotated)
            tg.proc.send_signal(signal.SIGHUP)
            tg.wait_stderr(f"SIGHUP: reopened {tg.out}")
            self.assertIsNone(tg.proc.poll(), "SIGHUP stopped tollgate")
            self.curl("/files/after")
            tg.wait_for(lambda e: e.get("path") == "/files/after", what="request after")
        finally:
            self.assertEqual(tg.stop(), 0)
        with open(rotated) as f:
            old = [json.loads(x) for x in f]
        self.assertIn("/files/before", [e.get("path") for e in old])
        self.assertNotIn("/files/after", [e.get("path") for e in old])
        self.assertNotIn("/files/before", [e.get("path") for e in tg.events()])

    def test_control_path_that_is_not_a_socket_is_kept(self):
        policy = os.path.join(self.dir, "policy.yaml")
        with open(policy, "w") as f:
            f.write("mode: monitor\n")
        tg = Tollgate(cgroups=[self.cg], args=["--control", policy], workdir=self.dir)
        try:
            self.assertIn(f"control socket {policy}: a file that is not a socket is there; "
                          "left as it is", tg.stderr())
        finally:
            self.assertEqual(tg.stop(), 0)
        with open(policy) as f:
            self.assertEqual(f.read(), "mode: monitor\n")


class FullDiskTest(NginxCase):
    """A tmpfs of 512 KiB: filled up with a file, so tollgate's writes fail; freed again."""

    def setUp(self):
        self.cg = Cgroup()
        self.mnt = tempfile.mkdtemp(prefix="tollgate-tmpfs-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs",
                        self.mnt], check=True)

    def tearDown(self):
        self.cg.remove()
        subprocess.run(["umount", self.mnt])
        os.rmdir(self.mnt)

    def test_no_half_line_and_the_gap_is_accounted(self):
        out = os.path.join(self.mnt, "events.jsonl")
        errf = tempfile.NamedTemporaryFile(prefix="tollgate-err-", delete=False)
        proc = subprocess.Popen([TOLLGATE, "run", "--json", out, "--cgroup", self.cg.rel],
                                stdout=subprocess.DEVNULL, stderr=errf)
        try:
            deadline = time.time() + 30
            while "watching " not in open(errf.name).read():
                self.assertLess(time.time(), deadline, "tollgate did not start")
                time.sleep(0.05)
            for i in range(5):
                self.cg.run(["curl", "-s", "-o", "/dev/null", self.plain_url(f"/disk/a{i}")])
            time.sleep(0.5)
            # fill the file system to the last byte
            filler = os.path.join(self.mnt, "filler")
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"],
                           capture_output=True)
            for i in range(20):
                self.cg.run(["curl", "-s", "-o", "/dev/null", self.plain_url(f"/disk/b{i}")])
            deadline = time.time() + 10
            while "No space left on device" not in open(errf.name).read():
                self.assertLess(time.time(), deadline, "no write error reported")
                time.sleep(0.1)
            os.unlink(filler)
            for i in range(5):
                self.cg.run(["curl", "-s", "-o", "/dev/null", self.plain_url(f"/disk/c{i}")])
            time.sleep(1)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        err = open(errf.name).read()
        os.unlink(errf.name)
        self.assertEqual(proc.returncode, 0, err)
        m = re.search(r"lost: \d+ ring buffer drops, \d+ malformed records, (\d+) output lines",
                      err)
        self.assertIsNotNone(m, err)
        lost_summary = int(m.group(1))
        self.assertGreater(lost_summary, 0)
        with open(out, "rb") as f:
            data = f.read()
        self.assertTrue(data.endswith(b"\n"))
        events = [json.loads(x) for x in data.decode().splitlines()]  # every line parses
        gaps = [e for e in events if e["event"] == "lost"]
        # one "lost" line per gap (a nearly full disk can take a short line and fail the
        # next write again: two gaps); together they account for every lost line
        self.assertGreaterEqual(len(gaps), 1)
        self.assertEqual(sum(g["lines"] for g in gaps), lost_summary, gaps)
        for g in gaps:
            self.assertLessEqual(g["first_ts"], g["last_ts"])
        paths = [e.get("path") for e in events if e["event"] == "http_request"]
        for i in range(5):
            self.assertIn(f"/disk/a{i}", paths)
            self.assertIn(f"/disk/c{i}", paths)
        # what came after the gap is after the "lost" line
        at = events.index(gaps[-1])
        self.assertIn("/disk/c4", [e.get("path") for e in events[at:]])


if __name__ == "__main__":
    unittest.main()
