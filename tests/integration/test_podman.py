"""podman as a real client of amber's OCI runtime CLI.

Every scenario runs podman twice, once with `--runtime <runc>` (the
reference) and once with `--runtime $AMBER`, asserts the concrete expected
behaviour for each, and asserts that both runtimes behaved the same.

podman is completely isolated from the host's own podman state: storage,
run root, libpod tmpdir, volumes, network configs, hooks, locks (file locks
instead of the shared /dev/shm/libpod_lock), events, containers.conf,
storage.conf and the signature policy all live in one temporary directory;
every container uses `--network none` (no CNI bridge, no iptables). The
OCI runtimes keep their default state roots (/run/runc, /run/amber):
podman 4.3 does not hand `--runtime-flag root=DIR` on to the `podman
container cleanup` that conmon runs when a container exits, so a private
runtime root would break podman's own cleanup. podman names a runtime by the
basename of its path; the private containers.conf lists "amber" in
runtime_supports_json, so podman passes amber `--log-format=json --log FILE`
exactly as it does runc. After every container the test checks that no
cgroup, runtime state or mount of it is left; tearDownClass removes every
container, the image and the storage (`podman system reset`) and checks
again.

Skipped (with the reason printed) unless root, with podman, conmon, runc and
a static busybox installed (scripts/deps) and AMBER an absolute path.

Environment:
  AMBER                         the amber binary (absolute path)
  AMBER_PODMAN_RUNTIMES         which runtimes to run: "runc,amber" (default),
                                "runc" or "amber"
  AMBER_PODMAN_STORAGE_DRIVER   "overlay" (default; falls back to vfs if
                                overlay does not work here) or "vfs"
"""
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

# Like the other modules (discover -s tests/integration); the path entry lets
# `python3 -m unittest tests/integration/test_podman.py` work from the root.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import AMBER, IS_ROOT, make_tmpdir  # noqa: E402

IMAGE = "localhost/amber-test-busybox"
# busybox applets the image links (the scenarios use a subset).
APPLETS = ("sh", "echo", "cat", "sleep", "ps", "id", "touch", "head", "tail",
           "hostname", "tty", "tr", "sort", "wc", "grep", "ls", "true",
           "false", "test", "env", "mkdir", "rm", "chmod")
# This host's hard RLIMIT_NOFILE is below podman's default (1048576) and we
# lack CAP_SYS_RESOURCE: runc then fails to set the rlimit. Same for both.
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
# Per podman command (each takes well under 5 s here). After one timeout a
# runtime's remaining scenarios fail at once instead of hanging in turn.
TIMEOUT = 30
# Where each runtime keeps its state when podman (as root) passes no --root.
RUNTIME_ROOTS = {"runc": "/run/runc", "amber": "/run/amber"}
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _which(name):
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + SBIN_PATH)


def _is_static_elf(path):
    """True if PATH is an ELF executable without a PT_INTERP header (it
    runs in a rootfs that holds nothing else)."""
    try:
        with open(path, "rb") as f:
            h = f.read(64)
            if h[:4] != b"\x7fELF" or h[4] != 2:  # 64-bit only
                return False
            phoff = int.from_bytes(h[32:40], "little")
            phentsize = int.from_bytes(h[54:56], "little")
            phnum = int.from_bytes(h[56:58], "little")
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
    except OSError:
        return False
    for i in range(phnum):
        if int.from_bytes(ph[i * phentsize:i * phentsize + 4], "little") == 3:
            return False  # PT_INTERP: dynamically linked
    return True


def _selected_runtimes():
    names = [n.strip() for n in
             os.environ.get("AMBER_PODMAN_RUNTIMES", "runc,amber").split(",") if n.strip()]
    bad = [n for n in names if n not in ("runc", "amber")]
    if bad or not names:
        raise ValueError("AMBER_PODMAN_RUNTIMES: expected runc and/or amber, got %r"
                         % os.environ.get("AMBER_PODMAN_RUNTIMES"))
    return names


