"""Black-box tests of `amber run` (and the small commands): exit codes,
isolation as seen from inside, limits, signals, result file, launch file,
input validation, rootfs modes.

Run from the repo root:  python3 -m unittest discover -s tests/integration -v
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from helpers import (AMBER, IS_ROOT, amber_lines, amber_run, cgroup_leftovers, inside, pids_with_marker, popen,
                     requires_cgroups, requires_root, run, skip, wait_for_line)


def check_json():
    r = run(["check", "--json"])
    return json.loads(r.stdout) if r.returncode == 0 else {}


CHECK = check_json()


class ExitCodes(unittest.TestCase):
    def test_exit_code_passthrough(self):
        r = amber_run(["sh", "-c", "exit 7"])
        self.assertEqual(r.returncode, 7, r.stderr)
        r = amber_run(["true"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")

    def test_stdout_stdin_passthrough(self):
        r = amber_run(["sh", "-c", "read x; echo got:$x; echo err >&2"], "-i", input="hello\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "got:hello\n")
        self.assertEqual(r.stderr, "err\n")

    def test_stdin_is_dev_null_without_i(self):
        # Without -i the workload must not read amber's stdin.
        r = amber_run(["sh", "-c", "read x; echo got:$x:$?; readlink /proc/self/fd/0"],
                      input="hello\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "got::1\n/dev/null\n")

    def test_signal_death_is_128_plus_n(self):
        r = amber_run(["sh", "-c", "kill -TERM $$"])
        self.assertEqual(r.returncode, 143, r.stderr)
        r = amber_run(["sh", "-c", "kill -KILL $$"])
        self.assertEqual(r.returncode, 137, r.stderr)
        self.assertNotIn("out of memory", r.stderr)

    def test_timeout_is_124(self):
        t0 = time.monotonic()
        r = amber_run(["sleep", "30"], "--timeout", "1", timeout=15)
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 124, r.stderr)
        self.assertLess(took, 5, "--timeout 1 took %.1fs" % took)
        self.assertGreaterEqual(took, 0.9)
        self.assertIn("timed out", r.stderr)

    def test_timeout_subsecond(self):
        t0 = time.monotonic()
        r = amber_run(["sleep", "30"], "--timeout", "300ms", timeout=15)
        self.assertEqual(r.returncode, 124, r.stderr)
        self.assertLess(time.monotonic() - t0, 3)

    def test_timeout_not_reached(self):
        r = amber_run(["sh", "-c", "exit 3"], "--timeout", "10")
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_not_found_is_127(self):
        r = amber_run(["no-such-command-xyz"])
        self.assertEqual(r.returncode, 127, r.stderr)
        self.assertIn("no-such-command-xyz", r.stderr)
        r = amber_run(["/no/such/path"])
        self.assertEqual(r.returncode, 127, r.stderr)

    def test_not_executable_is_126(self):
        # /etc/passwd exists in the generated /etc but is not executable;
        # /tmp is a directory.
        for target in ("/etc/passwd", "/tmp"):
            with self.subTest(target=target):
                r = amber_run([target])
                self.assertEqual(r.returncode, 126, r.stderr)
                self.assertIn(target, r.stderr)


class Isolation(unittest.TestCase):
    def test_credentials_and_filters(self):
        r = inside("print(open('/proc/self/status').read())")
        self.assertEqual(r.returncode, 0, r.stderr)
        status = dict(l.split(":", 1) for l in r.stdout.splitlines() if ":" in l)
        status = {k: v.strip() for k, v in status.items()}
        for cap in ("CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"):
            with self.subTest(cap=cap):
                self.assertEqual(int(status[cap], 16), 0, "%s=%s" % (cap, status[cap]))
        self.assertEqual(status["NoNewPrivs"], "1")
        self.assertEqual(status["Seccomp"], "2")

    def test_securebits_and_core_limit(self):
        code = ("import ctypes, resource; libc = ctypes.CDLL(None); "
                "print(libc.prctl(27, 0, 0, 0, 0), *resource.getrlimit(resource.RLIMIT_CORE))")
        r = inside(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        bits, soft, hard = map(int, r.stdout.split())
        self.assertEqual(bits & 0x3, 0x3, "SECBIT_NOROOT not set and locked: %#x" % bits)
        self.assertEqual((soft, hard), (0, 0), "core dumps enabled by default")

    def test_pid_namespace(self):
        code = r"""
import os
stat = open('/proc/self/stat').read()
ppid = int(stat[stat.rindex(')') + 2:].split()[1])
pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
print(os.getpid(), ppid, pids)
"""
        r = inside(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        pid, ppid, pids = r.stdout.split(" ", 2)
        self.assertEqual(int(pid), 2, "the workload is not PID 2")
        self.assertEqual(int(ppid), 1, "the workload's parent is not PID 1 (init)")
        self.assertEqual(eval(pids), [1, 2], "processes outside the sandbox are visible")

    def test_pid1_is_amber_init(self):
        r = inside("import os; print(os.path.exists('/proc/1'), os.getppid())")
        self.assertEqual(r.stdout.split(), ["True", "1"], r.stderr)

    def test_orphans_reaped_by_init(self):
        # A grandchild left behind is reparented to PID 1 and the run ends.
        r = amber_run(["sh", "-c", "(sleep 0.2 &) ; echo done"], timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "done\n")

    def test_network_only_loopback_up(self):
        code = r"""
