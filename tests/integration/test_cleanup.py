"""Nothing outlives a sandbox: no cgroup dir, no process, no mount in the
caller's namespace; after a normal exit, a failed start, a timeout, and
a SIGKILL of amber itself (the watchdog removes the cgroup then)."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

from helpers import (AMBER, IS_ROOT, amber_run, cgroup_leftovers, cgroups_usable, mount_table,
                     pids_with_marker, popen, run, skip, wait_for_line, wait_gone, wait_no_cgroup)

CGROUPS, _WHY = cgroups_usable()


class Cleanup(unittest.TestCase):
    def setUp(self):
        self.marker = "amber-it-marker-" + uuid.uuid4().hex[:12]
        self.mounts_before = mount_table()

    def assertNothingLeft(self, amber_pid):
        left = wait_no_cgroup(amber_pid, timeout=3.0)
        self.assertEqual(left, [], "cgroup dirs left behind")
        procs = wait_gone(lambda: pids_with_marker(self.marker), timeout=3.0)
        self.assertEqual(procs, [], "processes left behind: %s" % [
            open("/proc/%d/cmdline" % p, "rb").read() for p in procs if os.path.exists(
                "/proc/%d" % p)])
        self.assertEqual(mount_table(), self.mounts_before, "the caller's mounts changed")

    def assertCgroupWhileRunning(self, amber_pid):
        if CGROUPS:
            self.assertTrue(cgroup_leftovers(amber_pid),
                            "no amber-%d cgroup while the sandbox runs: the cleanup checks "
                            "would prove nothing" % amber_pid)

    def start(self, script, *args, **kw):
        return popen(["sh", "-c", script + " # " + self.marker], "-i", *args, **kw)

    def test_after_success(self):
        p = self.start("echo ready; read x; exit 0", stdin=subprocess.PIPE)
        try:
            wait_for_line(p.stdout, "ready")
            self.assertCgroupWhileRunning(p.pid)
            self.assertTrue(pids_with_marker(self.marker))
        finally:
            # closing stdin ends `read` and the workload exits.
            p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNothingLeft(p.pid)

    def test_after_failure_exit(self):
        p = self.start("exit 3")
        p.communicate(timeout=10)
        self.assertEqual(p.returncode, 3)
        self.assertNothingLeft(p.pid)

    def test_after_failed_start(self):
        # Failures inside the half-built sandbox (chdir, setrlimit, rootfs
        # resolution after some mounts are made) and before it (validation).
        tmp = tempfile.mkdtemp(prefix="amber-it-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        root = os.path.join(tmp, "root")
        for d in ("dev", "proc", "home/agent"):
            os.makedirs(os.path.join(root, d))
        os.symlink("/etc", os.path.join(root, "tmp"))
        for args in (["--workdir", "/nonexistent"], ["--ulimit", "nofile=99999999"],
                     ["--rootfs", root], ["--hostname", "bad_name"]):
            with self.subTest(args=args):
                p = self.start("true", *args)
                _, err = p.communicate(timeout=10)
                self.assertEqual(p.returncode, 125, err)
                self.assertNothingLeft(p.pid)

    def test_after_timeout(self):
        p = self.start("sleep 30", "--timeout", "300ms")
        p.communicate(timeout=10)
        self.assertEqual(p.returncode, 124)
        self.assertNothingLeft(p.pid)

    def test_background_processes_die_with_workload(self):
        # The workload leaves a detached daemon behind and exits.
        script = "setsid sh -c 'sleep 30; true %s' >/dev/null 2>&1 & echo ready" % self.marker
        p = self.start(script)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assertNothingLeft(p.pid)

    def test_after_sigkill_of_amber(self):
        p = self.start("echo ready; sleep 30; true")
        try:
            wait_for_line(p.stdout, "ready")
            self.assertCgroupWhileRunning(p.pid)
            self.assertTrue([q for q in pids_with_marker(self.marker) if q != p.pid])
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=10)
        self.assertEqual(p.returncode, -signal.SIGKILL)
        self.assertNothingLeft(p.pid)

    def test_after_sigkill_of_amber_with_limits(self):
        if not CGROUPS:
            skip(self, "needs cgroups: " + _WHY)
        p = self.start("echo ready; sleep 30; true", "--memory", "64M", "--cpus", "1",
                       "--pids", "50")
        try:
            wait_for_line(p.stdout, "ready")
            before = cgroup_leftovers(p.pid)
            self.assertGreaterEqual(len(before), 2, before)
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=10)
        self.assertNothingLeft(p.pid)

    def test_after_sigterm_of_amber(self):
        p = self.start("echo ready; sleep 30; true")
        try:
            wait_for_line(p.stdout, "ready")
            p.terminate()
            p.wait(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=10)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM)
        self.assertNothingLeft(p.pid)

    def test_after_oom(self):
        if not CGROUPS:
            skip(self, "needs cgroups: " + _WHY)
        p = popen(["python3", "-c", "b = bytearray(512 << 20) # " + self.marker], "--memory", "64M")
        p.communicate(timeout=30)
        self.assertEqual(p.returncode, 137)
        self.assertNothingLeft(p.pid)

    def test_many_runs_leave_nothing(self):
        pids = []
        for _ in range(5):
            p = self.start("exit 0")
            p.communicate(timeout=10)
            pids.append(p.pid)
        for pid in pids:
            self.assertEqual(cgroup_leftovers(pid), [])
        self.assertNothingLeft(pids[-1])


if __name__ == "__main__":
    unittest.main()
