"""Black-box tests of the agent's working surface: --context, --workspace,
--volume, --tmpfs, --home, --provider-config-*, --secret, --env-fd, the
workload's identity (--user/--group/--additional-group, --userns,
--uidmap/--gidmap), --init/--no-init, -t/-i, and TOML / --config-fd launch
files.

Everything runs as root and again as an unprivileged user (CI: amber-test,
with an /etc/subuid range); tests that only make sense one way skip with a
printed reason.

Run from the repo root:  python3 -m unittest discover -s tests/integration -v
"""
import errno
import fcntl
import json
import os
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import termios
import time
import unittest
import uuid

from helpers import (AMBER, IS_ROOT, amber_run, data_fd, inside, make_tmpdir, other_ids_args,
                     parse_mountinfo, popen, requires_root, requires_rootless, run, sha256_file,
                     skip, subid_range, tree_snapshot, wait_for_line, write_file)

MY_UID = os.geteuid()
MY_GID = os.getegid()


def slurp(path):
    with open(path) as f:
        return f.read()


# Dumps a tree inside the sandbox as JSON:
#   {rel: ["f", mode, sha256, uid, gid] | ["d", mode, uid, gid] | ["l", target] | ["o"]}
TREE_DUMP = r"""
import hashlib, json, os, stat, sys
root = sys.argv[1]
out = {}
for dp, dn, fn in os.walk(root):
    for n in dn + fn:
        p = os.path.join(dp, n)
        rel = os.path.relpath(p, root)
        s = os.lstat(p)
        if stat.S_ISLNK(s.st_mode):
            out[rel] = ["l", os.readlink(p)]
        elif stat.S_ISREG(s.st_mode):
            with open(p, "rb") as f:
                h = hashlib.sha256(f.read()).hexdigest()
            out[rel] = ["f", stat.S_IMODE(s.st_mode), h, s.st_uid, s.st_gid]
        elif stat.S_ISDIR(s.st_mode):
            out[rel] = ["d", stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid]
        else:
            out[rel] = ["o"]
print(json.dumps(out))
"""

# Tries to create a file; prints "ok" or the errno name.
TRY_WRITE = r"""
import errno, sys
for p in sys.argv[1:]:
    try:
        with open(p, "a") as f:
            f.write("x\n")
        print(p, "ok")
    except OSError as e:
        print(p, errno.errorcode.get(e.errno, e.errno))
"""


def sandbox_mounts(*amber_args):
    """parse_mountinfo() of /proc/self/mountinfo seen in a sandbox."""
    r = amber_run(["cat", "/proc/self/mountinfo"], *amber_args)
    assert r.returncode == 0, r.stderr
    return parse_mountinfo(r.stdout)


def try_write(paths, *amber_args):
    r = amber_run(["python3", "-c", TRY_WRITE, *paths], *amber_args)
    assert r.returncode == 0, r.stderr
    return dict(l.rsplit(" ", 1) for l in r.stdout.splitlines())


class Refusal:
    """assertRefused: exit 125, one "amber: " line naming the culprit, and
    the workload never ran."""

    def assertRefused(self, args, needle=None, cmd=("echo", "WORKLOAD-RAN"), one_line=True,
                      **kw):
        """one_line=False: a helper amber ran (newuidmap) may have said
        something first; amber's own line is then the last one."""
        r = amber_run(list(cmd), *args, **kw)
        self.assertEqual(r.returncode, 125, "%s: %s" % (args, r.stderr))
        self.assertNotIn("WORKLOAD-RAN", r.stdout, args)
        lines = r.stderr.splitlines()
        if one_line:
            self.assertEqual(len(lines), 1, "%s: %r" % (args, r.stderr))
        self.assertTrue(lines and lines[-1].startswith("amber: "), r.stderr)
        if needle is not None:
            self.assertIn(needle, lines[-1], args)
        return r


# --------------------------------------------------------------------------
# --context
# --------------------------------------------------------------------------

