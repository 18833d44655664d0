"""Host-escape battery, checked on the HOST.

test_escape.py asks the workload whether an attempt failed. Here every test
makes an attack from inside a sandbox (native `amber run`, `amber exec`, or
an OCI bundle from `amber spec`) and then looks at the host object the
attack aimed at: a host file's mode and mtime, a host pipe's read end, the
amber binary's content, the host's /dev/null, the caller's pty, a file's
owner on the host. Each attack is a small python3 snippet that prints one
line "RESULT {json}": "hits" lists every step that worked (an empty list
means the attack failed), "denied" what the kernel refused.

Race-type attacks loop. Tests that touch host objects shared with the rest
of the machine (/dev/null, /proc/slabinfo) record them first and restore
them in a cleanup. Attacks that could destroy the amber binary run a COPY
of it, in a temporary directory.

Environment:
  AMBER   the amber binary (default: <repo>/build/amber)
"""
import errno
import fcntl
import json
import os
import re
import platform
import pty
import pwd
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import termios
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import (AMBER, IS_ROOT, cgroup_leftovers, cgroups_usable, make_tmpdir,  # noqa: E402
                     pids_with_marker,
                     requires_root, sha256_file, skip, wait_for_line, write_file)
from test_escape import PRELUDE as ESCAPE_PRELUDE  # noqa: E402

TIMEOUT = 30

# On top of test_escape's PRELUDE (ctypes, libc, NR, sc): a collector, so one
# snippet can make several attempts and report all of them.
PRELUDE = ESCAPE_PRELUDE + r'''
import stat as _st
HITS, DENIED = [], []

def hit(what, note=''):
    HITS.append('%s: %s' % (what, note))

def denied(what, x):
    e = x.errno if isinstance(x, OSError) else x
    DENIED.append('%s: %s' % (what, errno.errorcode.get(e, e)))

def pid1_fds():
    """The fd numbers in /proc/1/fd (none if the listing is refused)."""
    try:
        return os.listdir('/proc/1/fd')
    except OSError as x:
        denied('/proc/1/fd', x)
        return []

def report(**extra):
    d = {'ok': bool(HITS), 'hits': HITS[:60], 'denied': DENIED[:60]}
    d.update(extra)
    print('RESULT ' + json.dumps(d), flush=True)

def memfd_or_report(name):
    """A memfd, or (memfd_create refused: the attack is stopped there)
    the report, and exit."""
    try:
        return os.memfd_create(name, 0)
    except OSError as x:
        denied('memfd_create', x)
        report()
        sys.exit(0)

def is_devnull(st):
    return _st.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)

def attack_pid(pid, secret):
    """/proc/PID/environ (the secret), /proc/PID/mem (a mapped address),
    /proc/PID/fd (readlink and open every entry)."""
    base = '/proc/%s' % pid
    try:
        env = open(base + '/environ', 'rb').read()
        if secret and secret.encode() in env:
            hit(base + '/environ', 'holds the secret from the host environment')
    except OSError as x:
        denied(base + '/environ', x)
    addr = None
    try:
        for line in open(base + '/maps'):
            rng, perms = line.split()[:2]
            if perms.startswith('r') and '[vvar' not in line and '[vsyscall' not in line:
                addr = int(rng.split('-')[0], 16)
                break
    except OSError as x:
        denied(base + '/maps', x)
    try:
        fd = os.open(base + '/mem', os.O_RDONLY)
        try:
            if addr is not None:
                data = os.pread(fd, 16, addr)
                if data:
                    hit(base + '/mem', 'read %d bytes at %#x' % (len(data), addr))
            else:
                hit(base + '/mem', 'opened')
        except OSError as x:
            denied(base + '/mem read', x)
        finally:
            os.close(fd)
    except OSError as x:
        denied(base + '/mem', x)
    try:
        names = os.listdir(base + '/fd')
    except OSError as x:
        denied(base + '/fd', x)
        names = []
    for n in names:
        p = '%s/fd/%s' % (base, n)
        t = '?'
        try:
            t = os.readlink(p)
            if t != '/dev/null':
                hit('readlink ' + p, t)
        except OSError as x:
            denied('readlink ' + p, x)
        for fl, nm in ((os.O_RDONLY, 'r'), (os.O_WRONLY, 'w')):
            try:
                fd = os.open(p, fl | os.O_NONBLOCK | os.O_NOCTTY)
            except OSError as x:
                denied('open(%s) %s' % (nm, p), x)
                continue
            st = os.fstat(fd)
            os.close(fd)
            if not is_devnull(st):
                hit('open(%s) %s' % (nm, p), t)

def same(st, ident):
    return ident is not None and (st.st_dev, st.st_ino) == tuple(ident)

def probe_leaked(paths, dir_id, pipe_id, victim, mark):
    """Each path: is it the host directory (open it, walk '..', chmod/utime
    the victim through it) or the host pipe (write the mark into it)?"""
    for p in paths:
        for fl, nm in ((os.O_RDONLY | os.O_DIRECTORY, 'rdonly'),
                       (os.O_PATH | os.O_DIRECTORY, 'path')):
            try:
                fd = os.open(p, fl)
            except OSError as x:
                denied('open(%s) %s' % (nm, p), x)
                continue
            if same(os.fstat(fd), dir_id):
                hit('host directory reachable as ' + p, nm)
                try:
                    os.chmod(victim, 0o777, dir_fd=fd)
                    hit('chmod of a host file through ' + p)
                except OSError as x:
                    denied('chmod via ' + p, x)
                try:
                    os.utime(victim, (1, 1), dir_fd=fd)
                    hit('utime of a host file through ' + p)
                except OSError as x:
                    denied('utime via ' + p, x)
                try:
                    up = os.open('..', os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                    hit("'..' of the host directory via " + p, os.listdir(up)[:8])
                    os.close(up)
                except OSError as x:
                    denied("'..' via " + p, x)
            os.close(fd)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as x:
            denied('open(w) ' + p, x)
            continue
        if same(os.fstat(fd), pipe_id):
            try:
                os.write(fd, mark)
                hit('wrote into the host pipe through ' + p)
            except OSError as x:
                denied('write ' + p, x)
        os.close(fd)
'''


def parse_result(test, r, what="attack"):
    """The RESULT object of a CompletedProcess-like r (stdout text)."""
    out = r.stdout if isinstance(r.stdout, str) else r.stdout.decode(errors="replace")
    for line in reversed(out.splitlines()):
        if line.startswith("SKIP "):
            skip(test, line[5:])
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    test.fail("%s: no RESULT line (exit %s): stdout=%r stderr=%r" % (
        what, r.returncode, out[-3000:], (r.stderr or "")[-3000:]))


def assertNoHits(test, res, what):
    """The attack's RESULT lists no step that worked."""
    hits = res.get("hits")
    if hits:
        test.fail("ESCAPE (%s): %d step(s) worked:\n    %s" % (what, len(hits),
                                                               "\n    ".join(hits[:25])))