def _skip_reason():
    if not IS_ROOT:
        return "podman tests need root (rootful podman, cgroupfs); uid is %d" % os.geteuid()
    for tool in ("podman", "conmon"):
        if not _which(tool):
            return "%s is not installed (scripts/deps installs it)" % tool
    names = _selected_runtimes()
    if "runc" in names and not _which("runc"):
        return "runc is not installed (scripts/deps installs it)"
    if "amber" in names:
        if not os.path.isabs(AMBER):
            return "AMBER=%r is not an absolute path (podman needs one for --runtime)" % AMBER
        if not (os.path.isfile(AMBER) and os.access(AMBER, os.X_OK)):
            return "AMBER=%r is not an executable file" % AMBER
    busybox = _which("busybox")
    if not busybox or not _is_static_elf(busybox):
        return "needs a static busybox for the test image (Debian package busybox-static)"
    return None


def _mount_points_under(prefix):
    """Mount points under PREFIX in this process's mount namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)),
                         line.split(" ")[4])
            if mnt == prefix or mnt.startswith(prefix.rstrip("/") + "/"):
                out.append(mnt)
    return out


def _cgroup_dirs_matching(ids):
    """Every cgroup directory (any hierarchy) whose name contains one of IDS."""
    found = []
    if not ids:
        return found
    for dirpath, dirnames, _ in os.walk("/sys/fs/cgroup"):
        for d in dirnames:
            if any(i in d for i in ids):
                found.append(os.path.join(dirpath, d))
    return sorted(found)


def _proc_cgroups(pid):
    """{controller: path} of PID, one key per v1 controller ("" for v2)."""
    out = {}
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = path
    return out


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _processes_mentioning(text):
    """Pids (not this process) whose command line contains TEXT."""
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit() and int(e) != os.getpid() and text in _cmdline(int(e)):
            out.append(int(e))
    return out


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _remove_cgroup(path):
    """SIGKILL what is left in a test container's cgroup, then remove it."""
    deadline = time.monotonic() + 3
    while True:
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                for pid in f.read().split():
                    _kill(int(pid))
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)


def _runtime_state(rt, cid):
    """Entries of runtime RT's state root that belong to container CID."""
    root = RUNTIME_ROOTS[rt]
    try:
        return [os.path.join(root, e) for e in os.listdir(root) if cid in e]
    except FileNotFoundError:
        return []


def _image_tar(busybox):
    """A tar of a minimal rootfs: static busybox, applet links, passwd,
    group and the usual empty directories (all owned by root)."""
    buf = io.BytesIO()
    mtime = 1700000000

    def add(name, kind, mode, data=b"", target=""):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, 0, 0, mtime
        ti.uname = ti.gname = "root"
        if kind == tarfile.SYMTYPE:
            ti.linkname = target
        ti.size = len(data) if kind == tarfile.REGTYPE else 0
        tf.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for d, mode in (("bin", 0o755), ("dev", 0o755), ("etc", 0o755),
                        ("home", 0o755), ("proc", 0o555), ("root", 0o700),
                        ("run", 0o755), ("sys", 0o555), ("tmp", 0o1777),
                        ("var", 0o755), ("var/tmp", 0o1777)):
            add(d, tarfile.DIRTYPE, mode)
        with open(busybox, "rb") as f:
            add("bin/busybox", tarfile.REGTYPE, 0o755, f.read())
        for a in APPLETS:
            add("bin/" + a, tarfile.SYMTYPE, 0o777, target="busybox")
        add("etc/passwd", tarfile.REGTYPE, 0o644, b"root:x:0:0:root:/root:/bin/sh\n")
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\n")
    return buf.getvalue()


def _show(r):
    return "\n  $ %s\n  exit %s\n  stdout: %r\n  stderr: %s" % (
        " ".join(r.args), r.returncode, r.stdout, r.stderr.strip())