import socket, fcntl, struct
names = sorted(n for _, n in socket.if_nameindex())
dev = [l.split(':')[0].strip() for l in open('/proc/net/dev').read().splitlines()[2:]]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack('16sH', fcntl.ioctl(s.fileno(), 0x8913, struct.pack('16sH', b'lo', 0)))[1]
print(names, sorted(dev), bool(flags & 1))
"""
        r = inside(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "['lo'] ['lo'] True")

    def test_network_loopback_works_external_not(self):
        code = r"""
import socket, errno
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
c = socket.create_connection(srv.getsockname(), timeout=2)
print('loopback-ok')
try:
    socket.create_connection(('1.1.1.1', 53), timeout=2)
    print('external-ok')
except OSError as e:
    print('external-fail', errno.errorcode.get(e.errno, e.errno))
"""
        r = inside(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("loopback-ok", r.stdout)
        self.assertIn("external-fail", r.stdout)

    def test_sys_absent(self):
        r = inside("import os; print(os.path.exists('/sys'), os.path.exists('/sys/class/net'))")
        self.assertEqual(r.stdout.split(), ["False", "False"], r.stderr)

    def test_hostname(self):
        r = amber_run(["sh", "-c", "hostname; cat /proc/sys/kernel/hostname; echo $HOSTNAME"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["amber"] * 3)
        r = amber_run(["hostname"], "--hostname", "x")
        self.assertEqual(r.stdout.strip(), "x", r.stderr)
        self.assertNotEqual(socket.gethostname(), "x")

    def test_generated_etc(self):
        r = inside("import os; print(sorted(os.listdir('/etc'))); print(open('/etc/passwd').read())")
        self.assertEqual(r.returncode, 0, r.stderr)
        first, passwd = r.stdout.split("\n", 1)
        self.assertNotIn("shadow", first)
        with open("/etc/passwd") as f:
            host_users = {l.split(":")[0] for l in f if l.strip()}
        inside_users = {l.split(":")[0] for l in passwd.splitlines() if l.strip()}
        self.assertLessEqual(inside_users, {"root", "agent", "nobody"}, passwd)
        extra = host_users - {"root", "nobody"}
        self.assertFalse(inside_users & extra, "host users leaked into /etc/passwd")

    def test_environment(self):
        env = dict(os.environ, FOO_HOST_LEAK="leak", AMBER_T_COPY="copied-value")
        env.pop("AMBER_T_UNSET", None)
        r = amber_run(["python3", "-c", "import os, json; print(json.dumps(dict(os.environ)))"],
                      "-e", "A=B", "-e", "AMBER_T_COPY", "-e", "AMBER_T_UNSET", "--env", "C=x=y",
                      env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        inner = json.loads(r.stdout)
        self.assertEqual(inner.get("HOME"), "/home/agent")
        self.assertEqual(inner.get("A"), "B")
        self.assertEqual(inner.get("C"), "x=y")
        self.assertEqual(inner.get("AMBER_T_COPY"), "copied-value")
        self.assertNotIn("AMBER_T_UNSET", inner)
        self.assertNotIn("FOO_HOST_LEAK", inner)
        allowed = {"HOME", "PATH", "HOSTNAME", "A", "C", "AMBER_T_COPY",
                   # set by python/the shell itself, not inherited
                   "PWD", "SHLVL", "_", "LC_CTYPE"}
        self.assertLessEqual(set(inner), allowed, "unexpected variables inside")

    def test_home_and_workdir(self):
        r = amber_run(["sh", "-c", "pwd; echo $HOME; id -u; stat -c %u /home/agent"])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.split()
        self.assertEqual(lines[:2], ["/home/agent", "/home/agent"])
        self.assertEqual(lines[2], lines[3], "the home is not owned by the workload user")
        r = amber_run(["pwd"], "--workdir", "/tmp")
        self.assertEqual(r.stdout.strip(), "/tmp", r.stderr)
        r = amber_run(["pwd"], "-w", "/usr")
        self.assertEqual(r.stdout.strip(), "/usr", r.stderr)

    def test_ld_env_dropped_with_warning(self):
        r = amber_run(["sh", "-c", "echo P=${LD_PRELOAD-unset} L=${LD_LIBRARY_PATH-unset}"],
                      "-e", "LD_PRELOAD=", "-e", "LD_LIBRARY_PATH=/nonexistent")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "P=unset L=unset")
        self.assertIn("LD_PRELOAD", r.stderr)
        self.assertIn("LD_LIBRARY_PATH", r.stderr)
        self.assertIn("warn", r.stderr.lower())

    def test_ld_env_kept_with_flag(self):
        r = amber_run(["sh", "-c", "echo P=${LD_PRELOAD-unset} L=${LD_LIBRARY_PATH-unset}"],
                      "-e", "LD_PRELOAD=", "-e", "LD_LIBRARY_PATH=/nonexistent", "--keep-ld-env")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "P= L=/nonexistent")
        self.assertEqual(r.stderr, "")

    def test_landlock_proc_comm_not_writable(self):
        # The mount allows it (proc is rw and /proc/self/comm is ours), only
        # Landlock's read-only /proc rule forbids it.
        code = r"""
import errno
try:
    open('/proc/self/comm', 'w').write('x')
    print('written')
except OSError as e:
    print(errno.errorcode[e.errno])
"""
        r = inside(code)
        self.assertEqual(r.stdout.strip(), "EACCES", r.stderr)

    def test_writable_and_readonly_paths(self):
        code = r"""
