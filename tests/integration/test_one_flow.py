"""Issue 9 (one flow): what every front-end and every backend must agree
on, seen as a user sees it. Text fields that hold user input keep valid
UTF-8 (cut at a character, never dropped); numbers from launch files keep
their exact value; a backend never claims a limit it did not apply."""
import json
import os
import shutil
import tempfile
import subprocess
import time
import unittest

from helpers import AMBER, amber_run, run

# 3-byte characters past the end of every field, at three alignments: one
# of them is cut inside a character whatever the field's size.
LONGS = ["/nonexistent/" + "a" * pad + "\u20ac" * 300 for pad in range(3)]


class Utf8Fields(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="amber-flow-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def test_result_json_keeps_a_cut_message(self):
        for long in LONGS:
            path = os.path.join(self.dir, "r.json")
            r = amber_run([long], "--result-json", path)
            self.assertEqual(r.returncode, 127, r.stderr)
            with open(path, encoding="utf-8") as f:
                res = json.load(f)
            self.assertIsInstance(res.get("message"), str, res)
            self.assertTrue(res["message"].startswith(long[:20]), res["message"])
            self.assertNotIn("\ufffd", res["message"])

    def test_json_log_prints_the_error_line(self):
        for long in LONGS:
            r = run(["--log-format", "json", "run", "--", long])
            self.assertEqual(r.returncode, 127)
            lines = [json.loads(l) for l in r.stderr.splitlines() if l.startswith("{")]
            errors = [l for l in lines if l["level"] == "error"]
            self.assertEqual(len(errors), 1, r.stderr)
            self.assertIn("\u20ac\u20ac", errors[0]["msg"])
            self.assertNotIn("\ufffd", errors[0]["msg"])

    def test_json_log_of_bytes_that_are_not_utf8(self):
        # A command path that is not UTF-8 still gets its error line.
        p = subprocess.run([AMBER.encode(), b"--log-format", b"json", b"run", b"--", b"/x/\xff"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/", timeout=20)
        self.assertEqual(p.returncode, 127)
        lines = [json.loads(l) for l in p.stderr.decode("utf-8").splitlines()
                 if l.startswith("{")]
        self.assertTrue(any(l["level"] == "error" and "/x/\ufffd" in l["msg"] for l in lines),
                        p.stderr)

    def test_state_json_keeps_a_cut_message(self):
        root = os.path.join(self.dir, "root")
        for long in LONGS:
            r = run(["--root", root, "run", "-d", "--", long])
            self.assertEqual(r.returncode, 0, r.stderr)
            cid = r.stdout.strip()
            self.addCleanup(run, ["--root", root, "rm", "-f", cid])
            deadline = time.time() + 10
            while time.time() < deadline:
                s = json.loads(run(["--root", root, "state", cid]).stdout)
                if s["status"] == "stopped":
                    break
                time.sleep(0.05)
            self.assertEqual(s["exit_code"], 127)
            with open(os.path.join(root, cid, "state.json"), encoding="utf-8") as f:
                raw = json.load(f)
            self.assertTrue(raw.get("message", "").startswith(long[:20]), raw)
            self.assertNotIn("\ufffd", raw["message"])


if __name__ == "__main__":
    unittest.main()
