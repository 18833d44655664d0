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

from helpers import AMBER, IS_ROOT, amber_run, run

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


class BackendsSayWhatTheyEnforce(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="amber-flow-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def result(self, *args, cmd=("true",)):
        path = os.path.join(self.dir, "r.json")
        r = amber_run(list(cmd), "--result-json", path, *args)
        with open(path) as f:
            return r, json.load(f)

    def test_process_backend_applies_memory(self):
        alloc = ("python3", "-c", "bytearray(300 << 20)")
        r, res = self.result("--backend", "process", "--memory", "64M", cmd=alloc)
        self.assertNotEqual(r.returncode, 0, "300 MiB allocated under --memory 64M")
        self.assertIn("MemoryError", r.stderr)
        self.assertEqual(res["limits"]["memory"], {"value": 64 << 20, "by": "rlimit"})
        warnings = [l for l in r.stderr.splitlines() if "--memory" in l]
        self.assertEqual(len(warnings), 1, r.stderr)
        self.assertIn("RLIMIT_DATA", warnings[0])
        # the same allocation with room for it works: the limit is the cause
        r, res = self.result("--backend", "process", "--memory", "1G", cmd=alloc)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_result_never_claims_a_limit_not_applied(self):
        r, res = self.result("--backend", "process", "--cpus", "1", "--pids", "20")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(res["limits"]["cpus"])
        self.assertIsNone(res["limits"]["pids"])
        for flag in ("--cpus", "--pids"):
            lines = [l for l in r.stderr.splitlines() if flag in l]
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn("not applied", lines[0])

    def test_native_result_names_how_limits_were_applied(self):
        r, res = self.result("--memory", "64M", "--pids", "50")
        self.assertEqual(r.returncode, 0, r.stderr)
        mem, pids = res["limits"]["memory"], res["limits"]["pids"]
        self.assertEqual(mem["value"], 64 << 20)
        self.assertIn(mem["by"], ("cgroup", "rlimit"))
        if mem["by"] == "rlimit":
            # no cgroup for this user: said so, once
            self.assertIn("not applied", r.stderr)
        if IS_ROOT:
            self.assertEqual(mem["by"], "cgroup")
            self.assertEqual(pids, {"value": 50, "by": "cgroup"})
        self.assertIsNone(res["limits"]["cpus"])

    def test_backend_refusals_name_the_backend(self):
        for args, needle in (
            (["--backend", "process", "-d"], "-d: the process backend"),
            (["--backend", "process", "--time-namespace"], "process backend"),
            (["--backend", "nosuch"], "native, process"),
            (["--service-mode", "strict-agent", "--backend", "process"], "--backend process"),
        ):
            r = amber_run(["true"], *args)
            self.assertEqual(r.returncode, 125, (args, r.stderr))
            self.assertIn(needle, r.stderr)
        r = run(["create", "--backend", "process", "--", "true"])
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("process backend", r.stderr)

    def test_check_lists_the_backends(self):
        r = run(["check", "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        b = {x["name"]: x for x in json.loads(r.stdout)["backends"]}
        self.assertTrue(b["native"]["isolates"] and b["native"]["available"])
        self.assertFalse(b["process"]["isolates"])
        self.assertEqual(b["process"]["limits"], {"memory": "rlimit", "cpus": None, "pids": None})


class InjectedFailures(unittest.TestCase):
    """The error paths a real failure reaches only by chance, on purpose
    (AMBER_FAULT, util/fault.h): a clear error, nothing left behind."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="amber-flow-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def test_bind_source_open_fails_midway(self):
        from helpers import mount_table
        os.chmod(self.dir, 0o755)  # the sandbox's root is not the host's
        srcs = []
        for n in ("a", "b", "c"):
            d = os.path.join(self.dir, n)
            os.mkdir(d)
            srcs += ["--volume", "%s:/%s:ro" % (d, n)]
        before = mount_table()
        env = dict(os.environ, AMBER_FAULT="rootfs-open:2")
        r = amber_run(["true"], *srcs, env=env)
        self.assertEqual(r.returncode, 125, r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.startswith("amber:")]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(os.path.join(self.dir, "b"), lines[0])
        self.assertEqual(mount_table(), before)
        # the same run without the fault works
        r = amber_run(["true"], *srcs)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_exec_fork_fails(self):
        root = os.path.join(self.dir, "root")
        r = run(["--root", root, "run", "-d", "--name", "f", "--", "sleep", "1000"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(run, ["--root", root, "rm", "-f", "f"])
        env = dict(os.environ, AMBER_FAULT="exec-fork")
        r = run(["--root", root, "exec", "f", "--", "true"], env=env)
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("fork", r.stderr)
        r = run(["--root", root, "exec", "f", "--", "sh", "-c", "echo ok"])
        self.assertEqual((r.returncode, r.stdout), (0, "ok\n"), r.stderr)

    def test_amber_killed_at_each_step_leaves_nothing(self):
        """SIGKILL of amber once its cgroup exists (before anything runs)
        and once PID 1 is cloned (before it is released): the watchdog
        removes the cgroup, PID 1 dies with amber."""
        from helpers import IS_ROOT, wait_no_cgroup
        if not IS_ROOT:
            self.skipTest("needs root (a cgroup of its own)")
        for site in ("native-prepared", "native-cloned"):
            env = dict(os.environ, AMBER_FAULT=site + ":1:kill")
            p = subprocess.Popen([AMBER, "run", "--memory", "64M", "--", "sleep", "30"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 cwd="/")
            self.assertEqual(p.wait(timeout=20), -9, site)
            self.assertEqual(wait_no_cgroup(p.pid), [], site)