import errno, os
def w(p):
    try:
        with open(p, 'w') as f:
            f.write('x')
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
for p in ('/tmp/f', '/home/agent/f', '/dev/shm/f', '/etc/passwd', '/etc/newfile',
          '/usr/amber-test-file', '/usr/bin/python3', '/newfile', '/proc/sys/kernel/hostname',
          '/dev/null'):
    print(p, w(p))
"""
        r = inside(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = dict(l.split() for l in r.stdout.splitlines())
        for p in ("/tmp/f", "/home/agent/f", "/dev/shm/f", "/dev/null"):
            self.assertEqual(res[p], "ok", p)
        for p in ("/etc/passwd", "/etc/newfile", "/usr/amber-test-file", "/usr/bin/python3",
                  "/newfile", "/proc/sys/kernel/hostname"):
            self.assertIn(res[p], ("EROFS", "EACCES", "EPERM", "ETXTBSY"), p)
        self.assertFalse(os.path.exists("/usr/amber-test-file"))

    def test_masked_proc_paths(self):
        code = r"""
import os, errno
for p in ('kcore', 'kallsyms', 'keys', 'timer_list', 'sysrq-trigger', 'sched_debug',
          'kpagecount', 'kpageflags', 'vmallocinfo', 'key-users'):
    try:
        data = open('/proc/' + p, 'rb').read(4096)
        print(p, 'read', len(data))
    except OSError as e:
        print(p, 'err', errno.errorcode[e.errno])
for d in ('acpi', 'scsi', 'asound', 'firmware', 'driver'):
    if os.path.isdir('/proc/' + d):
        print(d, 'dir', len(os.listdir('/proc/' + d)))
"""
        r = inside(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        checked = 0
        for line in r.stdout.splitlines():
            name, kind, val = line.split()
            with self.subTest(path=name):
                if kind == "read":
                    self.assertEqual(val, "0", "/proc/%s is readable inside" % name)
                elif kind == "dir":
                    self.assertEqual(val, "0", "/proc/%s is not empty" % name)
                checked += 1
        # At least the ones this kernel has: kallsyms and keys exist almost everywhere.
        self.assertGreater(checked, 0)

    def test_masked_proc_paths_exist_on_host_are_hidden(self):
        # Cross-check with the host: every masked file that exists on the
        # host reads empty or cannot be opened inside.
        names = [n for n in ("kcore", "kallsyms", "keys", "timer_list", "sysrq-trigger",
                             "vmallocinfo", "kpagecount", "config.gz")
                 if os.path.exists("/proc/" + n)]
        if not names:
            skip(self, "no maskable /proc files on this kernel")
        code = r"""
import sys
for n in sys.argv[1:]:
    try:
        print(n, len(open('/proc/' + n, 'rb').read(65536)))
    except OSError as e:
        print(n, 'error', e.errno)
"""
        r = amber_run(["python3", "-c", code, *names])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), len(names), r.stdout)
        for line in r.stdout.splitlines():
            n, size = line.split(" ", 1)
            with self.subTest(path=n):
                self.assertTrue(size == "0" or size.startswith("error"),
                                "/proc/%s readable inside (%s bytes)" % (n, size))

    def test_proc_sys_read_only(self):
        code = r"""
import errno
for p in ('/proc/sys/kernel/hostname', '/proc/sys/vm/drop_caches', '/proc/sys/kernel/domainname'):
    try:
        with open(p, 'w') as f:
            f.write('3\n')
        print(p, 'ok')
    except OSError as e:
        print(p, errno.errorcode[e.errno])
print('read', open('/proc/sys/kernel/ostype').read().strip())
"""
        r = inside(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.splitlines():
            p, res = line.split()
            if p == "read":
                self.assertEqual(res, "Linux")
            else:
                self.assertNotEqual(res, "ok", "%s writable inside" % p)

    def test_dev_minimal(self):
        r = inside("import os; print(' '.join(sorted(os.listdir('/dev'))))")
        self.assertEqual(r.returncode, 0, r.stderr)
        expected = {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx",
                    "fd", "stdin", "stdout", "stderr"}
        got = set(r.stdout.split())
        self.assertLessEqual(got, expected, "unexpected entries in /dev")
        self.assertLessEqual(expected - {"tty"}, got, "missing entries in /dev")

    def test_dev_nodes_work(self):
        code = r"""
import os
print(len(open('/dev/zero','rb').read(8)), len(open('/dev/urandom','rb').read(8)))
with open('/dev/null', 'w') as f:
    f.write('x')
try:
    with open('/dev/full', 'w') as f:
        f.write('x')
except OSError as e:
    print('full', e.errno)
