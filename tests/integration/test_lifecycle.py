"""Detached sandboxes and the management verbs: run -d, ps, state, logs,
exec, stats, stop, kill, rm; errors; races; a killed supervisor."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from helpers import AMBER, IS_ROOT, run


class Lifecycle(unittest.TestCase):
    def setUp(self):
        # A private state root per test: nothing shared with other runs.
        self.root = tempfile.mkdtemp(prefix="amber-state-")
        os.chmod(self.root, 0o700)
        self.root = os.path.join(self.root, "root")

    def tearDown(self):
        r = self.amber("ps", "--all", "--format", "json")
        if r.returncode == 0:
            for c in json.loads(r.stdout):
                self.amber("rm", "-f", c["id"])
        shutil.rmtree(os.path.dirname(self.root), ignore_errors=True)

    def amber(self, *args, **kw):
        return run(["--root", self.root, *args], **kw)

    def start(self, *cmd, name=None, extra=()):
        args = ["run", "-d", *extra]
        if name:
            args += ["--name", name]
        r = self.amber(*args, "--", *cmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        cid = r.stdout.strip()
        self.assertRegex(cid, r"^[0-9a-f]{16}$")
        return cid

    def raw_state(self, cid):
        with open(os.path.join(self.root, cid, "state.json")) as f:
            return json.load(f)

    def state(self, ref):
        r = self.amber("state", ref)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def wait_status(self, ref, status, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.state(ref)
            if s["status"] == status:
                return s
            time.sleep(0.05)
        self.fail("container %s never became %s (is %s)" % (ref, status, s["status"]))

    def test_user_story(self):
        cid = self.start("sh", "-c", "echo hello; echo oops >&2; exec sleep 1000", name="web")
        r = self.amber("ps")
        self.assertIn("web", r.stdout)
        self.assertIn("running", r.stdout)
        s = self.state("web")
        self.assertEqual(s["id"], cid)
        self.assertGreater(s["pid"], 0)
        # exec enters the same pid namespace and sees the workload
        r = self.amber("exec", "web", "--", "ps", "-e", "-o", "comm=")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("sleep", r.stdout.split())
        # logs: stdout to stdout, stderr to stderr, timestamps on request
        deadline = time.time() + 5
        while time.time() < deadline:
            r = self.amber("logs", "web")
            if "hello" in r.stdout:
                break
            time.sleep(0.05)
        self.assertEqual(r.stdout, "hello\n")
        self.assertEqual(r.stderr, "oops\n")
        r = self.amber("logs", "--timestamps", "-n", "1", "web")
        self.assertRegex(r.stderr, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z oops\n$")
        cgroups = self.raw_state(cid)["cgroups"]
        if IS_ROOT:
            self.assertTrue(cgroups and all(os.path.isdir(p) for p in cgroups), cgroups)
        r = self.amber("stats", "--format", "json", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        if IS_ROOT:
            self.assertGreaterEqual(json.loads(r.stdout)["pids"], 2)
        # stop: TERM (sleep dies of it) then the state says so
        r = self.amber("stop", "-t", "5", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = self.state("web")
        self.assertEqual(s["status"], "stopped")
        self.assertEqual(s["exit_code"], 143)
        r = self.amber("ps")
        self.assertNotIn("web", r.stdout)
        self.assertIn("web", self.amber("ps", "--all").stdout)
        r = self.amber("rm", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.listdir(self.root), [])
        for p in cgroups:
            self.assertFalse(os.path.isdir(p), "cgroup left behind: " + p)

    def test_exec_has_the_sandbox_policy(self):
        self.start("sleep", "1000", name="p")
        r = self.amber("exec", "p", "--", "sh", "-c",
                       "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; "
                       "hostname; (touch /etc/x) 2>/dev/null && echo WRITABLE; "
                       "(echo > /proc/self/comm) 2>/dev/null && echo COMM; true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("CapEff:\t0000000000000000", r.stdout)
        self.assertIn("NoNewPrivs:\t1", r.stdout)
        self.assertIn("Seccomp:\t2", r.stdout)
        self.assertIn("amber", r.stdout)
        self.assertNotIn("WRITABLE", r.stdout)
        self.assertNotIn("COMM", r.stdout)
        r = self.amber("exec", "p", "--", "sh", "-c", "exit 7")
        self.assertEqual(r.returncode, 7)
        r = self.amber("exec", "p", "--", "no-such-command")
        self.assertEqual(r.returncode, 127)

    def test_exec_keeps_the_sandbox_rlimits(self):
        """A process amber exec starts has the rlimits the sandbox's own
        workload has (--ulimit and amber's defaults), not amber exec's."""
        self.start("sleep", "1000", name="u", extra=("--ulimit", "nofile=64:64",
                                                   "--ulimit", "stack=4194304:4194304"))
        probe = "ulimit -n; ulimit -s"
        r = self.amber("exec", "u", "--", "sh", "-c", probe)
        self.assertEqual((r.returncode, r.stdout.split()), (0, ["64", "4096"]), r.stderr)
        # The same as the workload itself: its limits through /proc/1's child.
        r2 = self.amber("exec", "u", "--", "sh", "-c",
                        "grep -E '^Max (open files|core file size)' /proc/2/limits")
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertRegex(r2.stdout, r"Max open files\s+64\s+64")
        self.assertRegex(r2.stdout, r"Max core file size\s+0\s+0")
        r3 = self.amber("exec", "u", "--", "sh", "-c",
                        "grep -E '^Max core file size' /proc/self/limits")
        self.assertRegex(r3.stdout, r"Max core file size\s+0\s+0", "core dumps off in exec too")

    # What a process sees of its own policy in /proc/self/status: exec
    # must give exactly what the sandbox's workload (pid 2, under amber's
    # init) has.
    POLICY = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
              "NoNewPrivs", "Seccomp", "Seccomp_filters")

    def policy_of(self, ref, pid):
        script = "; ".join("grep '^%s:' /proc/%s/status" % (k, pid) for k in self.POLICY)
        r = self.amber("exec", ref, "--", "sh", "-c", script)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), len(self.POLICY), r.stdout)
        return lines

    def test_exec_keeps_ids_groups_caps_and_seccomp(self):
        extra = ["--user", "1000:1000", "--additional-group", "5", "--additional-group", "7"]
        if not IS_ROOT:
            extra = []
        self.start("sleep", "1000", name="ids", extra=extra)
        mine = self.policy_of("ids", "self")
        workload = self.policy_of("ids", "2")
        self.assertEqual(mine, workload)
        if IS_ROOT:
            self.assertIn("Uid:\t1000\t1000\t1000\t1000", mine)
            self.assertEqual(sorted(mine[2].split()[1:]), ["1000", "5", "7"])
        self.assertIn("CapEff:\t0000000000000000", mine)
        self.assertIn("NoNewPrivs:\t1", mine)

    def test_exec_keeps_landlock(self):
        """Landlock alone refuses a device node in /tmp (EACCES; without
        it, the missing CAP_MKNOD would say EPERM): the same for exec."""
        probe = ["sh", "-c", "mknod /tmp/n c 1 3"]
        r = run(["run", "--", *probe])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Permission denied", r.stderr)
        self.start("sleep", "1000", name="ll")
        r = self.amber("exec", "ll", "--", *probe)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Permission denied", r.stderr)

    def test_exec_keeps_the_memory_limit(self):
        """exec's process is held to the sandbox's memory limit: by its
        cgroup, or where there is none (rootless here) by the per-process
        bound its workload has too."""
        self.start("sleep", "1000", name="m", extra=("--memory", "64M"))
        alloc = ["python3", "-c", "bytearray(300 << 20)"]
        r = self.amber("exec", "m", "--", *alloc)
        self.assertNotEqual(r.returncode, 0, "300 MiB in a 64M sandbox")

    def test_exec_stdin_and_tty(self):
        import pty
        self.start("sleep", "1000", name="t")
        r = self.amber("exec", "t", "--", "cat", input="hello\n")
        self.assertEqual((r.returncode, r.stdout), (0, ""), "stdin without -i")
        r = self.amber("exec", "-i", "t", "--", "cat", input="hello\n")
        self.assertEqual((r.returncode, r.stdout), (0, "hello\n"))
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(AMBER, [AMBER, "--root", self.root, "exec", "-t", "-i", "t", "--", "/bin/sh"])
        time.sleep(0.5)
        os.write(fd, b"tty; echo in-$((6*7)); exit 6\n")
        out = b""
        while True:
            try:
                d = os.read(fd, 1000)
            except OSError:
                break
            if not d:
                break
            out += d
        _, st = os.waitpid(pid, 0)
        os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(st), 6)
        self.assertRegex(out.decode(errors="replace"), r"/dev/pts/\d+")
        self.assertIn("in-42", out.decode(errors="replace"))

    def test_workload_exit_is_recorded(self):
        self.start("sh", "-c", "exit 3", name="short")
        s = self.wait_status("short", "stopped")
        self.assertEqual(s["exit_code"], 3)

    def test_errors(self):
        r = self.amber("state", "nope")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no such container", r.stderr)
        for verb in (["logs", "nope"], ["stop", "nope"], ["kill", "nope"], ["rm", "nope"],
                     ["exec", "nope", "true"], ["stats", "nope"]):
            r = self.amber(*verb)
            self.assertNotEqual(r.returncode, 0, verb)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, (verb, r.stderr))
        self.start("sleep", "1000", name="dup")
        r = self.amber("run", "-d", "--name", "dup", "--", "true")
        self.assertEqual(r.returncode, 125)
        self.assertIn("already in use", r.stderr)
        r = self.amber("rm", "dup")
        self.assertEqual(r.returncode, 1)
        self.assertIn("stop it first", r.stderr)
        self.assertEqual(self.state("dup")["status"], "running")
        r = self.amber("run", "-d", "--name", "bad name", "--", "true")
        self.assertEqual(r.returncode, 125)
        r = self.amber("run", "--name", "x", "--", "true")
        self.assertEqual(r.returncode, 125)
        # a failed start leaves nothing in the state directory
        before = sorted(os.listdir(self.root))
        r = self.amber("run", "-d", "--workdir", "/nonexistent", "--", "true")
        self.assertEqual(r.returncode, 125)
        self.assertIn("/nonexistent", r.stderr)
        self.assertEqual(sorted(os.listdir(self.root)), before)

    def test_kill_and_rm_force(self):
        self.start("sh", "-c", "trap 'echo got-usr1' USR1; while :; do sleep 0.1; done",
                   name="k")
        time.sleep(0.3)
        r = self.amber("kill", "k", "USR1")
        self.assertEqual(r.returncode, 0, r.stderr)
        deadline = time.time() + 5
        while "got-usr1" not in self.amber("logs", "k").stdout and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn("got-usr1", self.amber("logs", "k").stdout)
        r = self.amber("kill", "k", "NOTASIGNAL")
        self.assertEqual(r.returncode, 125)
        r = self.amber("rm", "-f", "k")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.listdir(self.root), [])

    def test_concurrent_rm(self):
        self.start("sh", "-c", "exit 0", name="race")
        self.wait_status("race", "stopped")
        results = []

        def rm():
            results.append(self.amber("rm", "race").returncode)

        threads = [threading.Thread(target=rm) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [0, 1])
        self.assertEqual(os.listdir(self.root), [])

    def test_killed_supervisor(self):
        cid = self.start("sleep", "1000", name="orphan")
        s = self.state("orphan")
        sup = self.raw_state(cid)["supervisor"]
        os.kill(sup, signal.SIGKILL)
        # the sandbox dies with it; the next ps notices and records it
        deadline = time.time() + 5
        while time.time() < deadline and os.path.exists("/proc/%d" % s["pid"]):
            time.sleep(0.05)
        self.assertFalse(os.path.exists("/proc/%d" % s["pid"]), "sandbox outlived its supervisor")
        r = self.amber("ps", "--all", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        (c,) = json.loads(r.stdout)
        self.assertEqual(c["status"], "stopped")
        self.assertIn("supervisor died", c["message"])
        if IS_ROOT:
            deadline = time.time() + 3
            while time.time() < deadline and any(
                    os.path.isdir(p) for p in self.raw_state(cid)["cgroups"]):
                time.sleep(0.05)
            for p in self.raw_state(cid)["cgroups"]:
                self.assertFalse(os.path.isdir(p), "cgroup left behind: " + p)
        r = self.amber("rm", "orphan")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_reused_pid_is_never_signalled(self):
        """The supervisor and PID 1 are gone and PID 1's pid now names
        another process (faked in state.json): the reaper run by `ps` and
        `rm -f` leave that process alone (pidfd + start time, not the bare
        pid)."""
        cid = self.start("sleep", "1000", name="reuse")
        st = self.raw_state(cid)
        os.kill(st["supervisor"], signal.SIGKILL)
        deadline = time.time() + 5
        while time.time() < deadline and os.path.exists("/proc/%d" % st["pid"]):
            time.sleep(0.05)
        victim = subprocess.Popen(["sleep", "1000"])
        self.addCleanup(lambda: (victim.kill(), victim.wait()))
        path = os.path.join(self.root, cid, "state.json")
        with open(path) as f:
            doc = json.load(f)
        doc["pid"] = victim.pid  # what a reused pid looks like
        with open(path, "w") as f:
            json.dump(doc, f)
        r = self.amber("ps", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.amber("rm", "-f", "reuse")
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(0.2)
        self.assertIsNone(victim.poll(), "a process that merely reused the pid was signalled")

    @unittest.skipUnless(IS_ROOT, "needs a freezer cgroup (root)")
    def test_pause_resume(self):
        self.start("sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done",
                   name="f")
        time.sleep(0.3)
        r = self.amber("pause", "f")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.state("f")["status"], "paused")
        before = self.amber("logs", "f").stdout
        time.sleep(0.4)
        self.assertEqual(self.amber("logs", "f").stdout, before, "output while paused")
        r = self.amber("pause", "f")
        self.assertEqual(r.returncode, 1)
        self.assertIn("paused", r.stderr)
        r = self.amber("resume", "f")
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(0.4)
        self.assertNotEqual(self.amber("logs", "f").stdout, before, "no output after resume")
        # a paused sandbox can still be stopped
        self.assertEqual(self.amber("pause", "f").returncode, 0)
        r = self.amber("stop", "-t", "2", "f")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.state("f")["status"], "stopped")

    def test_attach(self):
        self.start("sh", "-c", "sleep 0.3; echo later; exit 4", name="a")
        r = self.amber("attach", "a", timeout=15)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("later", r.stdout)
        self.start("sh", "-c", "trap 'echo bye; exit 9' TERM; while :; do sleep 0.05; done",
                   name="b")
        p = subprocess.Popen([AMBER, "--root", self.root, "attach", "b"],
                             stdout=subprocess.PIPE, text=True)
        # attach installs its signal handlers at once; leave it ample time
        # on a loaded machine before signalling it.
        time.sleep(1.5)
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=15)
        self.assertEqual(p.returncode, 9)
        self.assertIn("bye", out)

    def test_create_then_start(self):
        r = self.amber("create", "--name", "c", "--", "sh", "-c", "echo started; sleep 100")
        self.assertEqual(r.returncode, 0, r.stderr)
        cid = r.stdout.strip()
        s = self.state("c")
        self.assertEqual(s["status"], "created")
        self.assertGreater(s["pid"], 0)
        time.sleep(0.3)
        self.assertEqual(self.amber("logs", "c").stdout, "", "the workload ran before start")
        r = self.amber("start", "c")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), cid)
        self.assertEqual(self.state("c")["status"], "running")
        deadline = time.time() + 5
        while "started" not in self.amber("logs", "c").stdout and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.amber("logs", "c").stdout, "started\n")
        r = self.amber("start", "c")
        self.assertEqual(r.returncode, 1)
        self.assertIn("running", r.stderr)
        # stopped before it was started: recorded, and nothing ran
        r = self.amber("create", "--name", "d", "--", "sh", "-c", "echo ran")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.amber("stop", "d").returncode, 0)
        s = self.state("d")
        self.assertEqual(s["status"], "stopped")
        self.assertIn("before it was started", s["message"])
        self.assertEqual(self.amber("logs", "d").stdout, "")
        r = self.amber("create", "--name", "bad", "--workdir", "/nonexistent", "--", "true")
        self.assertEqual(r.returncode, 125)

    def test_help(self):
        for verb in ("ps", "state", "logs", "stop", "kill", "rm", "exec", "stats", "pause",
                     "resume", "attach", "create", "start"):
            r = run([verb, "--help"])
            self.assertEqual(r.returncode, 0, verb)
            self.assertIn("Usage: amber " + verb, r.stdout)


if __name__ == "__main__":
    unittest.main()
