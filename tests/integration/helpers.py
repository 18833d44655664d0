"""Shared helpers for amber's black-box integration tests.

Everything here talks to the amber binary only through its command line and
to the host through /proc and /sys/fs/cgroup: no amber internals are used.

Environment:
  AMBER   path of the amber binary (default: <repo>/build/amber)
"""
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AMBER = os.environ.get("AMBER", os.path.join(REPO, "build", "amber"))
IS_ROOT = os.geteuid() == 0
# python3 inside the sandbox (the host's /usr is bound in read-only).
SANDBOX_PYTHON = "python3"
DEFAULT_TIMEOUT = 20


def run(args, timeout=DEFAULT_TIMEOUT, env=None, input=None, check=False, **kw):
    """Run `amber ARGS...` and return the CompletedProcess (text, captured).

    env defaults to a copy of this process's environment; the working
    directory defaults to / so that a relative path never matters."""
    kw.setdefault("cwd", "/")
    return subprocess.run(
        [AMBER] + [str(a) for a in args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        env=env,
        input=input if input is not None else "",
        check=check,
        **kw,
    )


def amber_run(cmd, *amber_args, **kw):
    """`amber run AMBER_ARGS... -- CMD...`"""
    return run(["run", *amber_args, "--", *cmd], **kw)


def inside(code, *amber_args, **kw):
    """Run `python3 -c CODE` in a sandbox made with AMBER_ARGS."""
    return amber_run([SANDBOX_PYTHON, "-c", code], *amber_args, **kw)


def popen(cmd, *amber_args, **kw):
    """Start `amber run AMBER_ARGS -- CMD` in the background (pipes, text)."""
    kw.setdefault("cwd", "/")
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(
        [AMBER, "run", *[str(a) for a in amber_args], "--", *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def amber_lines(stderr):
    """The lines of stderr that amber itself wrote ("amber: ...")."""
    return [l for l in stderr.splitlines() if l.startswith("amber: ")]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------
# cgroups
# --------------------------------------------------------------------------

def _unescape(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def cgroup_mounts():
    """[(fstype, mountpoint, root, superopts)] of every cgroup/cgroup2 mount
    in this process's mount namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.rstrip("\n").partition(" - ")
            pf = pre.split(" ")
            qf = post.split(" ")
            if len(qf) < 3 or qf[0] not in ("cgroup", "cgroup2"):
                continue
            out.append((qf[0], _unescape(pf[4]), _unescape(pf[3]), qf[2]))
    return out


def own_cgroups():
    """{controller-set: path} from /proc/self/cgroup ("" for v2)."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3:
                own[parts[1]] = parts[2]
    return own


def own_cgroup_dirs():
    """The directory of this process's own cgroup in every mounted
    hierarchy (amber, started by this process, creates its sandbox cgroups
    as children of these)."""
    own = own_cgroups()
    dirs = set()
    for fstype, mnt, root, sup in cgroup_mounts():
        if fstype == "cgroup2":
            path = own.get("")
        else:
            opts = set(sup.split(","))
            path = None
            # A v1 line "4:cpu,cpuacct:/x" belongs to the mount whose super
            # options carry those controllers; a named hierarchy
            # ("name=systemd") carries its name as an option too.
            for key, p in own.items():
                if key and set(key.split(",")) & opts:
                    path = p
                    break
        if path is None:
            continue
        if root != "/":
            if not (path == root or path.startswith(root.rstrip("/") + "/")):
                continue
            path = path[len(root.rstrip("/")):]
        dirs.add(os.path.normpath(mnt + "/" + path.lstrip("/")))
    return sorted(dirs)


def cgroup_leftovers(amber_pid):
    """Every existing directory named amber-<amber_pid>: under this
    process's own cgroup in each hierarchy, and directly under each
    /sys/fs/cgroup/* hierarchy root."""
    name = "amber-%d" % amber_pid
    found = set()
    candidates = set(own_cgroup_dirs())
    for _, mnt, _, _ in cgroup_mounts():
        candidates.add(mnt)
    if os.path.isdir("/sys/fs/cgroup"):
        candidates.add("/sys/fs/cgroup")
        for e in os.listdir("/sys/fs/cgroup"):
            candidates.add(os.path.join("/sys/fs/cgroup", e))
    for c in candidates:
        p = os.path.join(c, name)
        if os.path.isdir(p):
            found.add(p)
    return sorted(found)


def wait_no_cgroup(amber_pid, timeout=3.0):
    """Poll until no amber-<pid> cgroup dir remains; return the leftovers."""
    deadline = time.monotonic() + timeout
    while True:
        left = cgroup_leftovers(amber_pid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def cgroups_usable():
    """(bool, reason): can amber create cgroups for this user here?"""
    if not IS_ROOT:
        return False, "not root: amber runs rootless without cgroup limits"
    dirs = own_cgroup_dirs()
    if not dirs:
        return False, "no cgroup hierarchy mounted"
    for d in dirs:
        if os.access(d, os.W_OK):
            return True, ""
    return False, "cgroup tree not writable (%s)" % ", ".join(dirs)


def requires_cgroups(fn):
    """Skip (with the reason printed) unless amber can use cgroups here."""
    ok, why = cgroups_usable()
    if ok:
        return fn
    def skipper(*a, **k):
        sys.stderr.write("\n  [skip] %s: needs cgroups: %s\n" % (fn.__name__, why))
        raise unittest.SkipTest("needs cgroups: " + why)
    skipper.__name__ = fn.__name__
    skipper.__doc__ = fn.__doc__
    return skipper


def requires_root(fn):
    def skipper(*a, **k):
        sys.stderr.write("\n  [skip] %s: needs root\n" % fn.__name__)
        raise unittest.SkipTest("needs root")
    if IS_ROOT:
        return fn
    skipper.__name__ = fn.__name__
    skipper.__doc__ = fn.__doc__
    return skipper


def skip(test, reason):
    """skipTest with the reason also printed to stderr."""
    sys.stderr.write("\n  [skip] %s: %s\n" % (test.id(), reason))
    test.skipTest(reason)


# --------------------------------------------------------------------------
# processes and mounts
# --------------------------------------------------------------------------

def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def pids_with_marker(marker):
    """Host pids whose argv contains marker (bytes or str)."""
    if isinstance(marker, str):
        marker = marker.encode()
    me = os.getpid()
    found = []
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == me:
            continue
        cl = _read("/proc/%s/cmdline" % e, "rb")
        if cl and marker in cl:
            found.append(int(e))
    return found


def _stat_fields(pid):
    s = _read("/proc/%d/stat" % pid)
    if s is None:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest  # rest[0] = state, rest[1] = ppid


def children_of(ppid):
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            f = _stat_fields(int(e))
            if f and int(f[1]) == ppid:
                out.append(int(e))
    return out


def process_alive(pid):
    """True if pid exists and is not a zombie."""
    f = _stat_fields(pid)
    return f is not None and f[0] not in ("Z", "X")


def wait_gone(pids_fn, timeout=3.0):
    """Poll pids_fn() until it returns no live process; return what is left."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids_fn() if process_alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def mount_table():
    """This process's mounts as a sorted list of (mount id, point, fs)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            pf = pre.split(" ")
            out.append((pf[0], _unescape(pf[4]), post.split(" ")[0]))
    return sorted(out)


def wait_for_line(stream, needle, timeout=10.0):
    """Read lines from a text stream until one contains needle (blocking
    read under a SIGALRM guard). Returns the lines read."""
    lines = []

    def alarm(*_):
        raise TimeoutError("no %r within %.0fs; got %r" % (needle, timeout, lines))

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        while True:
            l = stream.readline()
            if not l:
                raise EOFError("stream closed before %r; got %r" % (needle, lines))
            lines.append(l)
            if needle in l:
                return lines
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------
# surface tests: temp trees, mount options, fds, subordinate ids
# --------------------------------------------------------------------------

def make_tmpdir(test, prefix="amber-it-", mode=0o755):
    """A fresh directory under /tmp (traversable by others: a workload with
    a mapped uid may need to reach it), removed when `test` ends."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, mode)

    def rm():
        # Make read-only leftovers removable first.
        for root, dirs, _ in os.walk(d):
            for x in dirs:
                p = os.path.join(root, x)
                if not os.path.islink(p):
                    try:
                        os.chmod(p, 0o755)
                    except OSError:
                        pass
        shutil.rmtree(d, ignore_errors=True)
    test.addCleanup(rm)
    return d


def write_file(path, data, mode=None):
    """Write str or bytes to path (parents created); optional chmod."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    if mode is not None:
        os.chmod(path, mode)
    return path


def parse_mountinfo(text):
    """{mount point: (per-mount options set, fstype, super options set)}
    from a /proc/PID/mountinfo text; the last mount at a point wins."""
    out = {}
    for line in text.splitlines():
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        pf = pre.split(" ")
        qf = post.split(" ")
        if len(pf) < 6 or len(qf) < 3:
            continue
        out[_unescape(pf[4])] = (set(pf[5].split(",")), qf[0], set(qf[2].split(",")))
    return out


def tree_snapshot(root):
    """{relative path: (kind, mode, size, mtime_ns, content sha or link)}
    of everything under root (symlinks not followed), for "unchanged"
    checks."""
    import stat as st_
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            s = os.lstat(p)
            if st_.S_ISLNK(s.st_mode):
                snap[rel] = ("l", os.readlink(p))
            elif st_.S_ISREG(s.st_mode):
                snap[rel] = ("f", st_.S_IMODE(s.st_mode), s.st_size, s.st_mtime_ns,
                             sha256_file(p))
            elif st_.S_ISDIR(s.st_mode):
                snap[rel] = ("d", st_.S_IMODE(s.st_mode), s.st_mtime_ns)
            else:
                snap[rel] = ("o", st_.S_IFMT(s.st_mode))
    return snap


def data_fd(data):
    """A pipe's read end that yields `data` then EOF (for --env-fd,
    --config-fd). The caller passes it with pass_fds and closes it."""
    r, w = os.pipe()
    b = data.encode() if isinstance(data, str) else data
    assert len(b) < 60000, "data_fd: keep it below the pipe buffer"
    os.write(w, b)
    os.close(w)
    return r


def subid_range(path="/etc/subuid"):
    """(start, count) of this user's first subordinate range, or None."""
    import pwd
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = None
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] in (name, str(uid)):
                    return int(parts[1]), int(parts[2])
    except OSError:
        pass
    return None


def requires_rootless(fn):
    """Skip (with the reason printed) when running as root."""
    def skipper(*a, **k):
        sys.stderr.write("\n  [skip] %s: needs an unprivileged user (run as amber-test)\n"
                         % fn.__name__)
        raise unittest.SkipTest("needs an unprivileged user")
    if not IS_ROOT:
        return fn
    skipper.__name__ = fn.__name__
    skipper.__doc__ = fn.__doc__
    return skipper


def other_ids_args(test):
    """amber flags that let the workload run as an arbitrary uid/gid below
    65536 (--user, --group, --additional-group): nothing as root; rootless,
    --userns nomap (skips the test when the user has no /etc/subuid range)."""
    if IS_ROOT:
        return []
    if subid_range("/etc/subuid") is None or subid_range("/etc/subgid") is None:
        skip(test, "no /etc/subuid or /etc/subgid range for uid %d" % os.geteuid())
    return ["--userns", "nomap"]