m, s = os.openpty()
print('pty', os.ttyname(s).startswith('/dev/pts/'))
"""
        r = inside(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["8", "8", "full", "28", "pty", "True"])

    def test_proc_self_cgroup_is_root(self):
        r = inside("print(open('/proc/self/cgroup').read())")
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.split():
            self.assertTrue(line.endswith(":/"), "cgroup path leaks: %r" % line)

    def test_time_namespace(self):
        if not CHECK.get("namespaces", {}).get("time"):
            skip(self, "kernel has no time namespaces")
        host_ns = os.readlink("/proc/self/ns/time")
        r = inside("import os; print(os.readlink('/proc/self/ns/time'))", "--time-namespace")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(r.stdout.strip(), host_ns)
        r = inside("import os; print(os.readlink('/proc/self/ns/time'))")
        self.assertEqual(r.stdout.strip(), host_ns, "time namespace unshared without the flag")

    def test_network_host(self):
        host = sorted(n for _, n in socket.if_nameindex())
        r = inside("import socket; print(sorted(n for _, n in socket.if_nameindex()))",
                   "--network", "host", "--allow-host-network")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), str(host))

    def test_ulimit(self):
        code = ("import resource as r; print(r.getrlimit(r.RLIMIT_NOFILE), "
                "r.getrlimit(r.RLIMIT_CORE))")
        r = inside(code, "--ulimit", "nofile=64:128", "--ulimit", "core=0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "(64, 128) (0, 0)")


class Limits(unittest.TestCase):
    @requires_cgroups
    def test_memory_oom_is_137(self):
        r = inside("b = bytearray(512 << 20); print('allocated')", "--memory", "64M", timeout=30)
        self.assertEqual(r.returncode, 137, r.stderr)
        self.assertIn("out of memory", r.stderr)
        self.assertNotIn("allocated", r.stdout)

    @requires_cgroups
    def test_memory_under_limit(self):
        r = inside("b = bytearray(16 << 20); print('allocated')", "--memory", "128M")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "allocated")

    @requires_cgroups
    def test_pids_limit_holds_fork_bomb(self):
        code = r"""
import os, time, signal
kids = []
try:
    for i in range(200):
        pid = os.fork()
        if pid == 0:
            time.sleep(10)
            os._exit(0)
        kids.append(pid)
    print('forked', len(kids))
except OSError as e:
    print('fork-failed-after', len(kids), e.errno)
for k in kids:
    os.kill(k, signal.SIGKILL)
"""
        t0 = time.monotonic()
        r = inside(code, "--pids", "20", "--timeout", "20", timeout=30)
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"fork-failed-after (\d+) (\d+)", r.stdout)
        self.assertIsNotNone(m, "the fork bomb was not stopped: %r" % r.stdout)
        self.assertLessEqual(int(m.group(1)), 20)
        self.assertEqual(int(m.group(2)), 11)  # EAGAIN

    @requires_cgroups
    def test_pids_too_small_for_the_workload_is_reported(self):
        # The sandbox's init counts against --pids, so with --pids 1 the
        # workload cannot be started. Either amber makes that work or it
        # fails as its own error: 125 and one "amber: " line saying why.
        r = amber_run(["true"], "--pids", "1")
        if r.returncode == 0:
            return
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertEqual(len(amber_lines(r.stderr)), 1,
                         "exit 125 without an error message: stderr=%r" % r.stderr)

    @requires_cgroups
    def test_pids_two_is_enough_for_one_process(self):
        r = amber_run(["sh", "-c", "echo hi"], "--pids", "2")
        self.assertEqual((r.returncode, r.stdout), (0, "hi\n"), r.stderr)

    @requires_cgroups
    def test_default_and_explicit_cgroup_settings(self):
        # Look at the sandbox's cgroup from the host while it runs (v1 or v2
        # files, whichever this host has).
        p = popen(["sh", "-c", "echo ready; sleep 5"], "--cpus", "0.5", "--memory", "100M")
        try:
            wait_for_line(p.stdout, "ready")
            dirs = cgroup_leftovers(p.pid)
            self.assertTrue(dirs, "no amber-%d cgroup while the sandbox runs" % p.pid)
            seen = {}
            for d in dirs:
                for name in ("pids.max", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.max",
                             "memory.limit_in_bytes", "memory.max"):
                    path = os.path.join(d, name)
                    if os.path.exists(path):
                        with open(path) as f:
                            seen[name] = f.read().strip()
        finally:
            p.kill()
            p.communicate(timeout=10)
        self.assertEqual(seen.get("pids.max"), "4096", seen)
        if "cpu.max" in seen:
            quota, period = seen["cpu.max"].split()
        else:
            quota, period = seen.get("cpu.cfs_quota_us"), seen.get("cpu.cfs_period_us")
        self.assertIsNotNone(quota, "no cpu limit file: %s" % seen)
        self.assertAlmostEqual(int(quota) / int(period), 0.5, places=2)
        mem = seen.get("memory.max", seen.get("memory.limit_in_bytes"))
        self.assertEqual(int(mem), 100 << 20, seen)

    def test_limits_without_cgroups_warn(self):
        if IS_ROOT:
            skip(self, "only meaningful rootless (no cgroups)")
        r = amber_run(["true"], "--memory", "64M")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("not applied", r.stderr)


HANDLER = r"""
import os, signal, sys
def h(sig, frame):
    os.write(1, ('got %s\n' % signal.Signals(sig).name).encode())
    os._exit(0)
for s in ('SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'):
    signal.signal(getattr(signal, s), h)
os.write(1, b'ready\n')
while True:
    signal.pause()