class Context(unittest.TestCase, Refusal):
    def setUp(self):
        self.base = make_tmpdir(self)
        self.src = os.path.join(self.base, "ctx")
        self.outside = os.path.join(self.base, "outside")
        self.marker = "OUTSIDE-MARKER-" + uuid.uuid4().hex
        self.secret_marker = "SECRET-BEARING-" + uuid.uuid4().hex
        write_file(os.path.join(self.outside, "marker.txt"), self.marker + "\n")
        s = self.src
        self.files = {
            "a.txt": b"alpha\n",
            "sub/b.txt": b"beta\n",
            "sub/deep/c.bin": os.urandom(100000),
            "deep/top.txt": b"top\n",
            ".git/HEAD": b"ref: refs/heads/main\n",
            ".git/objects/ab/cdef": b"object\n",
            "run.sh": b"#!/bin/sh\necho ran\n",
        }
        for rel, data in self.files.items():
            write_file(os.path.join(s, rel), data)
        os.chmod(os.path.join(s, "run.sh"), 0o755)
        os.chmod(os.path.join(s, "sub/b.txt"), 0o600)
        os.makedirs(os.path.join(s, "emptydir"))
        self.links = {"rel": "a.txt", "sub/up": "../a.txt", "sub/dirlink": "deep"}
        for rel, target in self.links.items():
            os.symlink(target, os.path.join(s, rel))
        # Left out by default: secret-bearing names, special files, symlinks
        # that leave the tree.
        self.secretish = [".env", ".env.local", "cert.pem", "sub/server.key", ".ssh", ".aws"]
        for rel in (".env", ".env.local", "cert.pem", "sub/server.key", ".ssh/id_rsa",
                    ".aws/credentials"):
            write_file(os.path.join(s, rel), self.secret_marker + "\n")
        os.mkfifo(os.path.join(s, "pipe"))
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(os.path.join(s, "sock"))
        sock.close()
        self.escapes = {
            "abs": "/etc/shadow",
            "abs_out": os.path.join(self.outside, "marker.txt"),
            "esc": "../outside/marker.txt",
            "sub/esc2": "../../outside/marker.txt",
            "sub/sneaky": "deep/../../../outside/marker.txt",
        }
        for rel, target in self.escapes.items():
            os.symlink(target, os.path.join(s, rel))
        self.left_out = self.secretish + ["pipe", "sock"] + list(self.escapes)
        self.expected = set(self.files) | set(self.links) | {
            "sub", "sub/deep", "deep", ".git", ".git/objects", ".git/objects/ab", "emptydir"}

    def dump(self, *args, path="/context"):
        r = amber_run(["python3", "-c", TREE_DUMP, path], *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout), r

    def test_copy_is_complete_and_filtered(self):
        before = tree_snapshot(self.src)
        tree, r = self.dump("--context", self.src)
        self.assertEqual(set(tree), self.expected)
        for rel, data in self.files.items():
            self.assertEqual(tree[rel][0], "f", rel)
            self.assertEqual(tree[rel][2], __import__("hashlib").sha256(data).hexdigest(), rel)
            self.assertEqual(tree[rel][1], stat.S_IMODE(os.stat(os.path.join(self.src, rel)).st_mode),
                             "mode of %s" % rel)
        for rel, target in self.links.items():
            self.assertEqual(tree[rel], ["l", target], "%s is not kept as a symlink" % rel)
        self.assertEqual(tree["emptydir"][0], "d")
        # Not asked for: nothing said about what was left out.
        self.assertNotIn("left out", r.stderr)
        self.assertEqual(tree_snapshot(self.src), before, "the host tree changed")

    def test_internal_symlinks_resolve_inside(self):
        r = amber_run(["sh", "-c", "cat /context/rel /context/sub/up; ls /context/sub/dirlink"],
                      "--context", self.src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "alpha\nalpha\nc.bin\n")

    def test_planted_symlinks_not_followed(self):
        # Whatever the links point at, their targets' bytes (and those of
        # the secret-bearing files) appear nowhere in /context.
        code = r"""
import os, sys
hits = []
for dp, dn, fn in os.walk("/context"):
    for n in fn:
        p = os.path.join(dp, n)
        if os.path.isfile(p):
            data = open(p, "rb").read()
            for m in sys.argv[1:]:
                if m.encode() in data:
                    hits.append(p)
print(hits)
"""
        r = amber_run(["python3", "-c", code, self.marker, self.secret_marker],
                      "--context", self.src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "[]")

    def test_verbose_lists_left_out(self):
        r = amber_run(["true"], "--context", self.src, "--context-verbose")
        self.assertEqual(r.returncode, 0, r.stderr)
        for rel in self.left_out:
            with self.subTest(path=rel):
                self.assertRegex(r.stderr, r"(?m)^amber: .*left out %s \(" % re.escape(rel))
        for rel in ("a.txt", ".git", "rel", "sub/up"):
            self.assertNotRegex(r.stderr, r"left out %s \(" % re.escape(rel))

    def test_git_kept_unless_excluded(self):
        tree, _ = self.dump("--context", self.src)
        self.assertIn(".git/HEAD", tree)
        tree, r = self.dump("--context", self.src, "--context-exclude", ".git",
                            "--context-verbose")
        self.assertFalse([p for p in tree if p.split("/")[0] == ".git"], tree.keys())
        self.assertIn(".git", r.stderr)
        self.assertIn("a.txt", tree)

    def test_exclude_basename_and_path_patterns(self):
        # A name matches at every depth; a pattern with '/' is a path.
        tree, _ = self.dump("--context", self.src, "--context-exclude", "deep")
        self.assertNotIn("deep", tree)
        self.assertNotIn("sub/deep", tree)
        self.assertIn("sub/b.txt", tree)
        tree, _ = self.dump("--context", self.src, "--context-exclude", "sub/deep")
        self.assertNotIn("sub/deep", tree)
        self.assertNotIn("sub/deep/c.bin", tree)
        self.assertIn("deep/top.txt", tree)
        tree, _ = self.dump("--context", self.src, "--context-exclude", "*.txt")
        self.assertFalse([p for p in tree if p.endswith(".txt")], sorted(tree))
        self.assertIn("sub/deep/c.bin", tree)

    def test_copy_is_private_host_never_modified(self):
        before = tree_snapshot(self.src)
        script = ("echo changed > /context/a.txt && rm /context/sub/b.txt && "
                  "rm -r /context/.git && mkdir /context/newdir && echo n > /context/newdir/n && "
                  "chmod 700 /context/sub && ln -s /etc /context/newlink && echo done")
        r = amber_run(["sh", "-c", script], "--context", self.src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "done\n")
        self.assertEqual(tree_snapshot(self.src), before, "the host tree changed")

    def test_bind_mode_read_only_nosuid_nodev_noexec(self):
        m = sandbox_mounts("--context", self.src, "--context-mode", "bind")
        self.assertIn("/context", m)
        opts = m["/context"][0]
        for o in ("ro", "nosuid", "nodev", "noexec"):
            self.assertIn(o, opts, "/context bind lacks %s: %s" % (o, opts))
        before = tree_snapshot(self.src)
        res = try_write(["/context/new.txt", "/context/a.txt"],
                        "--context", self.src, "--context-mode", "bind")
        self.assertEqual(res["/context/new.txt"], "EROFS")
        self.assertNotEqual(res["/context/a.txt"], "ok")
        r = amber_run(["/context/run.sh"], "--context", self.src, "--context-mode", "bind")
        self.assertEqual(r.returncode, 126, r.stderr)
        r = amber_run(["cat", "/context/a.txt"], "--context", self.src, "--context-mode", "bind")
        self.assertEqual(r.stdout, "alpha\n", r.stderr)
        self.assertEqual(tree_snapshot(self.src), before)

    def test_copy_mount_flags(self):
        m = sandbox_mounts("--context", self.src)
        opts = m["/context"][0]
        for o in ("nosuid", "nodev", "noexec"):
            self.assertIn(o, opts)
        self.assertEqual(m["/context"][1], "tmpfs", "the copy is not in memory")

    def test_bad_context_args(self):
        self.assertRefused(["--context", os.path.join(self.base, "missing")], "missing")
        self.assertRefused(["--context", os.path.join(self.src, "a.txt")], "a.txt")
        self.assertRefused(["--context-exclude", ".git"], "--context")
        self.assertRefused(["--context", self.src, "--context-mode", "weird"], "weird")
        self.assertRefused(["--context", self.src, "--context-mode", "bind",
                            "--context-exclude", ".git"])

    def test_verify_integrity_stable_tree(self):
        tree, r = self.dump("--context", self.src, "--verify-context-integrity")
        self.assertEqual(set(tree), self.expected)

    def test_verify_integrity_refuses_changing_source(self):
        """A file rewritten in a loop during launch: the hash taken before
        launch and the copy inside cannot match, and the start is refused.

        Timing-based by nature: the writer rewrites every byte of an 8 MiB
        file continuously; a run slips through only if hashing and copying
        both fall between two rewrites. So each variant is tried up to 6
        times: with the flag at least one start must be refused (in
        practice all are); without it at least one must start (showing the
        refusal comes from the check, not from the churn)."""
        big = os.path.join(self.src, "big.bin")
        size = 8 << 20
        write_file(big, b"\0" * size)
        writer = subprocess.Popen([sys.executable, "-c", r"""
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
i = 0
while True:
    i += 1
    os.pwrite(fd, bytes([i % 251]) * int(sys.argv[2]), 0)
""", big, str(size)])
        self.addCleanup(lambda: (writer.kill(), writer.wait()))
        time.sleep(0.3)
        self.assertIsNone(writer.poll(), "the writer died")
        refused = []
        for _ in range(6):
            r = amber_run(["echo", "started"], "--context", self.src, "--verify-context-integrity",
                          timeout=30)
            if r.returncode == 125:
                self.assertNotIn("started", r.stdout)
                refused.append(r.stderr)
                break
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(refused, "a context rewritten during launch was never refused")
        self.assertIn("context", refused[0])
        self.assertEqual(len(refused[0].splitlines()), 1, refused[0])
        started = False
        for _ in range(6):
            r = amber_run(["echo", "started"], "--context", self.src, timeout=30)
            if r.returncode == 0 and r.stdout == "started\n":
                started = True
                break
        self.assertTrue(started, "without --verify-context-integrity the start failed: "
                        + r.stderr)


# --------------------------------------------------------------------------
# --workspace
# --------------------------------------------------------------------------

