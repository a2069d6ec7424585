"""`tollgate replay` and `tollgate policy` as commands: bad input is counted and reported
with its line number, never fatal; policies are checked with file:line errors. No root."""
import json
import os
import subprocess
import tempfile
import unittest

from replaylib import TOLLGATE, T0, Agent, Stream, replay


def run(*argv, stdin=None):
    return subprocess.run([TOLLGATE] + list(argv), input=stdin, capture_output=True, text=True,
                          timeout=60)


def flood():
    s = Stream()
    ag = Agent(301, "/agents/cli")
    for i in range(120):
        s.call(T0 + i * 1.5, ag, "api.example.com", "/v1/items", f"n={i}")
    return s


class ReplayCliTest(unittest.TestCase):
    def test_bad_lines_are_reported_not_fatal(self):
        lines = flood().lines()
        lines.insert(3, "this is not json")
        lines.insert(10, '{"event": "http_request", "ts": "yesterday", "cgroup_id": 1}')
        lines.insert(20, '{"event": "http_request", "ts": "2026-11-21T08:00:00Z", '
                         '"cgroup_id": 301, "status": "two hundred", "path": "/x"}')
        lines.insert(30, '["an", "array"]')
        lines.insert(40, '{"event": "http_response", "ts": "2026-11-21T08:00:00Z", '
                         '"status": 200, "latency_ms": -4, "path": "/x", "host": "h"}')
        lines.insert(50, "")
        lines.insert(60, '{"ts": "2026-11-21T08:00:00Z", "event": "alert", "rule": "volume"}')
        lines.insert(61, '{"ts": "2026-11-21T08:00:00Z", "event": "something_new"}')
        alerts, err = replay("\n".join(lines) + "\n")
        self.assertEqual([a["rule"] for a in alerts if a["suppressed"] == 0], ["volume"])
        self.assertIn("stdin:4: not JSON:", err)
        self.assertIn('stdin:11: "ts" is not an RFC 3339 timestamp', err)
        self.assertIn('stdin:21: field "status": expected a non-negative integer', err)
        self.assertIn("stdin:31: not a JSON object", err)
        self.assertIn('stdin:41: field "latency_ms": expected a non-negative number', err)
        self.assertIn("replayed 248 lines: 240 observations, 2 skipped, 5 bad (see above)", err)

    def test_many_bad_lines_are_counted(self):
        text = "garbage\n" * 1000 + flood().text()
        alerts, err = replay(text)
        self.assertEqual(err.count("not JSON"), 20)
        self.assertIn("1000 bad", err)
        self.assertEqual(alerts[0]["rule"], "volume")

    def test_file_and_stdin_agree(self):
        text = flood().text()
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write(text)
        try:
            p = run("replay", "-q", f.name)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, "")
            from_file = [json.loads(x) for x in p.stdout.splitlines()]
        finally:
            os.unlink(f.name)
        from_stdin, _ = replay(text)
        self.assertEqual(from_file, from_stdin)
        self.assertEqual(len(from_file), 2)  # the alert and its cool-down summary

    def test_replay_usage_errors(self):
        p = run("replay", "/nonexistent/events.jsonl")
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent/events.jsonl: No such file or directory", p.stderr)
        p = run("replay")
        self.assertEqual(p.returncode, 2)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("rules:\n  volume:\n    threshold: -1\n")
        try:
            p = run("replay", "--policy", f.name, "-", stdin="")
            self.assertEqual(p.returncode, 2)
            self.assertIn(f"{f.name}:3: rules.volume.threshold: -1 is out of range", p.stderr)
        finally:
            os.unlink(f.name)

    def test_policy_show_and_check(self):
        p = run("policy", "show")
        self.assertEqual(p.returncode, 0)
        self.assertIn("    threshold: 100  # requests per (cgroup, host) in window_s", p.stdout)
        with tempfile.TemporaryDirectory() as d:
            good = os.path.join(d, "good.yaml")
            with open(good, "w") as f:
                f.write(p.stdout)
            c = run("policy", "check", good)
            self.assertEqual(c.returncode, 0, c.stderr)
            self.assertEqual(c.stdout, f"{good}: valid (0 overrides, 0 prices)\n")
            bad = os.path.join(d, "bad.yaml")
            with open(bad, "w") as f:
                f.write("version: 1\nrules:\n  rapid:\n    max_gap: 5\n  volume: {threshold: x}\n")
            c = run("policy", "check", bad)
            self.assertEqual(c.returncode, 1)
            self.assertEqual(c.stderr.splitlines(), [
                f'tollgate: {bad}:4: unknown key "max_gap" in rules.rapid (known: enabled, '
                'severity, window_s, threshold, max_gap_ms)',
                f'tollgate: {bad}:5: rules.volume.threshold: expected an integer, got "x"'])
            c = run("policy", "check", os.path.join(d, "missing.yaml"))
            self.assertEqual(c.returncode, 2)
            # the shipped example is valid
            example = os.path.join(os.path.dirname(TOLLGATE), "..", "examples", "policy.yaml")
            c = run("policy", "check", example)
            self.assertEqual(c.returncode, 0, c.stderr)

    def test_policy_changes_what_fires(self):
        text = flood().text()
        alerts, _ = replay(text, policy="rules: {volume: {threshold: 121}}\n")
        self.assertEqual(alerts, [])
        alerts, _ = replay(text, policy="overrides:\n  - cgroup: /agents/*\n    rules: "
                                        "{volume: {threshold: 50, severity: low}}\n")
        self.assertEqual(alerts[0]["count"], 50)
        self.assertEqual(alerts[0]["severity"], "low")


if __name__ == "__main__":
    unittest.main()