"""


class Signals(unittest.TestCase):
    def test_forwarding(self):
        for name in ("INT", "TERM", "HUP", "USR1", "USR2", "QUIT", "WINCH"):
            with self.subTest(signal=name):
                p = popen(["python3", "-c", HANDLER])
                try:
                    wait_for_line(p.stdout, "ready")
                    p.send_signal(getattr(signal, "SIG" + name))
                    out, err = p.communicate(timeout=10)
                except BaseException:
                    p.kill()
                    p.communicate()
                    raise
                self.assertIn("got SIG" + name, out, err)
                self.assertEqual(p.returncode, 0, err)

    def test_unhandled_term_gives_143(self):
        p = popen(["python3", "-c", "import time; print('ready', flush=True); time.sleep(30)"])
        try:
            wait_for_line(p.stdout, "ready")
            t0 = time.monotonic()
            p.terminate()
            p.communicate(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 143)
        self.assertLess(time.monotonic() - t0, 5)

    def test_terminal_ctrl_c_delivered_once(self):
        # On a terminal, ^C reaches the whole foreground process group (the
        # workload included) from the kernel; amber must not forward it a
        # second time.
        import pty
        import select
        code = r"""
import os, signal, time
n = []
signal.signal(signal.SIGINT, lambda s, f: n.append(s))
os.write(1, b'ready\n')
end = time.time() + 1.0
while time.time() < end:
    time.sleep(0.05)