class Workspace(unittest.TestCase, Refusal):
    def setUp(self):
        self.base = make_tmpdir(self)
        self.ws = os.path.join(self.base, "ws")
        self.outside = os.path.join(self.base, "outside")
        write_file(os.path.join(self.outside, "o.txt"), "outside\n")
        write_file(os.path.join(self.ws, "keep.txt"), "keep\n")
        write_file(os.path.join(self.ws, "mod.txt"), "original\n")
        write_file(os.path.join(self.ws, "del.txt"), "delete me\n")
        write_file(os.path.join(self.ws, "d/f.txt"), "in d\n")
        write_file(os.path.join(self.ws, "gone/x.txt"), "gone\n")
        write_file(os.path.join(self.ws, "s.sh"), "#!/bin/sh\necho ran-script\n", 0o755)
        with open("/bin/true", "rb") as f:
            write_file(os.path.join(self.ws, "bin-true"), f.read(), 0o755)

    CHANGES = ("echo new > new.txt && mkdir -p n/m && echo deep > n/m/deep.txt && "
               "echo changed > mod.txt && rm del.txt && rm -r gone")

    def test_default_is_bind_rw_and_workdir(self):
        r = amber_run(["sh", "-c", "pwd; cat keep.txt; echo host-visible > w.txt"],
                      "--workspace", self.ws)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "/workspace\nkeep\n")
        with open(os.path.join(self.ws, "w.txt")) as f:
            self.assertEqual(f.read(), "host-visible\n")
        m = sandbox_mounts("--workspace", self.ws)
        opts = m["/workspace"][0]
        for o in ("rw", "nosuid", "nodev", "noexec"):
            self.assertIn(o, opts)
        r = amber_run(["pwd"], "--workspace", self.ws, "--workdir", "/tmp")
        self.assertEqual(r.stdout, "/tmp\n", r.stderr)

    def test_bind_ro(self):
        before = tree_snapshot(self.ws)
        res = try_write(["/workspace/new.txt", "/workspace/keep.txt"],
                        "--workspace", self.ws, "--workspace-mode", "bind-ro")
        self.assertEqual(res["/workspace/new.txt"], "EROFS")
        self.assertNotEqual(res["/workspace/keep.txt"], "ok")
        self.assertEqual(tree_snapshot(self.ws), before)
        m = sandbox_mounts("--workspace", self.ws, "--workspace-mode", "bind-ro")
        self.assertIn("ro", m["/workspace"][0])

    def test_copy_in_out_synced_on_success(self):
        before = tree_snapshot(self.ws)
        r = amber_run(["sh", "-c", self.CHANGES], "--workspace", self.ws,
                      "--workspace-mode", "copy-in-out")
        self.assertEqual(r.returncode, 0, r.stderr)
        after = tree_snapshot(self.ws)
        self.assertEqual(slurp(os.path.join(self.ws, "new.txt")), "new\n")
        self.assertEqual(slurp(os.path.join(self.ws, "n/m/deep.txt")), "deep\n")
        self.assertEqual(slurp(os.path.join(self.ws, "mod.txt")), "changed\n")
        self.assertFalse(os.path.lexists(os.path.join(self.ws, "del.txt")))
        self.assertFalse(os.path.lexists(os.path.join(self.ws, "gone")))
        for rel in ("keep.txt", "d/f.txt", "s.sh", "bin-true"):
            self.assertEqual(after[rel], before[rel], "%s was touched" % rel)

    def test_copy_in_out_nothing_synced_on_failure(self):
        before = tree_snapshot(self.ws)
        r = amber_run(["sh", "-c", self.CHANGES + " && ls new.txt && exit 3"],
                      "--workspace", self.ws, "--workspace-mode", "copy-in-out")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stdout, "new.txt\n", "the changes were not made inside")
        self.assertEqual(tree_snapshot(self.ws), before)
        r = amber_run(["sh", "-c", self.CHANGES + " && kill -KILL $$"],
                      "--workspace", self.ws, "--workspace-mode", "copy-in-out")
        self.assertEqual(r.returncode, 137, r.stderr)
        self.assertEqual(tree_snapshot(self.ws), before)

    def test_copy_in_out_is_private_and_host_swap_not_followed(self):
        # While the workload waits: its writes are not on the host yet, and
        # the host replaces ws/d by a symlink to a directory outside. The
        # sync-back must not write through it.
        outside_before = tree_snapshot(self.outside)
        p = popen(["sh", "-c", "echo early > early.txt; echo ready; read x; "
                   "echo pwned > d/f.txt; echo new > d/g.txt; echo late > late.txt"],
                  "-i", "--workspace", self.ws, "--workspace-mode", "copy-in-out",
                  stdin=subprocess.PIPE)
        try:
            wait_for_line(p.stdout, "ready")
            self.assertFalse(os.path.exists(os.path.join(self.ws, "early.txt")),
                             "copy-in-out wrote to the host during the run")
            import shutil
            shutil.rmtree(os.path.join(self.ws, "d"))
            os.symlink(self.outside, os.path.join(self.ws, "d"))
            out, err = p.communicate("go\n", timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(tree_snapshot(self.outside), outside_before,
                         "sync-back wrote through a host symlink")
        self.assertEqual(os.readlink(os.path.join(self.ws, "d")), self.outside)
        self.assertEqual(slurp(os.path.join(self.ws, "late.txt")), "late\n")
        self.assertEqual(slurp(os.path.join(self.ws, "early.txt")), "early\n")

    def test_copy_in_out_symlinks_made_inside_not_followed(self):
        # The workload plants links to host paths (which do not exist in
        # its view) and replaces a directory with one. After sync-back no
        # host path outside the workspace is touched, and no link in the
        # host tree leads out of it.
        outside_before = tree_snapshot(self.outside)
        script = ("ln -s {o} out_abs; ln -s ../outside out_rel; ln -s /etc/passwd pw; "
                  "mkdir -p d2; ln -s ../../outside d2/up; "
                  "rm -r d; ln -s {o} d; echo ok").format(o=self.outside)
        r = amber_run(["sh", "-c", script], "--workspace", self.ws,
                      "--workspace-mode", "copy-in-out")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "ok\n")
        self.assertEqual(tree_snapshot(self.outside), outside_before)
        real_ws = os.path.realpath(self.ws)
        for dp, dn, fn in os.walk(self.ws):
            for n in dn + fn:
                p = os.path.join(dp, n)
                if os.path.islink(p):
                    t = os.path.realpath(p)
                    self.assertTrue(t == real_ws or t.startswith(real_ws + "/"),
                                    "%s -> %s leads out of the workspace" % (p, os.readlink(p)))
        self.assertFalse(os.path.islink(os.path.join(self.ws, "d")))

    def test_noexec_unless_workspace_exec(self):
        for mode in ("bind-rw", "bind-ro", "copy-in-out"):
            for prog in ("./s.sh", "./bin-true"):
                with self.subTest(mode=mode, prog=prog):
                    r = amber_run([prog], "--workspace", self.ws, "--workspace-mode", mode)
                    self.assertEqual(r.returncode, 126, r.stderr)
                    r = amber_run([prog], "--workspace", self.ws, "--workspace-mode", mode,
                                  "--workspace-exec")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    if prog == "./s.sh":
                        self.assertEqual(r.stdout, "ran-script\n")
        m = sandbox_mounts("--workspace", self.ws, "--workspace-exec")
        self.assertNotIn("noexec", m["/workspace"][0])
        self.assertIn("nosuid", m["/workspace"][0])

    def test_bad_workspace_args(self):
        self.assertRefused(["--workspace", os.path.join(self.base, "missing")], "missing")
        self.assertRefused(["--workspace", os.path.join(self.ws, "keep.txt")], "keep.txt")
        self.assertRefused(["--workspace-mode", "bind-ro"], "--workspace")
        self.assertRefused(["--workspace-exec"], "--workspace")
        self.assertRefused(["--workspace", self.ws, "--workspace-mode", "sync"], "sync")
        self.assertRefused(["--workspace", self.ws, "--workspace-mode", "copy-in-out",
                            "--no-init"], "init")


# --------------------------------------------------------------------------
# --volume, --tmpfs
# --------------------------------------------------------------------------