def amber_cmd(args, amber=None, timeout=TIMEOUT, env=None, **kw):
    """`AMBER ARGS` (text, captured, cwd /, stdin /dev/null unless given)."""
    kw.setdefault("cwd", "/")
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([amber or AMBER] + [str(a) for a in args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, env=env, **kw)


def host_env(**extra):
    e = dict(os.environ)
    e.update(extra)
    return e


def new_secret():
    return "amber-it-secret-" + secrets.token_hex(8)


def leak_fds(test, victim_dir):
    """A host directory fd and a pipe's write end, both inheritable, at fd
    numbers 50 and 51 (so they collide with nothing inside). Returns
    (dirfd, pipe_read, pipe_write, dir_id, pipe_id)."""
    d = os.open(victim_dir, os.O_RDONLY | os.O_DIRECTORY)
    r, w = os.pipe()
    os.dup2(d, 50, inheritable=True)
    os.dup2(w, 51, inheritable=True)
    os.close(d)
    os.close(w)
    for fd in (50, 51, r):
        test.addCleanup(_close_quietly, fd)
    os.set_blocking(r, False)
    sd, sp = os.fstat(50), os.fstat(51)
    return 50, r, 51, [sd.st_dev, sd.st_ino], [sp.st_dev, sp.st_ino]


def _close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def drain(fd):
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        data += chunk
    return data


def make_victim(d, name="victim.txt"):
    """A host file, 0644, mtime 1e9: (path, (mode, mtime_ns))."""
    p = write_file(os.path.join(d, name), "host data\n", 0o644)
    os.utime(p, ns=(1_000_000_000 * 10**9, 1_000_000_000 * 10**9))
    return p, victim_state(p)


def victim_state(p):
    st = os.stat(p)
    return (stat.S_IMODE(st.st_mode), st.st_mtime_ns)


def arg(v):
    return json.dumps(v)


def loader():
    return {"x86_64": "/lib64/ld-linux-x86-64.so.2",
            "aarch64": "/lib/ld-linux-aarch64.so.1"}.get(platform.machine())


# --------------------------------------------------------------------------
# OCI bundles whose rootfs is the host's /usr (read-only), so python3 runs.
# --------------------------------------------------------------------------

def python_bundle(test, args, amber=None, edit=None, files=None):
    """A bundle from `amber spec` (as root: no user namespace) running ARGS,
    its rootfs: /usr bound read-only from the host, /bin /lib /lib64 /sbin
    symlinks into it, a minimal /etc. Returns the bundle directory."""
    b = os.path.join(make_tmpdir(test, "amber-he-bundle-"), "b")
    rf = os.path.join(b, "rootfs")
    for d in ("usr", "dev", "etc", "proc", "sys", "tmp", "root"):
        os.makedirs(os.path.join(rf, d), exist_ok=True)
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.isdir("/usr/" + link):
            os.symlink("usr/" + link, os.path.join(rf, link))
    write_file(os.path.join(rf, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
    write_file(os.path.join(rf, "etc/group"), "root:x:0:\n")
    for rel, (data, mode) in (files or {}).items():
        write_file(os.path.join(rf, rel.lstrip("/")), data, mode)
    r = amber_cmd(["spec", "--bundle", b], amber=amber)
    test.assertEqual(r.returncode, 0, r.stderr)
    with open(os.path.join(b, "config.json")) as f:
        cfg = json.load(f)
    cfg["process"]["args"] = list(args)
    cfg["mounts"].append({"destination": "/usr", "type": "bind", "source": "/usr",
                          "options": ["rbind", "ro", "nosuid", "nodev"]})
    if edit:
        edit(cfg)
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f)
    return b


class OciState:
    """A private --root and the containers made in it; cleanup deletes them
    (with the real AMBER: a test's binary copy may have been damaged)."""

    def __init__(self, test):
        self.test = test
        self.root = os.path.join(make_tmpdir(test, "amber-he-state-"), "state")
        self.ids = []
        test.addCleanup(self.cleanup)

    def new_id(self, name):
        cid = "he-%s-%s" % (secrets.token_hex(4), name)
        self.ids.append(cid)
        return cid

    def cmd(self, *args, amber=None, **kw):
        return amber_cmd(["--root", self.root, *args], amber=amber, **kw)

    def cleanup(self):
        for cid in self.ids:
            if os.path.exists(os.path.join(self.root, cid)):
                amber_cmd(["--root", self.root, "delete", "--force", cid])
            for pid in pids_with_marker(cid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def run_foreground(self, bundle, name, amber=None, timeout=TIMEOUT, **kw):
        cid = self.new_id(name)
        return self.cmd("run", "--bundle", bundle, cid, amber=amber, timeout=timeout, **kw)

    def run_detached(self, bundle, name, out_path, amber=None):
        """`run --detach`; the container's stdout and stderr go to out_path."""
        cid = self.new_id(name)
        with open(out_path, "w") as o:
            p = subprocess.run([amber or AMBER, "--root", self.root, "run", "--bundle", bundle,
                                "--detach", cid], stdin=subprocess.DEVNULL, stdout=o,
                               stderr=subprocess.STDOUT, cwd="/", timeout=TIMEOUT)
        if p.returncode != 0:
            with open(out_path) as f:
                self.test.fail("run --detach: exit %d: %s" % (p.returncode, f.read()))
        return cid

    def status(self, cid):
        r = self.cmd("state", cid)
        return json.loads(r.stdout)["status"] if r.returncode == 0 else "gone"

    def wait_stopped(self, cid, timeout=15):
        deadline = time.monotonic() + timeout
        while self.status(cid) not in ("stopped", "gone") and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.status(cid)


def amber_copy(test):
    """A private copy of the amber binary (what an attack on /proc/PID/exe
    may damage) and its sha256."""
    d = make_tmpdir(test, "amber-he-bin-")
    p = os.path.join(d, "amber")
    shutil.copy2(AMBER, p)
    os.chmod(p, 0o755)
    return p, sha256_file(p)


def detached(test, *run_args, amber=None, env=None):
    """`amber run -d --name N RUN_ARGS...`; removed (rm -f) at cleanup."""
    name = "amber-he-" + secrets.token_hex(4)
    r = amber_cmd(["run", "-d", "--name", name, *run_args], amber=amber, env=env)
    test.addCleanup(amber_cmd, ["rm", "-f", name])
    test.assertEqual(r.returncode, 0, r.stderr)
    return name


# ==========================================================================
# 1. PID 1 and inherited fds
# ==========================================================================

PID1_ATTACK = PRELUDE + r'''
secret = sys.argv[1]
attack_pid(1, secret)
report()
'''

LEAK_ATTACK = PRELUDE + r'''
secret, dir_id, pipe_id = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
mark = sys.argv[4].encode()
paths = []
try:
    paths += ['/proc/1/fd/' + n for n in os.listdir('/proc/1/fd')]
except OSError as x:
    denied('/proc/1/fd', x)
paths += [p for p in ('/proc/1/fd/50', '/proc/1/fd/51', '/proc/self/fd/50', '/proc/self/fd/51')
          if p not in paths]
probe_leaked(paths, dir_id, pipe_id, 'victim.txt', mark)
# the command's own fds: none of the caller's may be open here
for n in os.listdir('/proc/self/fd'):
    try:
        st = os.fstat(int(n))
    except OSError:
        continue
    if same(st, dir_id) or same(st, pipe_id):
        hit('fd %s of the caller is open in the workload' % n, os.readlink('/proc/self/fd/' + n))
attack_pid(1, secret)
report()
'''


class Pid1Exposure(unittest.TestCase):
    """Class 1: the native sandbox's PID 1 (amber's init) and the fds
    amber's caller leaked: nothing of the host reachable through
    /proc/1/{environ,mem,fd} or /proc/self/fd."""

    # strict-agent needs cgroup limits, which a user without a writable
    # cgroup tree cannot have (it refuses to start there).
    MODES = (("default", []),) + ((("strict-agent", ["--service-mode", "strict-agent"]),)
                                  if cgroups_usable()[0] else ())

    def test_cmdlines_name_no_host_path(self):
        """/proc/PID/cmdline needs no ptrace access: amber's init (and an
        entering exec, before it execs) must not show the caller's command
        line, with its host paths of volumes and secrets."""
        d = make_tmpdir(self, "amber-he-cmdline-")
        secret = os.path.join(d, "token")
        write_file(secret, "t0ken")
        code = ("import os\n"
                "for p in os.listdir('/proc'):\n"
                "    if p.isdigit():\n"
                "        print(open('/proc/%s/cmdline' % p, 'rb').read().replace(b'\\0', b' '))\n")
        r = amber_cmd(["run", "-v", "%s:/data:ro" % d, "--secret", "%s:tok" % secret, "--",
                       "python3", "-c", code])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("amber-init", r.stdout)
        self.assertNotIn(d, r.stdout, "a host path in a sandbox process's cmdline")

    def test_run_pid1_environ_mem_fds(self):
        """/proc/1/environ holds no secret from amber's own environment;
        /proc/1/mem cannot be read; /proc/1/fd entries cannot be followed."""
        for mode, args in self.MODES:
            with self.subTest(mode=mode):
                secret = new_secret()
                r = amber_cmd(["run", *args, "--", "python3", "-c", PID1_ATTACK, secret],
                              env=host_env(AMBER_IT_SECRET=secret))
                assertNoHits(self, parse_result(self, r), "amber run %s: /proc/1" % mode)

    def test_run_leaked_fds(self):
        """A host directory fd and a pipe leaked into amber (no O_CLOEXEC):
        neither reachable through /proc/1/fd/N or /proc/self/fd/N; the host
        file in that directory keeps its mode and mtime; nothing written
        from inside arrives at the pipe's host read end."""
        for mode, args in self.MODES:
            with self.subTest(mode=mode):
                d = make_tmpdir(self, "amber-he-leak-")
                victim, before = make_victim(d)
                _, rd, _, dir_id, pipe_id = leak_fds(self, d)
                mark = "AMBER-IT-INJECT-" + secrets.token_hex(4)
                secret = new_secret()
                r = amber_cmd(["run", *args, "--", "python3", "-c", LEAK_ATTACK, secret,
                               arg(dir_id), arg(pipe_id), mark],
                              env=host_env(AMBER_IT_SECRET=secret), pass_fds=(50, 51))
                res = parse_result(self, r)
                got = drain(rd)
                self.assertEqual(victim_state(victim), before,
                                 "host file changed through a leaked fd: %s" % res["hits"])
                self.assertNotIn(mark.encode(), got,
                                 "the workload wrote into the host pipe: %s" % res["hits"])
                assertNoHits(self, res, "amber run %s: leaked fds" % mode)
                for fd in (50, 51, rd):
                    _close_quietly(fd)

    def test_detached_and_exec(self):
        """`amber run -d` then `amber exec`: the detached workload cannot
        read PID 1's environ (amber's secret), the exec'd command attacks
        PID 1 and the fds its caller leaked, and none of those fds is open
        in the exec'd command."""
        for mode, args in self.MODES:
            with self.subTest(mode=mode):
                d = make_tmpdir(self, "amber-he-dexec-")
                victim, before = make_victim(d)
                run_secret = new_secret()
                workload = PRELUDE + r'''
import time
time.sleep(0.3)
attack_pid(1, sys.argv[1])
report()
time.sleep(60)
'''
                name = detached(self, *args, "--", "python3", "-c", workload, run_secret,
                                env=host_env(AMBER_IT_SECRET=run_secret))
                _, rd, _, dir_id, pipe_id = leak_fds(self, d)
                mark = "AMBER-IT-INJECT-" + secrets.token_hex(4)
                exec_secret = new_secret()
                r = amber_cmd(["exec", name, "--", "python3", "-c", LEAK_ATTACK, exec_secret,
                               arg(dir_id), arg(pipe_id), mark],
                              env=host_env(AMBER_IT_SECRET=exec_secret), pass_fds=(50, 51))
                res = parse_result(self, r, "amber exec")
                got = drain(rd)
                # the detached workload's own attack, from its log
                deadline = time.monotonic() + 5
                while True:
                    logs = amber_cmd(["logs", name])
                    if "RESULT " in logs.stdout or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                wres = parse_result(self, logs, "detached workload")
                self.assertEqual(victim_state(victim), before,
                                 "host file changed: %s" % res["hits"])
                self.assertNotIn(mark.encode(), got, "exec'd command wrote into the host pipe")
                assertNoHits(self, res, "amber exec (%s): PID 1 and leaked fds" % mode)
                assertNoHits(self, wres, "amber run -d (%s): workload on PID 1" % mode)
                for fd in (50, 51, rd):
                    _close_quietly(fd)


# ==========================================================================
# 2. copy modes: host directory and pipe fds in PID 1
# ==========================================================================

DIRFD_ATTACK = PRELUDE + r'''
rels = json.loads(sys.argv[1])     # the victim, relative to a host directory we might reach
tried = 0
names = pid1_fds()
for n in names:
    p = '/proc/1/fd/' + n
    for fl, nm in ((os.O_RDONLY | os.O_DIRECTORY, 'rdonly'), (os.O_PATH | os.O_DIRECTORY, 'path')):
        try:
            fd = os.open(p, fl)
        except OSError as x:
            denied('open(%s) %s' % (nm, p), x)
            continue
        tried += 1
        bases = [(fd, '')]
        for flu in (os.O_RDONLY | os.O_DIRECTORY, os.O_PATH | os.O_DIRECTORY):
            try:
                bases.append((os.open('..', flu, dir_fd=fd), '../'))
                break
            except OSError as x:
                denied("'..' of " + p, x)
        for bfd, pre in bases:
            for rel in rels:
                try:
                    os.chmod(rel, 0o777, dir_fd=bfd)
                    hit('chmod %s%s via %s' % (pre, rel, p), nm)
                except OSError as x:
                    denied('chmod %s%s via %s' % (pre, rel, p), x)
                try:
                    os.utime(rel, (1, 1), dir_fd=bfd)
                    hit('utime %s%s via %s' % (pre, rel, p), nm)
                except OSError as x:
                    denied('utime %s%s via %s' % (pre, rel, p), x)
report(dirs=tried)
'''

FORGE_ATTACK = PRELUDE + r'''
import hashlib
with open('/workspace/ok.txt', 'w') as f:
    f.write('legit\n')
def entry(t, mode, path, body=b''):
    p = path.encode()
    return bytes([ord(t), 0, 0, 0]) + struct.pack('>II', mode, len(p)) + p + body
def fentry(path, data):
    return entry('F', 0o644, path, struct.pack('>Q', len(data)) + data)
ents = fentry('a.txt', b'orig\n') + fentry('forged.txt', b'FORGED\n') + fentry('ok.txt', b'legit\n')
end = b'E\0\0\0' + struct.pack('>II', 0, 0) + hashlib.sha256(ents).digest()
stream = b'AMBTREE\x01' + ents + end
garbage = b'\xffgarbage' * 64
names = pid1_fds()
for n in names:
    if n in ('0', '1', '2'):
        continue
    p = '/proc/1/fd/' + n
    try:
        if not os.readlink(p).startswith('pipe:'):
            continue
        info = [l for l in open('/proc/1/fdinfo/' + n) if l.startswith('flags:')]
        flags = int(info[0].split()[1], 8)
    except (OSError, IndexError) as x:
        denied('inspect ' + p, x if isinstance(x, OSError) else errno.EIO)
        continue
    if flags & os.O_ACCMODE != os.O_WRONLY:
        continue
    try:
        fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, stream)
        os.close(fd)
        hit('forged a sync-back stream into ' + p)
    except OSError as x:
        denied('write ' + p, x)
report()
'''


class CopyModeHostFds(unittest.TestCase):
    """Class 2: --context (copy) and --workspace copy-in-out: the host
    directory and pipe fds amber holds for the copies are out of the
    workload's reach."""

    def dirfd_attack(self, make_args):
        t = make_tmpdir(self, "amber-he-copy-")
        src = os.path.join(t, "tree")
        write_file(os.path.join(src, "a.txt"), "orig\n", 0o644)
        victim, before = make_victim(t)
        r = amber_cmd(["run", *make_args(src), "--", "python3", "-c", DIRFD_ATTACK,
                       arg(["victim.txt", "../victim.txt", "a.txt"])])
        res = parse_result(self, r)
        self.assertEqual(victim_state(victim), before,
                         "host file %s changed (mode, mtime) from inside: %s"
                         % (victim, res["hits"]))
        st = os.stat(os.path.join(src, "a.txt"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644, "host source file chmod'ed from inside")
        assertNoHits(self, res, "host directory fd in PID 1")

    def test_context_copy_dirfd(self):
        """--context DIR: no host directory fd reachable through /proc/1/fd;
        a host file next to DIR keeps its mode and mtime."""
        self.dirfd_attack(lambda src: ["--context", src])

    def test_copy_in_out_dirfd(self):
        """--workspace DIR --workspace-mode copy-in-out: the same."""
        self.dirfd_attack(lambda src: ["--workspace", src, "--workspace-mode", "copy-in-out"])

    def test_copy_in_out_forged_stream(self):
        """A forged sync-back stream written into PID 1's pipes does not
        reach the host: afterwards the host workspace holds exactly what
        the workload legitimately wrote."""
        ws = os.path.join(make_tmpdir(self, "amber-he-ws-"), "ws")
        write_file(os.path.join(ws, "a.txt"), "orig\n", 0o644)
        r = amber_cmd(["run", "--workspace", ws, "--workspace-mode", "copy-in-out", "--",
                       "python3", "-c", FORGE_ATTACK])
        res = parse_result(self, r)
        got = {}
        for root, _, files in os.walk(ws):
            for f in files:
                p = os.path.join(root, f)
                with open(p) as fh:
                    got[os.path.relpath(p, ws)] = fh.read()
        self.assertEqual(got, {"a.txt": "orig\n", "ok.txt": "legit\n"},
                         "host workspace after the run (exit %d, %r; attack: %s)"
                         % (r.returncode, r.stderr.strip()[-300:], res["hits"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        assertNoHits(self, res, "forged sync-back stream")


# ==========================================================================
# 3. entering a running sandbox: /proc/PID of the process amber exec starts
# ==========================================================================

SCANNER = PRELUDE + r'''
import time
secret = sys.argv[1].encode()
deadline = time.time() + float(sys.argv[2])
me = os.getpid()
mine = {me, os.getppid()}
seen, kept = set(), {}
counts = {}
def deny(what, x):
    k = '%s %s' % (what, errno.errorcode.get(x.errno, x.errno))
    counts[k] = counts.get(k, 0) + 1
own_exe = os.readlink('/proc/self/exe')
print('SCANNING', flush=True)
while time.time() < deadline and not os.path.exists('/tmp/amber-it-stop'):
    for p in os.listdir('/proc'):
        if not p.isdigit() or int(p) in mine or p == '1':
            continue
        base = '/proc/' + p
        try:
            fd = os.open(base + '/exe', os.O_PATH)
            try:
                t = os.readlink('/proc/self/fd/%d' % fd)
            except OSError:
                os.close(fd)
                raise
            if t != own_exe and t not in kept.values():
                # Keeping an O_PATH to another program's binary is no
                # escape by itself; to amber's own (on the host's disk,
                # not its sealed memfd copy) it is the CVE-2019-5736 setup.
                kept[fd] = t
                if t.endswith('/amber') and not t.startswith('/memfd:'):
                    hit('O_PATH of %s/exe kept' % base, t)
            else:
                os.close(fd)
        except OSError as x:
            deny('exe', x)
        if p in seen:
            continue
        seen.add(p)
        # amber's own process (the one entering, before it execs) shows
        # amber's command line; after the exec it is the command the caller
        # asked for (with the shebang trick: amber's binary as the
        # container's own program, with the container's environment), whose
        # memory and stdio are the container's to see.
        try:
            argv = open(base + '/cmdline', 'rb').read().split(b'\0')
        except OSError:
            argv = []
        amber_own = len(argv) > 2 and argv[0].endswith(b'amber') and b'exec' in argv[1:4]
        try:
            if secret in open(base + '/environ', 'rb').read():
                hit(base + '/environ', 'holds the secret of the amber exec caller')
        except OSError as x:
            deny('environ', x)
        try:
            m = os.open(base + '/mem', os.O_RDONLY)
            os.close(m)
            if amber_own:
                hit(base + '/mem', 'opened')
        except OSError as x:
            deny('mem', x)
        try:
            fds = os.listdir(base + '/fd')
            links = [os.readlink('%s/fd/%s' % (base, f)) for f in fds]
            if amber_own:
                hit(base + '/fd', links[:6])
        except OSError as x:
            deny('fd', x)
    # after the entering process has gone: reopen for writing
    for k in list(kept):
        try:
            w = os.open('/proc/self/fd/%d' % k, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(w, b'AMBER-IT-PWNED')
            finally:
                os.close(w)
            hit('wrote through the kept exe fd', kept.pop(k))
        except OSError as x:
            deny('reopen exe for write', x)
report(seen=len(seen), denied_counts=counts)
'''


class ExecEntry(unittest.TestCase):
    """Class 3: a process already in the sandbox watches every process
    `amber exec` starts and attacks it (/proc/PID/environ, mem, fd, and the
    CVE-2019-5736 pattern on /proc/PID/exe); the amber binary (a copy) is
    unchanged afterwards."""

    LOOPS = 20

    @requires_root
    def test_native_exec_scanner(self):
        """Native `amber run -d` + a scanner started with `amber exec`,
        while 20 more `amber exec` run with a secret in their environment."""
        amber, digest = amber_copy(self)
        name = detached(self, "--", "sleep", "120", amber=amber)
        secret = new_secret()
        scan = subprocess.Popen([amber, "exec", name, "--", "python3", "-c", SCANNER, secret, "20"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd="/")
        self.addCleanup(lambda: scan.poll() is None and scan.kill())
        wait_for_line(scan.stdout, "SCANNING")
        for _ in range(self.LOOPS):
            amber_cmd(["exec", name, "--", "true"], amber=amber,
                      env=host_env(AMBER_IT_SECRET=secret))
        amber_cmd(["exec", name, "--", "touch", "/tmp/amber-it-stop"], amber=amber)
        out, err = scan.communicate(timeout=TIMEOUT)
        res = parse_result(self, subprocess.CompletedProcess([], scan.returncode, out, err))
        self.assertEqual(sha256_file(amber), digest, "the amber binary was modified from inside: %s"
                         % res["hits"])
        assertNoHits(self, res, "scanner in the sandbox on amber exec's processes")

    def oci_scanner(self, exec_args, files=None):
        amber, digest = amber_copy(self)
        secret = new_secret()
        b = python_bundle(self, ["python3", "-c", SCANNER, secret, "25"], amber=amber, files=files)
        st = OciState(self)
        out = os.path.join(make_tmpdir(self, "amber-he-out-"), "out")
        cid = st.run_detached(b, "scan", out, amber=amber)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(out) as f:
                if "SCANNING" in f.read():
                    break
            time.sleep(0.05)
        for _ in range(self.LOOPS):
            st.cmd("exec", cid, *exec_args, amber=amber, env=host_env(AMBER_IT_SECRET=secret))
        # stop the scanner (the real binary: the copy may be damaged by now)
        st.cmd("exec", cid, "/usr/bin/touch", "/tmp/amber-it-stop")
        st.wait_stopped(cid)
        with open(out) as f:
            text = f.read()
        res = parse_result(self, subprocess.CompletedProcess([], 0, text, ""), "container scanner")
        self.assertEqual(sha256_file(amber), digest,
                         "the host's amber binary was modified from the container: %s"
                         % res["hits"])
        assertNoHits(self, res, "container scanner on amber exec's processes")

    @requires_root
    def test_oci_exec_scanner(self):
        """OCI container from `amber spec`: a scanner in it attacks every
        process of 20 `amber exec ID true`."""
        self.oci_scanner(["true"])

    @requires_root
    def test_oci_exec_proc_self_exe_shebang(self):
        """CVE-2019-5736: the exec target is a script `#!/proc/self/exe`,
        so the new process runs amber's own binary inside the container;
        the scanner must not get it open for writing."""
        self.oci_scanner(["/root/evil"], files={"root/evil": ("#!/proc/self/exe\n", 0o755)})


# ==========================================================================
# 4. device nodes and /proc metadata
# ==========================================================================

# t(what, fn): an attempt that must raise OSError.
TRY = r'''
def t(what, fn):
    try:
        fn()
        hit(what)
    except OSError as x:
        denied(what, x)
'''

DEVMETA_ATTACK = PRELUDE + TRY + r'''
t('chmod /dev/null 0600', lambda: os.chmod('/dev/null', 0o600))
t('utime /dev/null', lambda: os.utime('/dev/null', (1000, 1000)))
if os.path.exists('/proc/slabinfo'):
    t('chmod /proc/slabinfo 0444', lambda: os.chmod('/proc/slabinfo', 0o444))
t('setxattr /dev/null user.x', lambda: os.setxattr('/dev/null', 'user.x', b'1'))
report()
'''


SUBMOUNT_ATTACK = PRELUDE + TRY + r'''
t('chmod /v/sub/f', lambda: os.chmod('/v/sub/f', 0o777))
t('utime /v/sub/f', lambda: os.utime('/v/sub/f', (1000, 1000)))
t('write /v/sub/f', lambda: open('/v/sub/f', 'a').write('x'))
t('create /v/sub/new', lambda: open('/v/sub/new', 'w').close())
t('setxattr /v/sub/f', lambda: os.setxattr('/v/sub/f', 'user.x', b'1'))
report()
'''


def tmpfs_with_file(test, where, name):
    """A tmpfs mounted at where (unmounted at cleanup) holding a root-owned
    file: mode 0644, mtime 5000, contents "host\\n". Returns its path."""
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", where],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip(test, "cannot mount a tmpfs for the test: %s" % r.stderr.strip())
    test.addCleanup(subprocess.run, ["umount", "-l", where])
    f = os.path.join(where, name)
    with open(f, "w") as fh:
        fh.write("host\n")
    os.chmod(f, 0o644)
    os.utime(f, (5000, 5000))
    return f


class ReadOnlyVolumeSubmount(unittest.TestCase):
    """Class 4: a read-only volume whose host directory has a mount below
    it: the submount is read-only in the sandbox too (a recursive bind
    carries every submount; each must get the volume's flags)."""

    @requires_root
    def test_submount_of_a_read_only_volume(self):
        d = make_tmpdir(self, "amber-he-rosub-")
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        f = tmpfs_with_file(self, sub, "f")
        for mode in ([], ["--service-mode", "strict-agent"], ["--userns", "host"]):
            with self.subTest(mode=mode or "default"):
                res = parse_result(self, amber_cmd(["run", *mode, "-v", "%s:/v:ro" % d, "--",
                                                    "python3", "-c", SUBMOUNT_ATTACK]))
                st = os.stat(f)
                self.assertEqual((st.st_mode & 0o7777, int(st.st_mtime)), (0o644, 5000),
                                 "the host file changed: %s" % res)
                with open(f) as fh:
                    self.assertEqual(fh.read(), "host\n")
                self.assertFalse(os.path.exists(os.path.join(sub, "new")))
                assertNoHits(self, res, "writes through a read-only volume's submount")


class RootfsSubmount(unittest.TestCase):
    """Class 4/5: a --rootfs whose tree has a writable mount below it: in
    the sandbox that submount is read-only too, and root-owned files there
    are not the sandbox root's to chmod (the rootfs is idmapped through the
    sandbox's own maps)."""

    @requires_root
    def test_submount_of_the_rootfs(self):
        d = make_tmpdir(self, "amber-he-rootsub-")
        # Under /var/tmp: amber's own /tmp would cover a path under /tmp.
        base = os.path.join("/var/tmp", os.path.basename(d))
        os.makedirs(base)
        self.addCleanup(shutil.rmtree, base, True)
        f = tmpfs_with_file(self, base, "rootfile")
        code = PRELUDE + TRY + r'''
import sys
p = sys.argv[1]
t('chmod', lambda: os.chmod(p, 0o666))
t('utime', lambda: os.utime(p, (1000, 1000)))
t('setxattr', lambda: os.setxattr(p, 'user.x', b'1'))
report()
'''
        res = parse_result(self, amber_cmd(["run", "--rootfs", "/", "--", "python3", "-c", code, f]))
        st = os.stat(f)
        self.assertEqual((st.st_mode & 0o7777, int(st.st_mtime)), (0o644, 5000),
                         "the host file changed: %s" % res)
        assertNoHits(self, res, "metadata changes through a --rootfs submount")

    @requires_root
    def test_strict_agent_refuses_a_map_onto_host_root(self):
        r = amber_cmd(["run", "--service-mode", "strict-agent", "--uidmap", "0:0:1",
                       "--gidmap", "0:0:1", "--", "true"])
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("--uidmap 0:0:1", r.stderr)


def fresh_proc(test, script, *names):
    """Run `script` (sh, $@ = names) in the directory of a fresh procfs
    mount in a private mount namespace: the host's own /proc caches its
    inodes, so a mode changed through another procfs instance shows only
    there."""
    d = make_tmpdir(test, "amber-he-proc-")
    r = subprocess.run(["unshare", "-m", "sh", "-c",
                        'mount -t proc proc "$0" && cd "$0" && ' + script, d, *names],
                       capture_output=True, text=True)
    return r.stdout.split()


def proc_modes(test, *names):
    return fresh_proc(test, 'for e in "$@"; do stat -c %a "$e"; done', *names)


def restore_proc_modes(test, names, modes):
    for name, mode in zip(names, modes):
        fresh_proc(test, 'chmod %s "$1"' % mode, name)


class DeviceAndProcMetadata(unittest.TestCase):
    """Class 4: chmod/utime/setxattr of /dev/null and chmod of
    /proc/slabinfo from inside leave the host's objects unchanged."""

    def host_state(self):
        st = os.stat("/dev/null")
        slab = (proc_modes(self, "slabinfo") or [None])[0] if os.path.exists("/proc/slabinfo") \
            else None
        try:
            x = os.getxattr("/dev/null", "user.x")
        except OSError:
            x = None
        return {"null_mode": stat.S_IMODE(st.st_mode), "null_mtime": st.st_mtime_ns,
                "slab_mode": slab, "null_xattr": x}

    def protect_host(self):
        """Record the host objects and restore them at cleanup, so the host
        stays usable whatever the attack did."""
        st = os.stat("/dev/null")
        slab = proc_modes(self, "slabinfo") if os.path.exists("/proc/slabinfo") else []

        def restore():
            if stat.S_IMODE(os.stat("/dev/null").st_mode) != stat.S_IMODE(st.st_mode):
                os.chmod("/dev/null", stat.S_IMODE(st.st_mode))
            os.utime("/dev/null", ns=(st.st_atime_ns, st.st_mtime_ns))
            try:
                os.removexattr("/dev/null", "user.x")
            except OSError:
                pass
            if slab and proc_modes(self, "slabinfo") != slab:
                restore_proc_modes(self, ["slabinfo"], slab)
        self.addCleanup(restore)
        return self.host_state()

    def check(self, before, res, what):
        after = self.host_state()
        self.assertEqual(after, before, "%s changed the HOST's objects: %s" % (what, res["hits"]))
        assertNoHits(self, res, what)

    @requires_root
    def test_native(self):
        """`amber run` (default mode, as root)."""
        before = self.protect_host()
        r = amber_cmd(["run", "--", "python3", "-c", DEVMETA_ATTACK])
        self.check(before, parse_result(self, r), "amber run")

    @requires_root
    def test_oci_image_with_proc_a_symlink(self):
        """An image whose /proc is a symlink (procfs then lands elsewhere):
        its global entries are still locked (host's /proc/version mode)."""
        names = ["version"]
        before = proc_modes(self, *names)
        self.addCleanup(lambda: proc_modes(self, *names) != before and
                        restore_proc_modes(self, names, before))
        attack = PRELUDE + TRY + "t('chmod /proc/version', lambda: os.chmod('/proc/version', 0o440))\nreport()\n"
        b = python_bundle(self, ["python3", "-c", attack])
        rf = os.path.join(b, "rootfs")
        os.rmdir(os.path.join(rf, "proc"))
        os.mkdir(os.path.join(rf, "realproc"))
        os.symlink("realproc", os.path.join(rf, "proc"))
        r = OciState(self).run_foreground(b, "procsym")
        res = parse_result(self, r)
        self.assertEqual(proc_modes(self, *names), before, "the host's /proc changed: %s" % res)
        assertNoHits(self, res, "chmod through a symlinked /proc")

    @requires_root
    def test_oci_spec_bundle(self):
        """An OCI container from `amber spec` (its /dev/null is bound from the host)."""
        before = self.protect_host()
        b = python_bundle(self, ["python3", "-c", DEVMETA_ATTACK])
        r = OciState(self).run_foreground(b, "devmeta")
        self.check(before, parse_result(self, r), "OCI container")


# ==========================================================================
# 5. root inside is not root on the host
# ==========================================================================

class RootIdentity(unittest.TestCase):
    """Class 5: default mode as root: uid 0 inside is not the host's root."""

    @requires_root
    def test_volume_file_owner(self):
        """A file the workload writes into a writable --volume whose host
        directory belongs to a non-root user (mode 0777, so any uid may
        create files in it) is not owned by host root: it belongs to the
        directory's owner (or the write is refused)."""
        try:
            owner = pwd.getpwnam("amber-test").pw_uid
        except KeyError:
            owner = 1000
        d = make_tmpdir(self, "amber-he-vol-")
        os.chown(d, owner, owner)
        os.chmod(d, 0o777)
        r = amber_cmd(["run", "-v", "%s:/v" % d, "--", "python3", "-c", PRELUDE + r'''
try:
    open('/v/made-inside', 'w').write('x')
    hit('wrote /v/made-inside')
except OSError as x:
    denied('write', x)
report(uid=os.getuid())
'''])
        res = parse_result(self, r)
        p = os.path.join(d, "made-inside")
        if os.path.exists(p):
            st = os.stat(p)
            self.assertNotEqual(st.st_uid, 0, "the workload's file in a volume owned by uid %d "
                                "is owned by host root" % owner)
            self.assertEqual((st.st_uid, st.st_gid), (owner, owner),
                             "the workload's file in a volume owned by uid %d is owned by "
                             "%d:%d on the host" % (owner, st.st_uid, st.st_gid))
        else:
            self.assertFalse(res["ok"], res)

    @requires_root
    def test_uid_map_not_host_identity(self):
        """/proc/self/uid_map inside is not the identity map of host root."""
        r = amber_cmd(["run", "--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.splitlines():
            f = line.split()
            self.assertFalse(len(f) == 3 and f[0] == "0" and f[1] == "0",
                             "uid 0 inside is host uid 0: map line %r" % line.strip())


# ==========================================================================
# 6. OCI: the caller's terminal, user namespaces under amber spec's seccomp
# ==========================================================================

TIOCSTI_ATTACK = PRELUDE + r'''
import fcntl, termios
for name, opener in (('fd 0', lambda: 0), ('/dev/tty', lambda: os.open('/dev/tty', os.O_RDWR))):
    try:
        fd = opener()
        for ch in (90, 81, 74, 10):         # "ZQJ\n", never printed by this snippet
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([ch]))
        hit('TIOCSTI through ' + name)
    except OSError as x:
        denied('TIOCSTI through ' + name, x)
report(sid=os.getsid(0))
'''

# The host side of the pty: runs amber, then reads what is pending in the
# terminal's input queue (the session leader is this wrapper).
PTY_WRAPPER = r'''
import os, subprocess, sys, termios
r = subprocess.run(sys.argv[1:])
a = termios.tcgetattr(0)
a[3] &= ~(termios.ICANON | termios.ECHO)
a[6][termios.VMIN] = 0
a[6][termios.VTIME] = 0
termios.tcsetattr(0, termios.TCSANOW, a)
pending = os.read(0, 4096)
print('\nPENDING %s EXIT %d' % (pending.hex(), r.returncode), flush=True)
'''

USERNS_ATTACK = PRELUDE + r'''
def child(r, e, what):
    if r == 0:
        os._exit(0)
    if r > 0:
        os.waitpid(r, 0)
        hit(what, 'child %d' % r)
    else:
        denied(what, e)
r, e = sc('clone', 0x10000000 | 17, 0, 0, 0, 0)
child(r, e, 'clone(CLONE_NEWUSER)')
args = struct.pack('QQQQQQQQ', 0x10000000, 0, 0, 0, 17, 0, 0, 0)
buf = ctypes.create_string_buffer(args)
r, e = sc('clone3', buf, len(args))
child(r, e, 'clone3(CLONE_NEWUSER)')
r, e = sc('unshare', 0x10000000)
if r == 0:
    hit('unshare(CLONE_NEWUSER)')
else:
    denied('unshare(CLONE_NEWUSER)', e)
report()
'''


class OciTerminalAndUserns(unittest.TestCase):
    """Class 6: an `amber spec` bundle without a terminal, run from a
    process whose controlling terminal is a pty, cannot push input into
    that pty; under the profile `amber spec` writes, no user namespace can
    be made."""

    @requires_root
    def test_tiocsti_into_callers_pty(self):
        """TIOCSTI on fd 0 and /dev/tty: nothing arrives in the caller's pty
        (neither echoed on the master nor pending in its input queue)."""
        b = python_bundle(self, ["python3", "-c", TIOCSTI_ATTACK])
        st = OciState(self)
        cid = st.new_id("tiocsti")
        pid, master = pty.fork()   # the child: a new session, the pty its controlling tty
        if pid == 0:
            try:
                os.execv(sys.executable, [sys.executable, "-c", PTY_WRAPPER, AMBER,
                                          "--root", st.root, "run", "--bundle", b, cid])
            finally:
                os._exit(127)
        self.addCleanup(_close_quietly, master)
        out = b""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if not r:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        text = out.decode(errors="replace")
        self.assertIn("PENDING", text, "the pty wrapper did not finish: %r" % text)
        m = re.search(r"PENDING ([0-9a-f]*) EXIT", text)
        self.assertIsNotNone(m, "no PENDING line: %r" % text)
        pending = bytes.fromhex(m.group(1))
        res = parse_result(self, subprocess.CompletedProcess([], 0, text.replace("\r", ""), ""))
        self.assertNotIn(b"ZQJ", pending + out.split(b"RESULT")[0],
                         "bytes injected into the caller's pty (pending %r, echoed %r)"
                         % (pending, out[:200]))
        assertNoHits(self, res, "TIOCSTI into the caller's terminal")

    @requires_root
    def test_userns_under_spec_seccomp(self):
        """clone and clone3 with CLONE_NEWUSER, unshare(CLONE_NEWUSER)."""
        b = python_bundle(self, ["python3", "-c", USERNS_ATTACK])
        r = OciState(self).run_foreground(b, "userns")
        res = parse_result(self, r)
        assertNoHits(self, res, "user namespace under amber spec's seccomp profile")


# ==========================================================================
# 7. executing what the workload wrote (native default mode)
# ==========================================================================

class WrittenCodeExecution(unittest.TestCase):
    """Class 7: nothing the workload wrote can run: not directly, not
    through the dynamic loader, not from a memfd, not as an RX mapping,
    not through a read-only alias of a writable volume."""

    def attack(self, code, *args):
        r = amber_cmd(["run", *args, "--", "python3", "-c", PRELUDE + code])
        return parse_result(self, r)

    def test_loader_and_direct_exec_of_written_files(self):
        """/bin/true copied to /tmp, /dev/shm, the home: run directly and
        through the dynamic loader."""
        ld = loader()
        if ld is None:
            skip(self, "no known dynamic loader path for %s" % platform.machine())
        for where in ("/tmp", "/dev/shm", "/home/agent"):
            with self.subTest(where=where):
                res = self.attack_at(ld, where)
                assertNoHits(self, res, "exec of a file written to " + where)

    def attack_at(self, ld, where):
        code = PRELUDE + r'''
import shutil, subprocess
ld, d = sys.argv[1], sys.argv[2]
t = d + '/t'
shutil.copy('/bin/true', t)
os.chmod(t, 0o755)
for argv in ([t], [ld, t]):
    try:
        r = subprocess.run(argv, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            hit('ran ' + ' '.join(argv))
        else:
            denied(' '.join(argv), r.returncode)
    except OSError as x:
        denied(' '.join(argv), x)
report()
'''
        return parse_result(self, amber_cmd(["run", "--", "python3", "-c", code, ld, where]))

    def test_memfd_exec(self):
        """An ELF in a memfd: exec /proc/self/fd/N, execveat(AT_EMPTY_PATH)."""
        res = self.attack(r'''
import subprocess
fd = memfd_or_report('amber-it')
os.write(fd, open('/bin/true', 'rb').read())
try:
    r = subprocess.run(['/proc/self/fd/%d' % fd], pass_fds=(fd,))
    if r.returncode == 0:
        hit('exec /proc/self/fd/N of a memfd')
    else:
        denied('exec memfd', r.returncode)
except OSError as x:
    denied('exec /proc/self/fd/N', x)
pid = os.fork()
if pid == 0:
    libc.syscall.argtypes = None
    NR_execveat = {'x86_64': 322, 'aarch64': 281}.get(platform.machine())
    if NR_execveat:
        argv = (ctypes.c_char_p * 2)(b'true', None)
        envp = (ctypes.c_char_p * 1)(None)
        libc.syscall(ctypes.c_long(NR_execveat), ctypes.c_long(fd), b'', argv, envp,
                     ctypes.c_long(0x1000))   # AT_EMPTY_PATH
    os._exit(100 + ctypes.get_errno() % 100)
_, st = os.waitpid(pid, 0)
if os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0:
    hit('execveat(memfd, AT_EMPTY_PATH)')
else:
    denied('execveat(memfd)', os.WEXITSTATUS(st) - 100 if os.WIFEXITED(st) else -1)
report()
''')
        assertNoHits(self, res, "exec of a memfd")

    def test_memfd_double_mapping(self):
        """One memfd mapped RW and then RX (W^X around the mprotect filter)."""
        res = self.attack(r'''
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
fd = memfd_or_report('amber-it')
os.ftruncate(fd, 4096)
rw = libc.mmap(None, 4096, 3, 1, fd, 0)          # PROT_READ|PROT_WRITE, MAP_SHARED
if rw in (None, ctypes.c_void_p(-1).value):
    denied('RW mapping', ctypes.get_errno())
rx = libc.mmap(None, 4096, 5, 1, fd, 0)          # PROT_READ|PROT_EXEC, MAP_SHARED
if rx in (None, ctypes.c_void_p(-1).value):
    denied('RX mapping of the same memfd', ctypes.get_errno())
else:
    hit('RX mapping of a memfd that is also mapped RW', hex(rx))
report()
''')
        assertNoHits(self, res, "W^X through a memfd mapped twice")

    def test_ro_alias_of_writable_volume(self):
        """-v D:/rw -v D/bin:/robin:ro: written as /rw/bin/x, run as /robin/x."""
        d = make_tmpdir(self, "amber-he-alias-")
        os.makedirs(os.path.join(d, "bin"))
        res = self.attack(r'''
import shutil, subprocess
shutil.copy('/bin/true', '/rw/bin/x')
os.chmod('/rw/bin/x', 0o755)
try:
    r = subprocess.run(['/robin/x'])
    if r.returncode == 0:
        hit('ran /robin/x, written as /rw/bin/x')
    else:
        denied('/robin/x', r.returncode)
except OSError as x:
    denied('/robin/x', x)
report()
''', "-v", "%s:/rw" % d, "-v", "%s/bin:/robin:ro" % d)
        assertNoHits(self, res, "exec through a read-only alias of a writable volume")


# ==========================================================================
# 8. defaults: memory, tmpfs sizes, process count, the caller's terminal
# ==========================================================================

def host_memtotal():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return None


def cgroup_memory_limit(amber_pid):
    """The memory limit of amber-<pid>'s cgroup (v1 or v2), None if unset."""
    for d in cgroup_leftovers(amber_pid):
        for f in ("memory.max", "memory.limit_in_bytes"):
            try:
                with open(os.path.join(d, f)) as fh:
                    v = fh.read().strip()
            except OSError:
                continue
            if v != "max" and int(v) < (1 << 60):
                return int(v)
    return None


class Defaults(unittest.TestCase):
    """Class 8: without flags a sandbox is bounded: memory, tmpfs sizes,
    processes (rootless too), and it leaves the caller's terminal as it
    was."""

    def test_memory_bounded_by_default(self):
        """Without --memory, 3 GiB cannot be allocated and touched."""
        r = amber_cmd(["run", "--timeout", "40", "--", "python3", "-c", r'''
n = 3 << 30
try:
    b = bytearray(n)
    b[::4096] = b'\x01' * len(range(0, n, 4096))
    print('ALLOCATED', len(b), flush=True)
except MemoryError:
    print('MemoryError', flush=True)
'''], timeout=60)
        self.assertNotIn("ALLOCATED", r.stdout,
                         "3 GiB allocated and touched without --memory (exit %d)" % r.returncode)

    def test_tmpfs_sizes_bounded(self):
        """/tmp, /dev/shm and the home: each no larger than the sandbox's
        memory limit, and not the kernel's default (half the host's RAM)."""
        code = r'''
import os, sys, time
print('SIZES', ' '.join(str(os.statvfs(p).f_blocks * os.statvfs(p).f_frsize)
                         for p in ('/tmp', '/dev/shm', os.environ.get('HOME', '/home/agent'))),
      flush=True)
sys.stdin.read()
'''
        half = host_memtotal() // 2
        for label, args, cap in (("default", [], None), ("--memory 256M", ["--memory", "256M"],
                                                         256 << 20)):
            with self.subTest(memory=label):
                p = subprocess.Popen([AMBER, "run", "-i", *args, "--", "python3", "-c", code],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd="/")
                try:
                    lines = wait_for_line(p.stdout, "SIZES")
                    limit = cgroup_memory_limit(p.pid) if IS_ROOT else None
                finally:
                    p.communicate(input="", timeout=TIMEOUT)
                sizes = [int(x) for x in lines[-1].split()[1:]]
                for where, size in zip(("/tmp", "/dev/shm", "home"), sizes):
                    bound = min(x for x in (cap, limit, half - 1) if x is not None)
                    self.assertLessEqual(size, bound,
                                         "%s: %s is %d MiB (memory limit %s, host RAM/2 %d MiB)"
                                         % (label, where, size >> 20,
                                            "none" if limit is None else "%d MiB" % (limit >> 20),
                                            half >> 20))

    def test_rootless_fork_bomb_bounded(self):
        """Rootless (as amber-test): a fork loop stops well below 5000."""
        if IS_ROOT:
            try:
                pwd.getpwnam("amber-test")
            except KeyError:
                skip(self, "as root this test runs amber as the user amber-test, which is missing")
            if shutil.which("runuser") is None:
                skip(self, "no runuser")
        d = make_tmpdir(self, "amber-he-rootless-")
        amber = os.path.join(d, "amber")
        shutil.copy2(AMBER, amber)
        os.chmod(amber, 0o755)
        marker = "amber-it-fork-" + secrets.token_hex(4)
        code = r'''
import json, os, sys, time
marker = sys.argv[1]
n, err, t0 = 0, None, time.time()
while n < 6000 and time.time() - t0 < 25:
    try:
        pid = os.fork()
    except OSError as x:
        err = x.errno
        break
    if pid == 0:
        try:
            os.execv('/usr/bin/sleep', [marker, '120'])
        finally:
            os._exit(1)
    n += 1
print('RESULT ' + json.dumps({'n': n, 'errno': err}), flush=True)
'''
        argv = [amber, "run", "--timeout", "45", "--", "python3", "-c", code, marker]
        if IS_ROOT:
            argv = ["runuser", "-u", "amber-test", "--", "env", "-i",
                    "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"] + argv

        def kill_leftovers():
            for pid in pids_with_marker(marker):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self.addCleanup(kill_leftovers)
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, cwd="/tmp", timeout=60)
        res = parse_result(self, r, "fork loop")
        deadline = time.monotonic() + 5
        while pids_with_marker(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = pids_with_marker(marker)
        kill_leftovers()
        self.assertEqual(left, [], "%d processes of the fork loop outlived the sandbox" % len(left))
        self.assertLess(res["n"], 5000, "rootless fork loop made %d processes (%s)"
                        % (res["n"], res["errno"] and errno.errorcode.get(res["errno"])))

    def test_no_reading_the_callers_terminal_without_tty(self):
        """Without -t, amber's stdout a pty (opened read-write, as shells
        do) and the user typing: the workload reads nothing through fd 1,
        fd 2 or /dev/tty, and O_NONBLOCK it sets does not stay on the
        caller's terminal."""
        code = r'''
import fcntl, os, time
got = []
time.sleep(0.3)
for fd in (1, 2):
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        got.append(os.read(fd, 100))
    except OSError as x:
        pass
try:
    t = os.open('/dev/tty', os.O_RDONLY | os.O_NONBLOCK)
    got.append(os.read(t, 100))
except OSError:
    pass
print('GOT', [g for g in got if g], flush=True)
'''
        master, slave = os.openpty()
        try:
            p = subprocess.Popen([AMBER, "run", "--", "python3", "-c", code], stdin=subprocess.DEVNULL,
                                 stdout=slave, stderr=slave, cwd="/")
            os.write(master, b"typed-secret\n")
            p.wait(timeout=TIMEOUT)
            flags = fcntl.fcntl(slave, fcntl.F_GETFL)
            os.set_blocking(master, False)
            out = drain(master)
        finally:
            os.close(slave)
            os.close(master)
        self.assertIn(b"GOT []", out, "the workload read the caller's terminal: %r" % out)
        self.assertFalse(flags & os.O_NONBLOCK, "O_NONBLOCK left on the caller's terminal")

    def test_pty_termios_unchanged_without_tty(self):
        """Without -t, with amber's stdin and stdout a pty: the workload
        turns echo and canonical mode off on whatever fd is a terminal;
        after amber exits the pty's termios on the host are unchanged."""
        code = r'''
import os, termios
changed = []
for fd in (0, 1, 2):
    if os.isatty(fd):
        a = termios.tcgetattr(fd)
        a[3] &= ~(termios.ECHO | termios.ICANON)
        try:
            termios.tcsetattr(fd, termios.TCSANOW, a)
            changed.append(fd)
        except (OSError, termios.error):
            pass
print('CHANGED', changed, flush=True)
'''
        for label, args in (("no -i", []), ("-i", ["-i"])):
            with self.subTest(stdin=label):
                master, slave = os.openpty()
                try:
                    before = termios.tcgetattr(slave)
                    r = subprocess.run([AMBER, "run", *args, "--", "python3", "-c", code],
                                       stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                       cwd="/", timeout=TIMEOUT)
                    after = termios.tcgetattr(slave)
                    os.set_blocking(master, False)
                    shown = drain(master)
                finally:
                    os.close(slave)
                    os.close(master)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(after == before,
                                 "the workload changed the caller's pty (lflag %#o -> %#o; %r)"
                                 % (before[3], after[3], shown))


if __name__ == "__main__":
    unittest.main()