class Podman(unittest.TestCase):
    """podman run/exec/logs/stop/rm against runc and against amber."""

    # ----------------------------------------------------------------------
    # class setup / teardown
    # ----------------------------------------------------------------------

    @classmethod
    def setUpClass(cls):
        why = _skip_reason()
        if why:
            sys.stderr.write("\n  [skip] test_podman: %s\n" % why)
            raise unittest.SkipTest(why)
        cls.runtime_paths = {"runc": _which("runc"), "amber": AMBER}
        cls.runtimes = _selected_runtimes()
        cls.container_ids = {}  # id -> runtime name
        cls.hung = set()  # runtimes a podman command timed out with
        cls.n = 0
        cls.tmp = tempfile.mkdtemp(prefix="amber-podman-")
        cls.cgroup_parents_before = cls._libpod_parent_dirs()
        try:
            cls._setup_storage()
        except BaseException:
            cls._cleanup(strict=False)
            raise

    @classmethod
    def _setup_storage(cls):
        t = cls.tmp
        os.chmod(t, 0o700)
        for d in ("hooks", "networks", "copy-tmp"):
            os.makedirs(os.path.join(t, d), mode=0o700)
        with open(os.path.join(t, "containers.conf"), "w") as f:
            f.write('[containers]\nlog_driver = "k8s-file"\n\n'
                    '[engine]\nlock_type = "file"\nevents_logger = "file"\n'
                    'runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "amber"]\n')
        with open(os.path.join(t, "policy.json"), "w") as f:
            f.write('{"default": [{"type": "insecureAcceptAnything"}]}\n')
        with open(os.path.join(t, "image.tar"), "wb") as f:
            f.write(_image_tar(_which("busybox")))
        env = dict(os.environ)
        env.update(CONTAINERS_CONF=os.path.join(t, "containers.conf"),
                   CONTAINERS_STORAGE_CONF=os.path.join(t, "storage.conf"),
                   TMPDIR=os.path.join(t, "copy-tmp"))
        for var in ("CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINERS_CONF_OVERRIDE",
                    "CONTAINERS_REGISTRIES_CONF", "REGISTRY_AUTH_FILE"):
            env.pop(var, None)
        cls.env = env
        forced = os.environ.get("AMBER_PODMAN_STORAGE_DRIVER")
        drivers = [forced] if forced else ["overlay", "vfs"]
        for i, driver in enumerate(drivers):
            cls.driver = driver
            with open(os.path.join(t, "storage.conf"), "w") as f:
                f.write('[storage]\ndriver = "%s"\nrunroot = "%s/run"\ngraphroot = "%s/storage"\n'
                        % (driver, t, t))
            r = cls.podman_cmd("import", "-q", "--signature-policy",
                               os.path.join(t, "policy.json"),
                               os.path.join(t, "image.tar"), IMAGE, private_cache=True)
            if r.returncode == 0:
                return
            if i + 1 == len(drivers):
                raise RuntimeError("podman import failed:" + _show(r))
            sys.stderr.write("\n  [note] test_podman: storage driver %s failed, trying %s:%s\n"
                             % (driver, drivers[i + 1], _show(r)))
            cls._reset_storage()

    @classmethod
    def tearDownClass(cls):
        cls._cleanup(strict=True)

    @classmethod
    def _cleanup(cls, strict):
        problems = []
        if getattr(cls, "env", None):
            # Containers a failed test left (the runtime is in podman's db).
            r = cls.podman_cmd("ps", "-a", "--format", "{{.ID}} {{.Names}}")
            for line in r.stdout.splitlines():
                if strict:
                    problems.append("container outlived its test: " + line)
                rm = cls.podman_cmd("rm", "-f", "-t", "0", line.split()[0])
                if rm.returncode != 0:
                    problems.append("podman rm -f:" + _show(rm))
            r = cls.podman_cmd("rmi", "-a", "-f")
            if r.returncode != 0:
                problems.append("podman rmi -a -f:" + _show(r))
            r = cls.podman_cmd("system", "reset", "-f")
            if r.returncode != 0:
                problems.append("podman system reset -f:" + _show(r))
        # The OCI runtimes' state: none may be left; delete what is.
        for cid, rt in sorted(cls.container_ids.items()):
            if _runtime_state(rt, cid):
                problems.append("%s state of %s left in %s" % (rt, cid, RUNTIME_ROOTS[rt]))
                subprocess.run([cls.runtime_paths[rt], "delete", "--force", cid],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=TIMEOUT)
        for m in cls._umount_leftovers():
            problems.append("mount left behind: " + m)
        # Processes of this class (conmon, container processes) still alive.
        for pid in _processes_mentioning(cls.tmp):
            problems.append("process left behind: %d %s" % (pid, _cmdline(pid)[:200]))
            _kill(pid)
        cgroups = _cgroup_dirs_matching(list(cls.container_ids))
        for c in sorted(cgroups, key=len, reverse=True):
            problems.append("cgroup left behind: " + c)
            _remove_cgroup(c)
        # podman's own parents (libpod_parent, libpod_parent/conmon): remove
        # them only if this class created them and they are empty now.
        for d in sorted(cls._libpod_parent_dirs() - cls.cgroup_parents_before,
                        key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if strict and problems:
            raise AssertionError("podman test cleanup:\n  " + "\n  ".join(problems))

    @classmethod
    def _reset_storage(cls):
        """Before retrying with another storage driver: start afresh."""
        cls.podman_cmd("system", "reset", "-f")
        cls._umount_leftovers()
        for d in ("storage", "run", "libpod-tmp", "volumes"):
            shutil.rmtree(os.path.join(cls.tmp, d), ignore_errors=True)

    @classmethod
    def _umount_leftovers(cls):
        """Lazily unmount whatever is still mounted under the temporary
        directory (deepest first); return what was."""
        mounts = sorted(set(_mount_points_under(cls.tmp)), key=len, reverse=True)
        for m in mounts:
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL, timeout=TIMEOUT)
        return mounts

    @staticmethod
    def _libpod_parent_dirs():
        out = set()
        if os.path.isdir("/sys/fs/cgroup"):
            for ctrl in os.listdir("/sys/fs/cgroup"):
                p = os.path.join("/sys/fs/cgroup", ctrl, "libpod_parent")
                if os.path.isdir(p):
                    out.add(p)
                    out.update(os.path.join(p, e) for e in os.listdir(p)
                               if os.path.isdir(os.path.join(p, e)))
        return out

    # ----------------------------------------------------------------------
    # podman
    # ----------------------------------------------------------------------

    @classmethod
    def podman_cmd(cls, *args, timeout=TIMEOUT, private_cache=False):
        """`podman GLOBAL-FLAGS ARGS` (never raises; a timeout shows as a
        returncode "timeout after Ns").

        PRIVATE_CACHE: run podman in a private mount namespace with a tmpfs
        over /var/lib/containers/cache (or its deepest existing parent):
        copying an image (import) records blob digests in the host-wide
        /var/lib/containers/cache/blob-info-cache-v1.boltdb otherwise, and
        no podman flag moves it."""
        t = cls.tmp
        argv = []
        if private_cache and _which("unshare"):
            argv = [_which("unshare"), "--mount", "--propagation", "private",
                    "sh", "-c", 'd=/var/lib/containers/cache; '
                    'while [ ! -d "$d" ]; do d=$(dirname "$d"); done; '
                    'mount -t tmpfs -o mode=0700 amber-podman-cache "$d" && exec "$@"', "sh"]
        argv += [_which("podman"),
                 "--root", os.path.join(t, "storage"),
                 "--runroot", os.path.join(t, "run"),
                 "--tmpdir", os.path.join(t, "libpod-tmp"),
                 "--volumepath", os.path.join(t, "volumes"),
                 "--network-config-dir", os.path.join(t, "networks"),
                 "--hooks-dir", os.path.join(t, "hooks"),
                 "--cgroup-manager", "cgroupfs",
                 "--events-backend", "file",
                 "--storage-driver", cls.driver]
        try:
            return subprocess.run(argv + [str(a) for a in args], cwd="/", env=cls.env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(
                argv + list(args), "timeout after %ss" % timeout,
                e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or ""),
                e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or ""))

    def podman(self, rt, *args, ok=True, timeout=TIMEOUT):
        """podman ARGS about runtime RT's container; asserts success if OK."""
        if rt in self.hung:
            self.fail("[%s] skipped: an earlier podman command with this runtime hung" % rt)
        r = self.podman_cmd(*args, timeout=timeout)
        if isinstance(r.returncode, str):
            self.hung.add(rt)
            self.fail("[%s] podman hung:%s" % (rt, _show(r)))
        if ok:
            self.assertEqual(r.returncode, 0, "[%s] podman failed:%s" % (rt, _show(r)))
        return r

    def run_container(self, rt, *cmd, opts=(), rm=True):
        """`podman run [--rm] OPTS IMAGE CMD` with runtime RT; returns
        (CompletedProcess, container id)."""
        type(self).n += 1
        cidfile = os.path.join(self.tmp, "cid-%d" % self.n)
        cid = None
        try:
            r = self.podman(rt, "run", "--runtime", self.runtime_paths[rt],
                            "--network", "none", "--pull", "never", *ULIMITS,
                            "--cidfile", cidfile, *(["--rm"] if rm else []), *opts,
                            IMAGE, *cmd, ok=False)
        finally:
            if os.path.exists(cidfile):  # even if podman hung: cleanup needs it
                with open(cidfile) as f:
                    cid = f.read().strip()
                os.unlink(cidfile)
                self.container_ids[cid] = rt
        # 125: podman failed; 126/127: the runtime could not run CMD.
        self.assertTrue(r.returncode not in (125, 126, 127) and cid,
                        "[%s] podman or the runtime failed:%s" % (rt, _show(r)))
        return r, cid

    def inspect(self, rt, ref, fmt):
        return self.podman(rt, "inspect", "-f", fmt, ref).stdout.strip()

    def assert_gone(self, rt, cid):
        """Nothing of container CID is left: no cgroup, no runtime state,
        no mount."""
        deadline = time.monotonic() + 5
        while True:
            left = _cgroup_dirs_matching([cid])
            state = _runtime_state(rt, cid)
            mounts = [m for m in _mount_points_under(self.tmp) if cid in m]
            if not (left or state or mounts) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(left, [], "[%s] cgroups of %s left behind" % (rt, cid))
        self.assertEqual(state, [], "[%s] runtime state of %s left behind" % (rt, cid))
        self.assertEqual(mounts, [], "[%s] mounts of %s left behind" % (rt, cid))

    def each_runtime(self, scenario):
        """Run SCENARIO(rt) -> observations for every runtime (each as a
        subTest, so amber is still checked when runc misbehaves), then
        assert every runtime observed the same as the first."""
        seen = {}
        for rt in self.runtimes:
            with self.subTest(runtime=rt):
                seen[rt] = scenario(rt)
        if len(seen) == len(self.runtimes) > 1:
            ref = self.runtimes[0]
            for rt in self.runtimes[1:]:
                self.assertEqual(seen[rt], seen[ref],
                                 "%s and %s behave differently" % (rt, ref))

    def setUp(self):
        self.names = []  # (runtime, name) of detached containers to remove

    def tearDown(self):
        for rt, name in self.names:
            if rt not in self.hung:
                self.podman_cmd("rm", "-f", "-t", "0", "--ignore", name)

    # ----------------------------------------------------------------------
    # scenarios
    # ----------------------------------------------------------------------

    def test_run_prints_output_and_returns_exit_status(self):
        def scenario(rt):
            r, cid = self.run_container(rt, "echo", "hello")
            self.assertEqual((r.returncode, r.stdout), (0, "hello\n"), _show(r))
            self.assert_gone(rt, cid)
            r2, cid = self.run_container(rt, "sh", "-c", "echo out; echo err >&2; exit 3")
            self.assertEqual((r2.returncode, r2.stdout), (3, "out\n"), _show(r2))
            self.assertIn("err", r2.stderr.splitlines(), _show(r2))
            self.assert_gone(rt, cid)
            return r.returncode, r.stdout, r2.returncode, r2.stdout
        self.each_runtime(scenario)

    def test_detached_container_exec_logs_stop_rm(self):
        def scenario(rt):
            name = "amber-podman-%s-detached" % rt
            self.names.append((rt, name))
            r = self.podman(rt, "run", "-d", "--name", name,
                            "--runtime", self.runtime_paths[rt], "--network", "none",
                            "--pull", "never", *ULIMITS,
                            IMAGE, "sh", "-c", "echo started; exec sleep 1000")
            cid = r.stdout.strip()
            self.assertRegex(cid, r"^[0-9a-f]{64}$", _show(r))
            self.container_ids[cid] = rt
            obs = {"status": self.inspect(rt, name, "{{.State.Status}}")}
            self.assertEqual(obs["status"], "running")
            # exec: output, exit status, and the same pid namespace
            r = self.podman(rt, "exec", name, "echo", "inside")
            obs["exec"] = r.stdout
            self.assertEqual(r.stdout, "inside\n", _show(r))
            r = self.podman(rt, "exec", name, "sh", "-c", "exit 5", ok=False)
            obs["exec_status"] = r.returncode
            self.assertEqual(r.returncode, 5, _show(r))
            r = self.podman(rt, "exec", name, "ps")
            pid1 = [l.split(None, 2)[2] for l in r.stdout.splitlines()[1:]
                    if l.split()[0] == "1"]
            obs["pid1"] = pid1
            self.assertEqual(pid1, ["sleep 1000"], _show(r))
            # the workload sits in the cgroup podman asked for: cgroupsPath
            # /libpod_parent/libpod-ID in the memory and pids hierarchies
            # (v1), or in the unified one on a cgroup2-only host
            pid = int(self.inspect(rt, name, "{{.State.Pid}}"))
            self.assertGreater(pid, 0)
            cg = _proc_cgroups(pid)
            v1 = set(_proc_cgroups(os.getpid())) & {"memory", "pids"}
            need = sorted(v1) if v1 else [""]
            obs["cgroups"] = [k for k in need
                              if cg.get(k, "").endswith("/libpod_parent/libpod-" + cid)]
            self.assertEqual(obs["cgroups"], need,
                             "[%s] cgroups of pid %d: %s" % (rt, pid, cg))
            # logs: what the container printed (conmon writes them)
            deadline = time.monotonic() + 5
            while True:
                r = self.podman(rt, "logs", name)
                if "started" in r.stdout or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            obs["logs"] = r.stdout
            self.assertEqual(r.stdout, "started\n", _show(r))
            # stop: sleep as pid 1 ignores TERM, so KILL after 2 s
            t0 = time.monotonic()
            r = self.podman(rt, "stop", "-t", "2", name, timeout=30)
            self.assertLess(time.monotonic() - t0, 15, "[%s] podman stop was slow" % rt)
            obs["stopped"] = self.inspect(rt, name, "{{.State.Status}} {{.State.ExitCode}}")
            self.assertEqual(obs["stopped"], "exited 137")
            self.podman(rt, "rm", name)
            r = self.podman(rt, "container", "exists", name, ok=False)
            obs["exists_after_rm"] = r.returncode
            self.assertEqual(r.returncode, 1, _show(r))
            self.assert_gone(rt, cid)
            return obs
        self.each_runtime(scenario)

    def test_memory_limit_kills_allocation_over_it(self):
        # ash keeps the whole command substitution in memory (in pid 1).
        alloc = 'x=$(head -c %s /dev/zero | tr "\\0" a); echo ${#x}'

        def scenario(rt):
            over, cid = self.run_container(rt, "sh", "-c", alloc % "100m",
                                           opts=("--memory", "32m"))
            self.assertEqual((over.returncode, over.stdout), (137, ""),
                             "[%s] 100 MiB under --memory 32m was not OOM-killed:%s"
                             % (rt, _show(over)))
            self.assert_gone(rt, cid)
            under, cid = self.run_container(rt, "sh", "-c", alloc % "4m",
                                            opts=("--memory", "32m"))
            self.assertEqual((under.returncode, under.stdout), (0, "4194304\n"), _show(under))
            self.assert_gone(rt, cid)
            return over.returncode, under.returncode, under.stdout
        self.each_runtime(scenario)

    def test_read_only_root_allows_writes_only_to_tmp(self):
        probe = "touch /x 2>/dev/null; echo root=$?; touch /tmp/y; echo tmp=$?"

        def scenario(rt):
            ro, cid = self.run_container(rt, "sh", "-c", probe, opts=("--read-only",))
            self.assertEqual(ro.returncode, 0, _show(ro))
            self.assertRegex(ro.stdout, r"^root=[1-9]\d*\ntmp=0\n$", _show(ro))
            self.assert_gone(rt, cid)
            rw, cid = self.run_container(rt, "sh", "-c", probe)
            self.assertEqual((rw.returncode, rw.stdout), (0, "root=0\ntmp=0\n"), _show(rw))
            self.assert_gone(rt, cid)
            return ro.stdout, rw.stdout
        self.each_runtime(scenario)

    def test_container_root_changes_no_host_object(self):
        """The bundle podman generates, run as root: no user namespace, so
        the container's root is host root. Its chmod and touch of the
        device nodes and chmod of /proc's global entries must not reach the
        host's (amber only: under runc they would, so it is not tried)."""
        if "amber" not in self.runtimes:
            self.skipTest("amber is not among AMBER_PODMAN_RUNTIMES")
        devs = [p for p in ("/dev/null", "/dev/zero", "/dev/full") if os.path.exists(p)]
        procs = [p for p in ("slabinfo", "cpuinfo", "tty") if os.path.exists("/proc/" + p)]
        # The host's own /proc caches its inodes: a procfs entry's mode as
        # the kernel now has it is seen through a fresh procfs mount.
        fresh = ("mount -t proc proc \"$1\" && shift && cd \"$0\" && "
                 "for e in \"$@\"; do stat -c %a \"$e\"; done")

        def proc_modes():
            d = make_tmpdir(self, "amber-pm-proc-")
            r = subprocess.run(["unshare", "-m", "sh", "-c", fresh, d, d, *procs],
                               capture_output=True, text=True)
            return r.stdout.split()

        def snap():
            return ({p: (os.stat(p).st_mode, os.stat(p).st_mtime_ns) for p in devs},
                    proc_modes())

        before = snap()

        def restore():
            for p, (mode, mtime) in before[0].items():
                st = os.stat(p)
                if st.st_mode != mode:
                    os.chmod(p, mode & 0o7777)
                if st.st_mtime_ns != mtime:
                    os.utime(p, ns=(st.st_atime_ns, mtime))
            for name, mode in zip(procs, before[1]):
                d = make_tmpdir(self, "amber-pm-proc-")
                subprocess.run(["unshare", "-m", "sh", "-c",
                                "mount -t proc proc \"$0\" && chmod %s \"$0/%s\"" % (mode, name), d])
        self.addCleanup(restore)
        probe = ("chmod 600 /dev/null /dev/zero; touch /dev/null /dev/full; "
                 "chmod 400 /proc/slabinfo /proc/cpuinfo; chmod 700 /proc/tty; "
                 "echo hi > /dev/null && echo written")
        r, cid = self.run_container("amber", "sh", "-c", probe)
        self.assertIn("written", r.stdout, _show(r))
        self.assertEqual(snap(), before, "the container changed host objects:%s" % _show(r))
        self.assert_gone("amber", cid)

    def test_tty_gives_the_container_a_pseudo_terminal(self):
        def scenario(rt):
            r, cid = self.run_container(rt, "sh", "-c", "tty; test -t 0 && echo stdin-tty",
                                        opts=("-t",))
            # (text mode turns the terminal's \r\n into \n)
            self.assertEqual((r.returncode, r.stdout), (0, "/dev/pts/0\nstdin-tty\n"), _show(r))
            self.assert_gone(rt, cid)
            return r.returncode, r.stdout
        self.each_runtime(scenario)


if __name__ == "__main__":
    unittest.main()