class Volumes(unittest.TestCase, Refusal):
    def setUp(self):
        self.base = make_tmpdir(self)
        self.rw = os.path.join(self.base, "rw")
        self.ro = os.path.join(self.base, "ro")
        os.makedirs(self.rw)
        write_file(os.path.join(self.ro, "r.txt"), "read me\n")
        self.conf = write_file(os.path.join(self.base, "app.conf"), "key=value\n")
        self.data = write_file(os.path.join(self.base, "data.txt"), "data\n")

    def test_rw_and_ro(self):
        args = ["-v", self.rw + ":/mnt/rw", "-v", self.ro + ":/mnt/ro:ro",
                "--volume", self.data + ":/srv/data.txt:rw"]
        res = try_write(["/mnt/rw/new.txt", "/mnt/ro/new.txt", "/mnt/ro/r.txt",
                         "/srv/data.txt"], *args)
        self.assertEqual(res["/mnt/rw/new.txt"], "ok")
        self.assertEqual(res["/mnt/ro/new.txt"], "EROFS")
        self.assertNotEqual(res["/mnt/ro/r.txt"], "ok")
        self.assertEqual(res["/srv/data.txt"], "ok")
        self.assertEqual(slurp(os.path.join(self.rw, "new.txt")), "x\n")
        self.assertEqual(slurp(self.data), "data\nx\n")
        self.assertEqual(os.listdir(self.ro), ["r.txt"])
        self.assertEqual(slurp(os.path.join(self.ro, "r.txt")), "read me\n")
        m = sandbox_mounts(*args)
        for point, ro in (("/mnt/rw", False), ("/mnt/ro", True), ("/srv/data.txt", False)):
            opts = m[point][0]
            self.assertIn("nosuid", opts, point)
            self.assertIn("nodev", opts, point)
            self.assertIn("ro" if ro else "rw", opts, point)

    def test_file_volume(self):
        r = amber_run(["sh", "-c", "cat /etc/app.conf; test -f /etc/app.conf && echo file"],
                      "-v", self.conf + ":/etc/app.conf:ro")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "key=value\nfile\n")

    def test_bad_volumes(self):
        missing = os.path.join(self.base, "no-such-src")
        cases = [
            (["-v", missing + ":/mnt/x"], missing),
            (["-v", self.rw + ":relative/dst"], "relative/dst"),
            (["-v", self.rw + ":/proc/x"], "/proc"),
            (["-v", self.rw + ":/proc"], "/proc"),
            (["-v", self.rw + ":/dev/x"], "/dev"),
            (["-v", self.rw + ":/"], None),
            (["-v", self.rw + ":/mnt/a/../b"], ".."),
            (["-v", self.rw + ":/mnt/x:rx"], "rx"),
            (["-v", self.rw], None),
            (["-v", self.rw + ":/mnt/x", "-v", self.ro + ":/mnt/x"], "overlaps"),
            (["-v", self.rw + ":/mnt/x", "-v", self.ro + ":/mnt/x/y"], "overlaps"),
            (["-v", self.rw + ":/mnt/x/y", "-v", self.ro + ":/mnt/x"], "overlaps"),
            (["-v", self.rw + ":/mnt/x/", "-v", self.ro + ":/mnt//x"], "overlaps"),
            (["-v", self.rw + ":/mnt/x", "--tmpfs", "/mnt/x"], "overlaps"),
            (["--workspace", self.rw, "-v", self.ro + ":/workspace/sub"], "overlaps"),
            (["--workspace", self.rw, "--home", "/workspace/h"], "home"),
            (["-v", self.ro + ":/home/agent/x"], "home"),
            (["-v", self.ro + ":/run/secrets", "--secret", self.data + ":s"], "/run/secrets"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                self.assertRefused(args, needle)


class Tmpfs(unittest.TestCase, Refusal):
    STATFS = r"""
import os, stat, sys
p = sys.argv[1]
v = os.statvfs(p)
s = os.stat(p)
print(v.f_blocks * v.f_frsize, oct(stat.S_IMODE(s.st_mode)), s.st_uid)
"""

    def test_default(self):
        r = amber_run(["sh", "-c", "echo hello > /scratch/f && cat /scratch/f && "
                       "stat -c '%a %u' /scratch"], "--tmpfs", "/scratch")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[0], "hello")
        self.assertEqual(r.stdout.splitlines()[1], "1777 %d" % (0 if IS_ROOT else MY_UID))
        m = sandbox_mounts("--tmpfs", "/scratch")
        opts, fstype, _ = m["/scratch"]
        self.assertEqual(fstype, "tmpfs")
        for o in ("rw", "nosuid", "nodev", "noexec"):
            self.assertIn(o, opts)

    def test_size_and_mode(self):
        r = amber_run(["python3", "-c", self.STATFS, "/scratch"],
                      "--tmpfs", "/scratch:size=1M,mode=0750")
        self.assertEqual(r.returncode, 0, r.stderr)
        size, mode, _ = r.stdout.split()
        self.assertEqual(int(size), 1 << 20)
        self.assertEqual(mode, "0o750")
        code = r"""
import errno
try:
    with open("/scratch/big", "wb") as f:
        for _ in range(4):
            f.write(b"x" * (1 << 20))
            f.flush()
    print("wrote 4M")
except OSError as e:
    print(errno.errorcode[e.errno])
"""
        r = inside(code, "--tmpfs", "/scratch:size=1M")
        self.assertEqual(r.stdout.strip(), "ENOSPC", r.stderr)
        r = inside(code, "--tmpfs", "/scratch:size=8M")
        self.assertEqual(r.stdout.strip(), "wrote 4M", r.stderr)

    def test_bad_options(self):
        for arg, needle in (("/x:size=abc", "abc"), ("/x:mode=999", "999"),
                            ("/x:mode=", "mode"), ("/x:foo=1", "foo"), ("rel", "rel"),
                            ("/proc/x", "/proc"), (":size=1M", None), ("", None)):
            with self.subTest(arg=arg):
                self.assertRefused(["--tmpfs", arg], needle)


# --------------------------------------------------------------------------
# --home, --provider-config-*
# --------------------------------------------------------------------------

class Home(unittest.TestCase, Refusal):
    def setUp(self):
        self.base = make_tmpdir(self)

    def test_home_tmpfs_owned_by_workload(self):
        ids = other_ids_args(self)
        r = amber_run(["sh", "-c", "echo $HOME; pwd; stat -c '%a %u %g' /h/me; "
                       "echo hi > /h/me/f && cat /h/me/f"],
                      "--home", "/h/me", "--user", "1000:1000", *ids)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["/h/me", "/h/me", "700 1000 1000", "hi"])
        m = sandbox_mounts("--home", "/h/me")
        opts, fstype, _ = m["/h/me"]
        self.assertEqual(fstype, "tmpfs")
        for o in ("nosuid", "nodev", "noexec"):
            self.assertIn(o, opts)
        r = amber_run(["sh", "-c", "stat -c '%a %u' $HOME"], "--home", "/h/me")
        self.assertEqual(r.stdout.split(), ["700", str(0 if IS_ROOT else MY_UID)], r.stderr)

    def test_provider_configs(self):
        ro = os.path.join(self.base, "ro")
        rw = os.path.join(self.base, "rw")
        write_file(os.path.join(ro, "token"), "ro-token\n")
        write_file(os.path.join(rw, "token"), "rw-token\n")
        netrc = write_file(os.path.join(self.base, "netrc"), "machine x\n")
        ro_before = tree_snapshot(ro)
        args = ["--home", "/h/me",
                "--provider-config-ro", ro + ":.config/ro",
                "--provider-config-rw", rw + ":/h/me/.config/rw",
                "--provider-config-ro", netrc + ":.netrc"]
        script = ("cat /h/me/.config/ro/token /h/me/.config/rw/token /h/me/.netrc; "
                  "echo refreshed > /h/me/.config/rw/token; echo new > /h/me/.config/rw/new")
        r = amber_run(["sh", "-c", script], *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "ro-token\nrw-token\nmachine x\n")
        self.assertEqual(slurp(os.path.join(rw, "token")), "refreshed\n")
        self.assertEqual(slurp(os.path.join(rw, "new")), "new\n")
        res = try_write(["/h/me/.config/ro/token", "/h/me/.config/ro/new", "/h/me/.netrc"], *args)
        self.assertEqual(res["/h/me/.config/ro/new"], "EROFS")
        self.assertNotEqual(res["/h/me/.config/ro/token"], "ok")
        self.assertNotEqual(res["/h/me/.netrc"], "ok")
        self.assertEqual(tree_snapshot(ro), ro_before)
        self.assertEqual(slurp(netrc), "machine x\n")
        m = sandbox_mounts(*args)
        self.assertIn("ro", m["/h/me/.config/ro"][0])
        self.assertIn("rw", m["/h/me/.config/rw"][0])
        for p in ("/h/me/.config/ro", "/h/me/.config/rw", "/h/me/.netrc"):
            self.assertIn("nosuid", m[p][0])
            self.assertIn("nodev", m[p][0])

    def test_provider_config_outside_home_refused(self):
        d = os.path.join(self.base, "cfg")
        os.makedirs(d)
        for flag in ("--provider-config-ro", "--provider-config-rw"):
            for dst in ("/etc/x", "/home/agent", "/home/agentx/y", "../x", "/tmp/x"):
                with self.subTest(flag=flag, dst=dst):
                    self.assertRefused([flag, d + ":" + dst])
        self.assertRefused(["--home", "/h/me", "--provider-config-ro", d + ":/home/agent/x"],
                           "/home/agent/x")
        self.assertRefused(["--provider-config-ro",
                            os.path.join(self.base, "missing") + ":x"], "missing")

    def test_bad_home(self):
        for home in ("relative", "/", "/proc/h", "/dev", "/a/../b"):
            with self.subTest(home=home):
                self.assertRefused(["--home", home])