os.write(1, ('count=%d\n' % len(n)).encode())
"""
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execv(AMBER, [AMBER, "run", "--", "python3", "-c", code])
            finally:
                os._exit(127)
        buf = b""
        try:
            def read_until(needle, secs):
                nonlocal buf
                end = time.monotonic() + secs
                while needle not in buf and time.monotonic() < end:
                    if select.select([fd], [], [], 0.1)[0]:
                        try:
                            chunk = os.read(fd, 1024)
                        except OSError:
                            return
                        if not chunk:
                            return
                        buf += chunk
            read_until(b"ready", 10)
            self.assertIn(b"ready", buf)
            os.write(fd, b"\x03")
            read_until(b"count=", 10)
            read_until(b"\n", 2)
        finally:
            for _ in range(100):
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        m = re.search(rb"count=(\d+)", buf)
        self.assertIsNotNone(m, buf)
        self.assertEqual(int(m.group(1)), 1, "^C delivered %s times" % m.group(1).decode())

    def test_sleep_as_workload_killed_by_int(self):
        # A plain exec'd workload (not a shell) with no handler.
        p = popen(["sh", "-c", "echo ready; exec sleep 30"])
        try:
            wait_for_line(p.stdout, "ready")
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 130)


class ResultJson(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="amber-it-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def result(self, cmd, *args):
        path = os.path.join(self.dir, "r%d.json" % len(os.listdir(self.dir)))
        r = amber_run(cmd, "--result-json", path, *args)
        with open(path) as f:
            return r, json.load(f)

    def test_fields(self):
        r, res = self.result(["sh", "-c", "exit 3"])
        self.assertEqual(r.returncode, 3)
        self.assertEqual(res["exit_code"], 3)
        self.assertIsNone(res["signal"])
        self.assertIs(res["oom"], False)
        self.assertIs(res["timed_out"], False)
        for k in ("wall_time_s", "user_time_s", "sys_time_s"):
            self.assertIsInstance(res[k], (int, float), k)
            self.assertGreaterEqual(res[k], 0, k)
        self.assertGreater(res["wall_time_s"], 0)
        self.assertIsInstance(res["peak_memory_bytes"], int)
        self.assertGreater(res["peak_memory_bytes"], 0)
        self.assertEqual(res["backend"], "native")
        self.assertEqual(res["mode"], "agent")
        self.assertRegex(res["spec_digest"], r"^[0-9a-f]{64}$")

    def test_signal_and_timeout(self):
        _, res = self.result(["sh", "-c", "kill -TERM $$"])
        self.assertEqual((res["exit_code"], res["signal"]), (143, 15))
        _, res = self.result(["sleep", "10"], "--timeout", "200ms")
        self.assertEqual(res["exit_code"], 124)
        self.assertIs(res["timed_out"], True)

    @requires_cgroups
    def test_oom(self):
        _, res = self.result(["python3", "-c", "b = bytearray(512 << 20)"], "--memory", "64M")
        self.assertEqual(res["exit_code"], 137)
        self.assertIs(res["oom"], True)
        self.assertGreater(res["peak_memory_bytes"], 32 << 20)

    def test_digest_stable_and_spec_sensitive(self):
        _, a = self.result(["sh", "-c", "exit 0"], "--hostname", "h1")
        _, b = self.result(["sh", "-c", "exit 0"], "--hostname", "h1")
        _, c = self.result(["sh", "-c", "exit 0"], "--hostname", "h2")
        _, d = self.result(["sh", "-c", "exit 1"], "--hostname", "h1")
        self.assertEqual(a["spec_digest"], b["spec_digest"])
        self.assertNotEqual(a["spec_digest"], c["spec_digest"])
        self.assertNotEqual(a["spec_digest"], d["spec_digest"])

    def test_unwritable_result_file_is_125(self):
        r = amber_run(["true"], "--result-json", "/nonexistent-dir/r.json")
        self.assertEqual(r.returncode, 125)
        self.assertIn("result-json", r.stderr)


class ConfigFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="amber-it-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, obj, name="c.json"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    def test_equivalent_to_flags(self):
        cmd = ["sh", "-c", "echo $FOO $BAR; hostname; pwd; ulimit -n"]
        rj1 = os.path.join(self.dir, "r1.json")
        rj2 = os.path.join(self.dir, "r2.json")
        cfg = self.write({"command": cmd, "env": ["FOO=bar", "BAR=baz"], "hostname": "cfg",
                          "workdir": "/tmp", "pids": 50, "ulimit": "nofile=100",
                          "timeout": 10, "result_json": rj1})
        a = run(["run", "--config", cfg])
        b = amber_run(cmd, "-e", "FOO=bar", "-e", "BAR=baz", "--hostname", "cfg",
                      "--workdir", "/tmp", "--pids", "50", "--ulimit", "nofile=100",
                      "--timeout", "10", "--result-json", rj2)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertEqual(a.stdout, "bar baz\ncfg\n/tmp\n100\n")
        self.assertEqual(a.stdout, b.stdout)
        with open(rj1) as f1, open(rj2) as f2:
            self.assertEqual(json.load(f1)["spec_digest"], json.load(f2)["spec_digest"])

    def test_boolean_keys(self):
        cfg = self.write({"command": ["sh", "-c", "echo ${LD_LIBRARY_PATH-unset}"],
                          "env": ["LD_LIBRARY_PATH=/x"], "keep_ld_env": True})
        r = run(["run", "--config", cfg])
        self.assertEqual(r.stdout.strip(), "/x", r.stderr)

    def test_mixing_with_flags_is_125(self):
        cfg = self.write({"command": ["true"]})
        for extra in (["--pids", "3"], ["--", "true"], ["--hostname", "x"]):
            with self.subTest(extra=extra):
                r = run(["run", "--config", cfg, *extra])
                self.assertEqual(r.returncode, 125)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                self.assertTrue(r.stderr.startswith("amber: "))
        r = run(["run", "--pids", "3", "--config", cfg])
        self.assertEqual(r.returncode, 125)

    def test_unknown_key_is_125(self):
        cfg = self.write({"command": ["true"], "bogus_key": 1})
        r = run(["run", "--config", cfg])
        self.assertEqual(r.returncode, 125)
        self.assertIn("bogus_key", r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)

    def test_bad_files_are_125(self):
        cases = {
            "syntax": "{not json",
            "notobject": "[1, 2]",
            "dashkey": json.dumps({"command": ["true"], "service-mode": "agent"}),
            "badcommand": json.dumps({"command": "true"}),
            "badvalue": json.dumps({"command": ["true"], "memory": "12Q"}),
            "duplicate": '{"command": ["true"], "pids": 1, "pids": 2}',
        }
        for name, text in cases.items():
            with self.subTest(case=name):
                r = run(["run", "--config", self.write(text, name + ".json")])
                self.assertEqual(r.returncode, 125, r.stderr)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                self.assertTrue(r.stderr.startswith("amber: "), r.stderr)
        r = run(["run", "--config", os.path.join(self.dir, "missing.json")])
        self.assertEqual(r.returncode, 125)


class BadInput(unittest.TestCase):
    # (flags, substring the one error line must contain)
    TABLE = [
        (["--bogus-flag"], "--bogus-flag"),
        (["--service-mode", "weird"], "weird"),
        (["--memory", "12Q"], "12Q"),
        (["--cpus", "abc"], "abc"),
        (["--pids", "0"], "--pids"),
        (["--rootfs", "/nonexistent-rootfs-dir"], "/nonexistent-rootfs-dir"),
        (["--rootfs", "relative/dir"], "relative/dir"),
        (["--workdir", "relative"], "relative"),
        (["--workdir", "/nonexistent"], "/nonexistent"),
        (["--network", "host"], "--allow-host-network"),
        (["--service-mode", "strict-agent", "--backend", "process"], "process"),
        (["--service-mode", "strict-agent", "--allow-degraded-security"],
         "--allow-degraded-security"),
        (["--ulimit", "bad"], "bad"),
        (["--ulimit", "nosuch=1"], "nosuch"),
        (["--user", "abc"], "abc"),
        (["--timeout", "xyz"], "xyz"),
        (["--hostname", "bad_name"], "bad_name"),
        (["--backend", "qemu"], "qemu"),
        (["--rootfs-mode", "overlay"], "--rootfs"),
        (["--network", "foo"], "foo"),
        (["--userns", "weird"], "weird"),
        (["--memory", "1K"], "1K"),
        (["--memory"], "--memory"),
        (["--env", "=x"], "=x"),
    ]

    def test_table(self):
        for flags, culprit in self.TABLE:
            with self.subTest(flags=flags):
                args = ["run", *flags] if flags == ["--memory"] else ["run", *flags, "--", "true"]
                r = run(args)
                self.assertEqual(r.returncode, 125, r.stderr)
                lines = r.stderr.splitlines()
                self.assertEqual(len(lines), 1, "expected one line: %r" % r.stderr)
                self.assertTrue(lines[0].startswith("amber: "), lines[0])
                self.assertIn(culprit, lines[0])
                self.assertEqual(r.stdout, "")

    def test_json_log_format_errors(self):
        cases = [
            ["--log-format", "json", "run", "--memory", "12Q", "--", "true"],
            ["run", "--log-format", "json", "--hostname", "bad_name", "--", "true"],
            ["run", "--log-format", "json", "--memory", "12Q", "--", "true"],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = run(args)
                self.assertEqual(r.returncode, 125, r.stderr)
                lines = r.stderr.splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                try:
                    obj = json.loads(lines[0])
                except ValueError:
                    obj = None
                if obj is None:
                    self.fail("--log-format json, but the error is not JSON: %r" % lines[0])
                self.assertEqual(obj.get("level"), "error")
                self.assertIn("--", obj.get("msg", ""))

    def test_no_command(self):
        r = run(["run"])
        self.assertEqual(r.returncode, 125)
        self.assertTrue(r.stderr.startswith("amber: "))

    def test_unknown_subcommand(self):
        r = run(["frobnicate"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("frobnicate", r.stderr)


class Modes(unittest.TestCase):
    def test_process_backend_warns_loudly(self):
        r = amber_run(["sh", "-c", "echo hi; exit 5"], "--backend", "process")
        self.assertEqual(r.returncode, 5)
        self.assertEqual(r.stdout, "hi\n")
        self.assertIn("WARNING", r.stderr)
        self.assertIn("ISOLATION", r.stderr.upper())

    def test_strict_agent(self):
        r = amber_run(["/bin/true"], "--service-mode", "strict-agent")
        if not IS_ROOT:
            self.assertEqual(r.returncode, 125, r.stderr)
            self.assertIn("cgroup", r.stderr)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            return
        self.assertEqual(r.returncode, 0, r.stderr)

    @requires_root
    def test_strict_agent_user_namespace(self):
        r = amber_run(["sh", "-c", "cat /proc/self/uid_map; cat /proc/self/gid_map; id -u"],
                      "--service-mode", "strict-agent")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        uid_inside, uid_outside, count = map(int, lines[0].split())
        self.assertEqual(uid_inside, 0)
        self.assertNotEqual(uid_outside, 0, "container root is host root")
        self.assertNotEqual(lines[0].split(), ["0", "0", "4294967295"])
        self.assertEqual(lines[2], "0")
        gid_outside = int(lines[1].split()[1])
        self.assertNotEqual(gid_outside, 0)

    @requires_root
    def test_strict_agent_runs_as_mapped_host_uid(self):
        # Seen from the host, the workload's uid is the mapped one, not 0.
        p = popen(["sh", "-c", "echo ready; sleep 5; true strict-uid-marker"],
                  "--service-mode", "strict-agent")
        try:
            wait_for_line(p.stdout, "ready")
            own_ns = os.readlink("/proc/self/ns/pid")
            pids = []
            for q in pids_with_marker("strict-uid-marker"):
                try:
                    if os.readlink("/proc/%d/ns/pid" % q) != own_ns:
                        pids.append(q)  # the workload
                except OSError:
                    pass
            # The sandbox's init shows "amber-init", not the marker: the
            # workload's parent.
            for q in list(pids):
                with open("/proc/%d/status" % q) as f:
                    pids.append(int([l for l in f if l.startswith("PPid:")][0].split()[1]))
            self.assertGreaterEqual(len(pids), 2, "sandbox processes not found")
            for q in pids:
                with open("/proc/%d/status" % q) as f:
                    uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
                self.assertNotIn("0", uids, "a sandbox process runs as host root")
        finally:
            p.kill()
            p.communicate(timeout=10)

    def test_user_flag(self):
        r = amber_run(["sh", "-c", "id -u; id -g; id -G"], "--user", "1000:1000")
        if not IS_ROOT:
            self.assertEqual(r.returncode, 125, r.stderr)
            self.assertIn("1000", r.stderr)
            return
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["1000", "1000", "1000"])

    def test_rootless_identity(self):
        r = amber_run(["sh", "-c", "id -u; id -g"])
        self.assertEqual(r.returncode, 0, r.stderr)
        if IS_ROOT:
            self.assertEqual(r.stdout.split(), ["0", "0"])
        else:
            self.assertEqual(r.stdout.split(), [str(os.geteuid()), str(os.getegid())])


class SmallCommands(unittest.TestCase):
    FLAGS = ["--backend", "--service-mode", "--rootfs", "--rootfs-mode", "--memory", "--cpus",
             "--pids", "--ulimit", "--timeout", "--network", "--allow-host-network", "--userns",
             "--time-namespace", "--user", "--hostname", "--env", "--keep-ld-env", "--workdir",
             "--result-json", "--allow-degraded-security", "--allow-chroot-fallback", "--config",
             "--log-level", "--log-format", "--help"]

    def test_check(self):
        r = run(["check"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("landlock", r.stdout.lower())
        self.assertIn("seccomp", r.stdout.lower())

    def test_check_json(self):
        r = run(["check", "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        d = json.loads(r.stdout)
        for key in ("kernel", "arch", "rootless", "namespaces", "landlock_abi", "seccomp_filter",
                    "cgroup_layout"):
            self.assertIn(key, d)
        self.assertIsInstance(d["landlock_abi"], int)
        self.assertEqual(d["rootless"], not IS_ROOT)
        self.assertIs(d["seccomp_filter"], True)

    def test_version(self):
        for args in (["--version"], ["version"]):
            r = run(args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout.strip(), r"^amber \d+\.\d+\.\d+")

    def test_help(self):
        r = run(["help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("run", r.stdout)
        self.assertIn("check", r.stdout)
        r = run(["--help"])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_run_help_mentions_every_flag(self):
        for args in (["run", "--help"], ["help", "run"]):
            r = run(args)
            self.assertEqual(r.returncode, 0, r.stderr)
            for flag in self.FLAGS:
                with self.subTest(args=args, flag=flag):
                    self.assertRegex(r.stdout, re.escape(flag) + r"\b")


def _copy_with_libs(binary, root):
    """Copy binary and the shared libraries ldd lists into root."""
    out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, text=True).stdout
    files = {os.path.realpath(binary): binary}
    for line in out.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            files[os.path.realpath(m.group(1))] = m.group(1)
    for real, name in files.items():
        dst = root + name
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(real, dst)


class Rootfs(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="amber-it-")
        os.chmod(self.dir, 0o755)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def minimal_rootfs(self):
        root = os.path.join(self.dir, "root")
        for d in ("dev", "proc", "tmp", "home/agent", "etc"):
            os.makedirs(os.path.join(root, d))
        sh = shutil.which("dash") or "/bin/sh"
        if not os.path.exists(sh) or shutil.which("ldd") is None:
            skip(self, "no dash/sh or ldd to build a rootfs")
        _copy_with_libs(os.path.realpath(sh), root)
        os.makedirs(os.path.join(root, "bin"), exist_ok=True)
        if not os.path.exists(os.path.join(root, "bin/sh")):
            os.symlink(os.path.realpath(sh), os.path.join(root, "bin/sh"))
        with open(os.path.join(root, "etc/marker"), "w") as f:
            f.write("rootfs-marker\n")
        for dp, dns, fns in os.walk(self.dir):
            for n in dns:
                os.chmod(os.path.join(dp, n), 0o755)
        return root

    def test_minimal_rootfs_bind_read_only(self):
        root = self.minimal_rootfs()
        script = ("read m < /etc/marker; echo $m; "
                  "if (: > /newfile) 2>/dev/null; then echo root-writable; else echo root-ro; fi; "
                  "(: > /tmp/x) && echo tmp-ok; (: > /home/agent/x) && echo home-ok")
        r = amber_run(["/bin/sh", "-c", script], "--rootfs", root)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["rootfs-marker", "root-ro", "tmp-ok", "home-ok"])
        self.assertFalse(os.path.exists(os.path.join(root, "newfile")))
        self.assertEqual(os.listdir(os.path.join(root, "tmp")), [])

    def test_minimal_rootfs_overlay(self):
        root = self.minimal_rootfs()
        script = ("echo changed > /etc/marker && read m < /etc/marker && echo $m; "
                  "(: > /newfile) && echo new-ok")
        r = amber_run(["/bin/sh", "-c", script], "--rootfs", root, "--rootfs-mode", "overlay")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["changed", "new-ok"])
        with open(os.path.join(root, "etc/marker")) as f:
            self.assertEqual(f.read(), "rootfs-marker\n", "overlay wrote through to the rootfs")
        self.assertFalse(os.path.exists(os.path.join(root, "newfile")))

    def test_host_root_bind_read_only(self):
        r = amber_run(["sh", "-c", "touch /amber-it-x && echo touched || echo refused"],
                      "--rootfs", "/")
        self.assertEqual(r.returncode, 0, "--rootfs / did not start: " + r.stderr)
        self.assertEqual(r.stdout.strip(), "refused")
        self.assertFalse(os.path.exists("/amber-it-x"))

    def test_host_root_overlay_discarded(self):
        name = "/opt-amber-it-%d" % os.getpid()
        r = amber_run(["sh", "-c", "touch %s && ls %s" % (name, name)],
                      "--rootfs", "/", "--rootfs-mode", "overlay")
        if (not IS_ROOT and r.returncode == 125 and "overlay" in r.stderr
                and "Invalid argument" in r.stderr):
            # In a user namespace the kernel refuses an overlay whose lower
            # dir has mounts below it that are locked (inherited from the
            # host: /proc, /sys, /dev... under /): clone_private_mount()
            # returns EINVAL ("overlayfs: failed to clone lowerpath").
            skip(self, "kernel: rootless overlay over / (locked submounts) is EINVAL: "
                 + r.stderr.strip())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), name)
        self.assertFalse(os.path.exists(name), "overlay write reached the host")

    def test_symlinked_tmp_refused(self):
        root = os.path.join(self.dir, "root")
        outside = os.path.join(self.dir, "outside")
        for d in ("dev", "proc", "home/agent", "usr"):
            os.makedirs(os.path.join(root, d))
        os.makedirs(outside)
        os.chmod(outside, 0o777)
        os.symlink(outside, os.path.join(root, "tmp"))
        for dp, dns, fns in os.walk(self.dir):
            for n in dns:
                os.chmod(os.path.join(dp, n), 0o755)
        for mode in ("bind", "overlay"):
            with self.subTest(mode=mode):
                before = os.stat(outside)
                r = amber_run(["true"], "--rootfs", root, "--rootfs-mode", mode)
                self.assertEqual(r.returncode, 125, r.stderr)
                self.assertIn("tmp", r.stderr)
                self.assertEqual(os.listdir(outside), [])
                after = os.stat(outside)
                self.assertEqual((before.st_mode, before.st_mtime_ns),
                                 (after.st_mode, after.st_mtime_ns))
        # The outside dir is not a mountpoint now either.
        with open("/proc/self/mountinfo") as f:
            self.assertNotIn(outside, f.read())

    def test_symlinked_dev_refused(self):
        root = os.path.join(self.dir, "root")
        outside = os.path.join(self.dir, "outside")
        for d in ("proc", "tmp", "home/agent"):
            os.makedirs(os.path.join(root, d))
        os.makedirs(outside)
        os.symlink(outside, os.path.join(root, "dev"))
        for dp, dns, fns in os.walk(self.dir):
            for n in dns:
                os.chmod(os.path.join(dp, n), 0o755)
        r = amber_run(["true"], "--rootfs", root)
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertEqual(os.listdir(outside), [])


if __name__ == "__main__":
    unittest.main()
