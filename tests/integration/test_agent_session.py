"""End to end: a coding agent's session.

A small C project on the host is handed to the sandbox as --workspace
(executable, bind-rw and copy-in-out); the host's gcc (from the read-only
/usr) builds it and runs its test program inside; the binary and a results
file land back in the host tree; an API token given with --secret is
readable by the workload at /run/secrets/api_token only (not in /workspace,
not in the environment, not at its host path), and nothing is left behind
(cgroups, processes, mounts).
"""
import hashlib
import os
import subprocess
import unittest
import uuid

from helpers import (cgroup_leftovers, cgroups_usable, make_tmpdir, mount_table,
                     pids_with_marker, popen, skip, tree_snapshot, wait_for_line, wait_gone,
                     wait_no_cgroup, write_file)

CGROUPS, _WHY = cgroups_usable()

ADD_C = "int add(int a, int b) { return a + b; }\n"

TEST_C = r"""#include <stdio.h>
#include <string.h>
int add(int, int);
int main(void) {
    char tok[256] = "";
    FILE *s = fopen("/run/secrets/api_token", "r");
    if (s != NULL) {
        if (fgets(tok, sizeof tok, s) == NULL)
            tok[0] = '\0';
        fclose(s);
    }
    int ok = add(2, 3) == 5 && add(-1, 1) == 0;
    printf("add: %s\n", ok ? "PASS" : "FAIL");
    printf("token-length: %zu\n", strlen(tok));
    return ok ? 0 : 1;
}
"""

MAKEFILE = """CC = gcc
test_add: add.c test_add.c
\t$(CC) -O1 -Wall -o $@ add.c test_add.c
results.txt: test_add
\t./test_add > results.txt
check: results.txt
\tcat results.txt
.PHONY: check
"""

# Runs in /workspace. The token's bytes never appear on a command line:
# grep reads its pattern from the secret file itself.
SESSION = r"""set -e
make check
echo "token-sha256: $(sha256sum /run/secrets/api_token | cut -d' ' -f1)" >> results.txt
if grep -rqF -f /run/secrets/api_token /workspace; then echo "LEAK: token under /workspace"; fi
if grep -qF -f /run/secrets/api_token /proc/self/environ; then echo "LEAK: token in environ"; fi
if env | grep -qF -f /run/secrets/api_token; then echo "LEAK: token in env"; fi
if test -e "$HOST_SECRET_PATH"; then echo "LEAK: host secret path visible"; fi
echo session-built
read _continue
echo session-done
"""


class AgentSession(unittest.TestCase):
    def setUp(self):
        if not os.path.exists("/usr/bin/gcc") or not os.path.exists("/usr/bin/make"):
            skip(self, "needs gcc and make in the host's /usr")
        self.base = make_tmpdir(self)
        self.proj = os.path.join(self.base, "project")
        write_file(os.path.join(self.proj, "add.c"), ADD_C)
        write_file(os.path.join(self.proj, "test_add.c"), TEST_C)
        write_file(os.path.join(self.proj, "Makefile"), MAKEFILE)
        self.token = "tok-" + uuid.uuid4().hex
        self.secret = write_file(os.path.join(self.base, "secrets", "api_token"), self.token)
        os.chmod(self.secret, 0o600)
        self.marker = "amber-agent-session-" + uuid.uuid4().hex[:12]
        self.mounts_before = mount_table()

    def session(self, mode):
        before = tree_snapshot(self.proj)
        p = popen(["sh", "-c", SESSION + "# " + self.marker],
                  "--workspace", self.proj, "--workspace-mode", mode, "--workspace-exec",
                  "--secret", self.secret + ":api_token",
                  "-e", "HOST_SECRET_PATH=" + self.secret,
                  "--memory", "512M", "--timeout", "60", "-i", stdin=subprocess.PIPE)
        try:
            # Mid-session: the sandbox's processes (and, with cgroups, its
            # cgroup) exist, so the "nothing left" checks below mean something.
            lines = wait_for_line(p.stdout, "session-built", timeout=60)
            self.assertTrue(pids_with_marker(self.marker), "no sandbox process seen")
            if CGROUPS:
                self.assertTrue(cgroup_leftovers(p.pid), "no amber-%d cgroup seen" % p.pid)
            out, err = p.communicate("\n", timeout=60)
            out = "".join(lines) + out
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (out, err))
        self.assertIn("session-done", out)
        self.assertNotIn("LEAK", out)
        self.assertNotIn(self.token, out + err)

        # The build results are in the host tree.
        binary = os.path.join(self.proj, "test_add")
        with open(binary, "rb") as f:
            self.assertEqual(f.read(4), b"\x7fELF", "test_add is not an ELF binary")
        self.assertTrue(os.stat(binary).st_mode & 0o100, "test_add lost its exec bit")
        with open(os.path.join(self.proj, "results.txt")) as f:
            results = f.read()
        self.assertIn("add: PASS\n", results)
        self.assertIn("token-length: %d\n" % len(self.token), results,
                      "the test program could not read the secret")
        self.assertIn("token-sha256: %s\n" % hashlib.sha256(self.token.encode()).hexdigest(),
                      results)
        # The sources are untouched and the token is nowhere in the tree.
        after = tree_snapshot(self.proj)
        for rel in ("add.c", "test_add.c", "Makefile"):
            self.assertEqual(after[rel], before[rel], rel)
        self.assertEqual(set(after), set(before) | {"test_add", "results.txt"})
        for rel in after:
            p_ = os.path.join(self.proj, rel)
            if os.path.isfile(p_):
                with open(p_, "rb") as f:
                    self.assertNotIn(self.token.encode(), f.read(), rel)

        # Nothing left behind.
        self.assertEqual(wait_no_cgroup(p.pid, timeout=3.0), [], "cgroup dirs left behind")
        self.assertEqual(wait_gone(lambda: pids_with_marker(self.marker), timeout=3.0), [],
                         "processes left behind")
        self.assertEqual(mount_table(), self.mounts_before, "the caller's mounts changed")
        with open(self.secret) as f:
            self.assertEqual(f.read(), self.token, "the secret's source changed")

    def test_bind_rw(self):
        self.session("bind-rw")

    def test_copy_in_out(self):
        self.session("copy-in-out")

    def test_copy_in_out_failed_build_leaves_host_tree(self):
        # A failing test run: nothing of the session reaches the host.
        with open(os.path.join(self.proj, "add.c"), "w") as f:
            f.write("int add(int a, int b) { return a - b; }\n")
        before = tree_snapshot(self.proj)
        p = popen(["sh", "-c", "make check || { cat results.txt; exit 1; } # " + self.marker],
                  "--workspace", self.proj, "--workspace-mode", "copy-in-out",
                  "--workspace-exec", "--secret", self.secret + ":api_token")
        out, err = p.communicate(timeout=90)
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn("add: FAIL", out)
        self.assertEqual(tree_snapshot(self.proj), before)
        self.assertEqual(wait_no_cgroup(p.pid, timeout=3.0), [])
        self.assertEqual(wait_gone(lambda: pids_with_marker(self.marker), timeout=3.0), [])


if __name__ == "__main__":
    unittest.main()