# --------------------------------------------------------------------------
# --secret
# --------------------------------------------------------------------------

class Secrets(unittest.TestCase, Refusal):
    def setUp(self):
        self.base = make_tmpdir(self)
        self.value = "s3cr3t-" + uuid.uuid4().hex
        self.src = write_file(os.path.join(self.base, "token"), self.value)
        self.src2 = write_file(os.path.join(self.base, "other"), "other-" + uuid.uuid4().hex)

    def test_content_mode_owner_and_mount(self):
        ids = other_ids_args(self)
        args = ["--secret", self.src + ":api_token", "--secret",
                self.src2 + ":/run/secrets/other", "--user", "1000:1000", *ids]
        r = amber_run(["sh", "-c", "cat /run/secrets/api_token; echo; cat /run/secrets/other; "
                       "echo; stat -c '%n %a %u %g' /run/secrets /run/secrets/api_token "
                       "/run/secrets/other; ls -A /run/secrets"], *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], self.value)
        self.assertEqual(lines[1], slurp(self.src2))
        self.assertEqual(lines[2:5], ["/run/secrets 700 1000 1000",
                                      "/run/secrets/api_token 400 1000 1000",
                                      "/run/secrets/other 400 1000 1000"])
        self.assertEqual(lines[5:], ["api_token", "other"])
        m = sandbox_mounts(*args)
        opts, fstype, _ = m["/run/secrets"]
        self.assertEqual(fstype, "tmpfs", "secrets are not in memory")
        for o in ("ro", "nosuid", "nodev", "noexec"):
            self.assertIn(o, opts)
        res = try_write(["/run/secrets/new", "/run/secrets/api_token"], *args)
        self.assertEqual(res["/run/secrets/new"], "EROFS")
        self.assertIn(res["/run/secrets/api_token"], ("EROFS", "EACCES"))

    def test_default_user_owns_secret(self):
        r = amber_run(["stat", "-c", "%a %u", "/run/secrets/t"], "--secret", self.src + ":t")
        self.assertEqual(r.stdout.split(), ["400", str(0 if IS_ROOT else MY_UID)], r.stderr)

    def test_value_never_leaks(self):
        """Not in any sandbox process's environ or argv (from inside and from
        the host), not on amber's stderr at debug level, not in the result."""
        scan = r"""
import os, sys
v = open("/run/secrets/api_token", "rb").read()
assert v
hits, seen = [], 0
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    for f in ("environ", "cmdline"):
        try:
            data = open("/proc/%s/%s" % (p, f), "rb").read()
        except OSError:
            continue
        seen += 1
        if v in data:
            hits.append("%s/%s" % (p, f))
print("seen", seen, "hits", hits, flush=True)
print("ready", flush=True)
sys.stdin.readline()
"""
        marker = "secret-scan-" + uuid.uuid4().hex[:8]
        result = os.path.join(self.base, "result.json")
        p = popen(["python3", "-c", scan, marker], "-i", "--log-level", "debug",
                  "--result-json", result, "--secret", self.src + ":api_token",
                  stdin=subprocess.PIPE)
        try:
            lines = wait_for_line(p.stdout, "ready")
            self.assertIn("hits []", lines[0])
            # The scanner reads its own and the workload's; amber's init is
            # not dumpable, so its environ is closed to the workload.
            self.assertGreaterEqual(int(lines[0].split()[1]), 3, lines[0])
            from helpers import pids_with_marker
            pids = set(pids_with_marker(marker)) | {p.pid}
            readable = 0
            for pid in pids:
                for f in ("environ", "cmdline"):
                    try:
                        with open("/proc/%d/%s" % (pid, f), "rb") as fh:
                            data = fh.read()
                    except OSError:
                        continue
                    readable += 1
                    self.assertNotIn(self.value.encode(), data, "in /proc/%d/%s" % (pid, f))
            self.assertGreaterEqual(readable, 2)
            out, err = p.communicate("\n", timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("amber: debug", err, "debug logging did not happen: the check is void")
        self.assertNotIn(self.value, err)
        self.assertNotIn(self.value, out)
        with open(result) as f:
            text = f.read()
        json.loads(text)
        self.assertNotIn(self.value, text)

    def test_not_visible_elsewhere(self):
        # Only /run/secrets has it: not the environment, not the host path.
        r = amber_run(["sh", "-c", "env; test -e %s && echo host-path-visible; "
                       "cat /run/secrets/t >/dev/null && echo readable" % self.src],
                      "--secret", self.src + ":t")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(self.value, r.stdout)
        self.assertNotIn("host-path-visible", r.stdout)
        self.assertIn("readable", r.stdout)

    def test_symlink_source_refused_and_not_read(self):
        fifo = os.path.join(self.base, "fifo")
        os.mkfifo(fifo)
        to_fifo = os.path.join(self.base, "to-fifo")
        os.symlink(fifo, to_fifo)
        to_file = os.path.join(self.base, "to-file")
        os.symlink(self.src, to_file)
        # Opening the fifo would block forever: a refusal within the
        # timeout shows the link's target was never opened.
        r = self.assertRefused(["--secret", to_fifo + ":x"], "symlink", timeout=10)
        r = self.assertRefused(["--secret", to_file + ":x"], "symlink")
        self.assertNotIn(self.value, r.stderr)

    def test_bad_secrets(self):
        missing = os.path.join(self.base, "missing")
        cases = [
            (["--secret", self.base + ":x"], self.base),
            (["--secret", missing + ":x"], missing),
            (["--secret", self.src + ":x", "--secret", self.src2 + ":x"], "x"),
            (["--secret", self.src + ":x", "--secret", self.src2 + ":/run/secrets/x"], "x"),
            (["--secret", self.src + ":a/b"], "a/b"),
            (["--secret", self.src + ":/run/secrets/../x"], None),
            (["--secret", self.src + ":.."], None),
            (["--secret", self.src + ":"], None),
            (["--secret", self.src], None),
            (["--secret", os.devnull + ":x"], os.devnull),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                r = self.assertRefused(args, needle)
                self.assertNotIn(self.value, r.stderr)


# --------------------------------------------------------------------------
# --env-fd
# --------------------------------------------------------------------------

class EnvFd(unittest.TestCase, Refusal):
    def env_run(self, data, cmd, *args, fdnum=None):
        fd = data_fd(data)
        try:
            return amber_run(cmd, "--env-fd", str(fd if fdnum is None else fdnum), *args,
                             pass_fds=(fd,))
        finally:
            os.close(fd)

    def test_object_and_array(self):
        r = self.env_run(json.dumps({"ENVFD_A": "value a", "ENVFD_B": "x=y"}),
                         ["sh", "-c", 'echo "$ENVFD_A|$ENVFD_B"'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "value a|x=y\n")
        r = self.env_run(json.dumps(["ENVFD_C=c=d", "ENVFD_D="]),
                         ["sh", "-c", 'echo "$ENVFD_C|${ENVFD_D-unset}"'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "c=d|\n")

    def test_values_stay_out_of_logs_and_results(self):
        base = make_tmpdir(self)
        value = "envfd-secret-" + uuid.uuid4().hex
        result = os.path.join(base, "r.json")
        r = self.env_run(json.dumps({"API_KEY": value}),
                         ["sh", "-c", 'printf %s "$API_KEY" | wc -c'],
                         "--log-level", "debug", "--result-json", result)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), str(len(value)))
        self.assertIn("amber: debug", r.stderr)
        self.assertNotIn(value, r.stderr)
        with open(result) as f:
            self.assertNotIn(value, f.read())

    def test_invalid_json_message_does_not_quote_input(self):
        sentinel = "SENTINEL" + uuid.uuid4().hex[:8]
        for data in ('{"A": %s}' % sentinel, '{"A": "%s"' % sentinel, sentinel,
                     '["%s"]' % sentinel, '{"A": 1}', '{"bad name": "%s"}' % sentinel[:3], '42'):
            with self.subTest(data=data):
                fd = data_fd(data)
                try:
                    r = self.assertRefused(["--env-fd", str(fd)], "--env-fd", pass_fds=(fd,))
                finally:
                    os.close(fd)
                self.assertNotIn(sentinel, r.stderr)

    def test_bad_fd(self):
        self.assertRefused(["--env-fd", "57"], "57")
        self.assertRefused(["--env-fd", "abc"], "abc")
        self.assertRefused(["--env-fd", "-1"])


# --------------------------------------------------------------------------
# identity
# --------------------------------------------------------------------------

class Identity(unittest.TestCase, Refusal):
    def test_user_group_additional_groups_and_ownership(self):
        ids = other_ids_args(self)
        base = make_tmpdir(self)
        ctx = os.path.join(base, "ctx")
        write_file(os.path.join(ctx, "a"), "a\n")
        sec = write_file(os.path.join(base, "s"), "s\n")
        ws = os.path.join(base, "ws")
        write_file(os.path.join(ws, "w"), "w\n")
        r = amber_run(["sh", "-c", "id -u; id -g; id -G; stat -c '%n %u %g' $HOME /scratch "
                       "/context /context/a /run/secrets /run/secrets/s /workspace /workspace/w"],
                      "--user", "1000:1000", "--group", "2000", "--additional-group", "3000",
                      "--additional-group", "3001", "--tmpfs", "/scratch", "--context", ctx,
                      "--secret", sec + ":s", "--workspace", ws, "--workspace-mode",
                      "copy-in-out", *ids)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "1000")
        self.assertEqual(lines[1], "2000", "--group did not override the gid of --user")
        self.assertEqual(sorted(lines[2].split()), ["2000", "3000", "3001"])
        for l in lines[3:]:
            self.assertTrue(l.endswith(" 1000 2000"), "not owned by the workload: " + l)
        self.assertEqual(len(lines), 11)

    def test_group_alone(self):
        ids = other_ids_args(self)
        r = amber_run(["sh", "-c", "id -g; id -G"], "--group", "4242", *ids)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[0], "4242")

    @requires_rootless
    def test_rootless_default_keep_id(self):
        for extra in ([], ["--userns", "keep-id"]):
            with self.subTest(extra=extra):
                r = amber_run(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; "
                               "id -g"], *extra)
                self.assertEqual(r.returncode, 0, r.stderr)
                lines = r.stdout.splitlines()
                self.assertEqual(lines[0].split(), [str(MY_UID), str(MY_UID), "1"])
                self.assertEqual(lines[1].split(), [str(MY_GID), str(MY_GID), "1"])
                self.assertEqual(lines[2:], [str(MY_UID), str(MY_GID)])

    @requires_rootless
    def test_rootless_nomap(self):
        rng = subid_range("/etc/subuid")
        grng = subid_range("/etc/subgid")
        if rng is None or grng is None:
            skip(self, "no /etc/subuid range for uid %d" % MY_UID)
        r = amber_run(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"],
                      "--userns", "nomap")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        uid_lines = [list(map(int, l.split())) for l in lines[:1]]
        self.assertEqual(uid_lines[0], [0, rng[0], rng[1]])
        self.assertEqual(list(map(int, lines[1].split())), [0, grng[0], grng[1]])
        for inside_, outside, count in uid_lines:
            self.assertFalse(outside <= MY_UID < outside + count, "own uid is mapped")
        self.assertEqual(lines[2], "0")

    def test_explicit_maps(self):
        if IS_ROOT:
            start = 200000
        else:
            rng = subid_range("/etc/subuid")
            grng = subid_range("/etc/subgid")
            if rng is None or grng is None or rng[1] < 1000 or grng[1] < 1000:
                skip(self, "no /etc/subuid range of 1000 ids for uid %d" % MY_UID)
            if rng[0] != grng[0]:
                skip(self, "subuid and subgid ranges differ")
            start = rng[0]
        m = "0:%d:1000" % start
        r = amber_run(["sh", "-c", "cat /proc/self/uid_map; id -u; id -g"],
                      "--uidmap", m, "--gidmap", m, "--user", "5:5")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["0", str(start), "1000"])
        self.assertEqual(lines[1:], ["5", "5"])

    @requires_rootless
    def test_rootless_disallowed_map(self):
        # newuidmap/newgidmap check the map against /etc/subuid and /etc/subgid
        # and print their own complaint before amber's line.
        self.assertRefused(["--uidmap", "0:1:1", "--gidmap", "0:1:1"], "map", one_line=False)
        self.assertRefused(["--uidmap", "0:%d:1" % MY_UID, "--gidmap", "0:0:1"], "map",
                           one_line=False)

    @requires_rootless
    def test_rootless_other_ids_need_a_map(self):
        self.assertRefused(["--user", "4000"], "4000")
        self.assertRefused(["--additional-group", "7"], "--additional-group")

    @requires_rootless
    def test_rootless_unmapped_group_refused(self):
        # Without a map only your own gid exists inside: --group asks for
        # another one, which must be refused like --user is, not ignored.
        self.assertRefused(["--group", "4242"], "4242")

    @requires_root
    def test_root_refuses_keep_id_and_nomap(self):
        self.assertRefused(["--userns", "keep-id"], "keep-id")
        self.assertRefused(["--userns", "nomap"], "nomap")

    def test_bad_identity_args(self):
        for args in (["--group", "x"], ["--additional-group", "-1"], ["--uidmap", "0:1"],
                     ["--uidmap", "0:1:0", "--gidmap", "0:1:1"],
                     ["--uidmap", "0:100000:10"], ["--userns", "bogus"],
                     ["--uidmap", "0:100000:10", "--gidmap", "0:100000:10", "--userns", "host"]):
            with self.subTest(args=args):
                self.assertRefused(args)


# --------------------------------------------------------------------------
# --init / --no-init
# --------------------------------------------------------------------------

ZOMBIE_SCAN = r"""
import os, subprocess, time
subprocess.run(["sh", "-c", "sleep 0.1 &"])   # the sleep is orphaned
time.sleep(1)
zombies = []
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            s = open("/proc/%s/stat" % p).read()
        except OSError:
            continue
        if s[s.rindex(")") + 2] == "Z":
            zombies.append(int(p))
print(os.getpid(), os.getppid(), zombies)
"""


class Init(unittest.TestCase, Refusal):
    def test_init_reaps_orphans(self):
        for extra in ([], ["--init"]):
            with self.subTest(extra=extra):
                r = amber_run(["python3", "-c", ZOMBIE_SCAN], *extra)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.strip(), "2 1 []")

    def test_no_init_workload_is_pid1_and_zombie_stays(self):
        r = amber_run(["python3", "-c", ZOMBIE_SCAN], "--no-init")
        self.assertEqual(r.returncode, 0, r.stderr)
        pid, ppid, zombies = r.stdout.split(" ", 2)
        self.assertEqual(pid, "1")
        self.assertNotEqual(eval(zombies), [], "--no-init: the orphan was reaped by someone")
        r = amber_run(["sh", "-c", "echo $$"], "--no-init")
        self.assertEqual(r.stdout, "1\n", r.stderr)
        r = amber_run(["sh", "-c", "exit 5"], "--no-init")
        self.assertEqual(r.returncode, 5)

    def test_init_forwards_signals(self):
        p = popen(["sh", "-c", "trap 'echo got-term; exit 0' TERM; echo ready $$; "
                   "while :; do sleep 0.05; done"], "--init")
        try:
            lines = wait_for_line(p.stdout, "ready")
            self.assertEqual(lines[-1].split(), ["ready", "2"])
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(out, "got-term\n")
        self.assertEqual(p.returncode, 0, err)

    def test_no_init_strict_refused(self):
        self.assertRefused(["--no-init", "--service-mode", "strict-agent"], "--no-init")


# --------------------------------------------------------------------------
# -t / -i
# --------------------------------------------------------------------------

def _set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtySession:
    """amber running on the slave side of a fresh pty (as on a terminal);
    the test talks through the master side."""

    def __init__(self, args, rows=33, cols=111):
        self.master, self.slave = os.openpty()
        _set_winsize(self.slave, rows, cols)
        self.before = termios.tcgetattr(self.slave)
        self.buf = b""
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                fcntl.ioctl(self.slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(self.slave, fd)
                os.closerange(3, 1024)
                os.execv(AMBER, [AMBER, "run"] + args)
            finally:
                os._exit(127)
        self.pid = pid
        self.status = None

    def read_until(self, needle, timeout=10):
        end = time.monotonic() + timeout
        while needle.encode() not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %r within %ss; got %r" % (needle, timeout, self.buf))
            r, _, _ = select.select([self.master], [], [], left)
            if not r:
                continue
            try:
                d = os.read(self.master, 4096)
            except OSError:
                d = b""
            if not d:
                raise EOFError("pty closed before %r; got %r" % (needle, self.buf))
            self.buf += d
        return self.buf

    def send(self, text):
        os.write(self.master, text.encode())

    def wait(self, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                return self.status
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    self.buf += os.read(self.master, 4096)
                except OSError:
                    pass
        return None

    def hangup(self):
        """Close the terminal (as when its window is closed): the kernel
        hangs up amber's session."""
        for name in ("master", "slave"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def wait_exit(self, timeout):
        """Wait for amber's exit without touching the terminal."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                return self.status
            time.sleep(0.05)
        return None

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        self.hangup()


class Tty(unittest.TestCase):
    def session(self, args, **kw):
        s = PtySession(args, **kw)
        self.addCleanup(s.close)
        return s

    def test_interactive_shell_on_a_pty(self):
        s = self.session(["-t", "-i", "--", "/bin/sh"], rows=33, cols=111)
        # Markers are built by the shell so the echoed command line never
        # matches them.
        s.send('tty; stty size; echo "M""1"\n')
        out = s.read_until("M1\r\n").decode()
        self.assertRegex(out, r"/dev/pts/\d+\r\n33 111\r\nM1\r\n")
        during = termios.tcgetattr(s.slave)
        self.assertFalse(during[3] & termios.ICANON, "amber did not put the terminal in raw mode")
        # Resize, then (once the kernel's own SIGWINCH for the resize has
        # surely been consumed) send SIGWINCH to amber explicitly, as a
        # supervisor relaying a resize would.
        _set_winsize(s.slave, 40, 90)
        time.sleep(0.5)
        os.kill(s.pid, signal.SIGWINCH)
        time.sleep(0.3)
        s.send('stty size; echo "M""2"\n')
        out = s.read_until("M2\r\n").decode()
        self.assertRegex(out, r"40 90\r\nM2\r\n")
        s.send("exit 7\n")
        self.assertEqual(s.wait(), 7, s.buf)
        after = termios.tcgetattr(s.slave)
        self.assertEqual(after, s.before, "the outer terminal's mode was not restored")
        self.assertTrue(after[3] & termios.ICANON and after[3] & termios.ECHO)

    def test_window_size_follows_terminal_resize(self):
        # A terminal emulator resizing amber's terminal: TIOCSWINSZ on it
        # makes the kernel send SIGWINCH to amber's (foreground) process
        # group; nobody sends anything else. The sandbox's pty must follow.
        s = self.session(["-t", "-i", "--", "/bin/sh"], rows=33, cols=111)
        s.send('stty size; echo "M""1"\n')
        self.assertRegex(s.read_until("M1\r\n").decode(), r"33 111\r\nM1\r\n")
        _set_winsize(s.slave, 41, 91)
        seen = []
        for i in range(2, 8):
            time.sleep(0.3)
            s.send('stty size; echo "M""%d"\n' % i)
            out = s.read_until("M%d\r\n" % i).decode()
            seen.append(out.rsplit("\r\n", 3)[-3])
            if seen[-1] == "41 91":
                break
        self.assertEqual(seen[-1], "41 91",
                         "the sandbox's window size did not follow a resize of amber's terminal "
                         "within 2 s (stty size saw %s)" % seen)
        s.send("exit\n")
        self.assertEqual(s.wait(), 0)

    def test_tty_restored_after_failure(self):
        s = self.session(["-t", "--", "sh", "-c", "kill -KILL $$"])
        self.assertEqual(s.wait(), 137, s.buf)
        self.assertEqual(termios.tcgetattr(s.slave), s.before)

    def test_tty_without_i_reads_eof(self):
        # "-i: keep stdin open (otherwise the workload reads /dev/null)":
        # with -t alone a read of stdin must end (EOF), not wait forever.
        s = self.session(["-t", "--", "sh", "-c", 'read x; echo "read-status:$?"'])
        status = s.wait(timeout=5)
        self.assertIsNotNone(status, "-t without -i: the workload's read of stdin hangs "
                             "(output so far %r)" % s.buf)
        self.assertIn(b"read-status:1", s.buf)

    def test_terminal_hangup_ends_the_session(self):
        # amber as the session leader of a terminal that goes away (its
        # window closed, an ssh connection dropped): the kernel sends SIGHUP
        # to the session leader only, so amber must pass it on; otherwise
        # the sandbox outlives the terminal.
        for extra in ([], ["-t"], ["-t", "-i"]):
            with self.subTest(args=extra):
                s = self.session(extra + ["--", "sh", "-c", "echo ready; exec sleep 30"])
                s.read_until("ready")
                s.hangup()
                status = s.wait_exit(3)
                self.assertIsNotNone(status, "%s: amber and its sandbox still run 3 s after "
                                     "their terminal hung up" % extra)
                self.assertEqual(status, 128 + signal.SIGHUP)

    def test_no_tty_on_a_terminal_stdin_is_dev_null(self):
        s = self.session(["--", "sh", "-c", "readlink /proc/self/fd/0; tty; true"])
        self.assertEqual(s.wait(), 0, s.buf)
        self.assertIn(b"/dev/null\r\n", s.buf)
        self.assertIn(b"not a tty", s.buf)


# --------------------------------------------------------------------------
# launch files: TOML, --config-fd
# --------------------------------------------------------------------------

class LaunchFiles(unittest.TestCase, Refusal):
    def setUp(self):
        self.base = make_tmpdir(self)
        self.vol = os.path.join(self.base, "vol")
        write_file(os.path.join(self.vol, "v.txt"), "from volume\n")
        self.sec = write_file(os.path.join(self.base, "sec"), "toml-secret\n")

    def write(self, name, text):
        return write_file(os.path.join(self.base, name), text)

    CMD = ["sh", "-c", "echo $FOO $BAR; cat /mnt/v/v.txt /run/secrets/tok; hostname; "
           "echo ok > /scratch/x && cat /scratch/x"]

    def toml(self, result):
        return """# a launch file
command = [{cmd}]
env = ["FOO=bar", "BAR=baz"]
memory = "64M"
volume = ["{vol}:/mnt/v:ro"]
secret = ["{sec}:tok"]
tmpfs = ["/scratch:size=1M"]
hostname = "tomlhost"
pids = 64
result_json = "{res}"
""".format(cmd=", ".join(json.dumps(c) for c in self.CMD), vol=self.vol, sec=self.sec,
           res=result)

    def test_toml_equivalent_to_flags(self):
        r1 = os.path.join(self.base, "r1.json")
        r2 = os.path.join(self.base, "r2.json")
        a = run(["run", "--config", self.write("c.toml", self.toml(r1))])
        b = amber_run(self.CMD, "-e", "FOO=bar", "-e", "BAR=baz", "--memory", "64M",
                      "--volume", self.vol + ":/mnt/v:ro", "--secret", self.sec + ":tok",
                      "--tmpfs", "/scratch:size=1M", "--hostname", "tomlhost", "--pids", "64",
                      "--result-json", r2)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertEqual(a.stdout, "bar baz\nfrom volume\ntoml-secret\ntomlhost\nok\n")
        self.assertEqual(a.stdout, b.stdout)
        self.assertEqual(a.stderr, b.stderr)
        with open(r1) as f1, open(r2) as f2:
            self.assertEqual(json.load(f1)["spec_digest"], json.load(f2)["spec_digest"])

    def test_config_fd_toml_and_json(self):
        r1 = os.path.join(self.base, "r1.json")
        texts = {
            "toml": self.toml(r1),
            "json": json.dumps({"command": self.CMD, "env": ["FOO=bar", "BAR=baz"],
                                "volume": [self.vol + ":/mnt/v:ro"],
                                "secret": [self.sec + ":tok"], "tmpfs": "/scratch",
                                "hostname": "tomlhost"}),
        }
        for kind, text in texts.items():
            with self.subTest(kind=kind):
                fd = data_fd(text)
                try:
                    r = run(["run", "--config-fd", str(fd)], pass_fds=(fd,))
                finally:
                    os.close(fd)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, "bar baz\nfrom volume\ntoml-secret\ntomlhost\nok\n")

    def test_unknown_keys(self):
        cases = {
            "k.toml": ('command = ["true"]\nbogus_key = 1\n', "bogus_key"),
            "t.toml": ('command = ["true"]\n[bogus_table]\nx = 1\n', "bogus_table"),
            "d.toml": ('command = ["true"]\nservice-mode = "agent"\n', "service-mode"),
            "k.json": (json.dumps({"command": ["true"], "bogus_key": 1}), "bogus_key"),
        }
        for name, (text, key) in cases.items():
            with self.subTest(file=name):
                r = run(["run", "--config", self.write(name, text)])
                self.assertEqual(r.returncode, 125, r.stderr)
                self.assertIn(key, r.stderr)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)

    def test_syntax_errors_name_line_and_column(self):
        cases = {
            "s1.toml": 'command = ["true"]\nhostname = "a"\npids = = 3\n',
            "s2.toml": 'command = ["true"]\n\nhostname = "unterminated\n',
            "s3.toml": 'command = ["true"\nhostname = "x"\n\n',
            "s.json": '{\n  "command": ["true"],\n  "hostname": nope\n}\n',
        }
        for name, text in cases.items():
            with self.subTest(file=name):
                r = run(["run", "--config", self.write(name, text)])
                self.assertEqual(r.returncode, 125, r.stderr)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                m = re.search(r"line (\d+),? column (\d+)", r.stderr)
                self.assertIsNotNone(m, r.stderr)
                if name in ("s1.toml", "s2.toml", "s.json"):
                    self.assertEqual(m.group(1), "3", r.stderr)
                self.assertGreater(int(m.group(2)), 0)
        fd = data_fd('command = ["true"]\npids = = 3\n')
        try:
            r = run(["run", "--config-fd", str(fd)], pass_fds=(fd,))
        finally:
            os.close(fd)
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertRegex(r.stderr, r"line 2,? column \d+")

    def test_mixing_refused(self):
        cfg = self.write("m.toml", 'command = ["echo", "WORKLOAD-RAN"]\n')
        for extra in (["--config", cfg, "--hostname", "x"], ["--hostname", "x", "--config", cfg],
                      ["--config", cfg, "--", "true"], ["--config", cfg, "--secret",
                                                         self.sec + ":x"]):
            with self.subTest(extra=extra):
                r = run(["run", *extra])
                self.assertEqual(r.returncode, 125, r.stderr)
                self.assertNotIn("WORKLOAD-RAN", r.stdout)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        fd = data_fd('command = ["true"]\n')
        try:
            r = run(["run", "--config-fd", str(fd), "--pids", "3"], pass_fds=(fd,))
            self.assertEqual(r.returncode, 125, r.stderr)
        finally:
            os.close(fd)
        fd = data_fd('command = ["true"]\n')
        try:
            r = run(["run", "--config-fd", str(fd), "--config", cfg], pass_fds=(fd,))
            self.assertEqual(r.returncode, 125, r.stderr)
        finally:
            os.close(fd)

    def test_config_fd_bad(self):
        r = run(["run", "--config-fd", "57"])
        self.assertEqual(r.returncode, 125, r.stderr)
        r = run(["run", "--config-fd", "x"])
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("x", r.stderr)


if __name__ == "__main__":
    unittest.main()
