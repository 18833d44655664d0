"""Escape battery: each test makes one attempt, from inside a sandbox, to
reach the host or gain privilege, and asserts that the attempt FAILS (with
the expected errno where one is meaningful).

Each attempt is a python3 snippet run with `amber run -- python3 -c`; it
prints one line "RESULT {json}" (ok: did the attempt succeed, errno) or
"SKIP reason" when this architecture/kernel cannot express it.
"""
import errno
import json
import os
import platform
import unittest

from helpers import AMBER, IS_ROOT, amber_run, inside, run, sha256_file, skip

E = errno

PRELUDE = r'''
import ctypes, errno, json, os, platform, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {
  'x86_64': dict(mount=165, umount2=166, pivot_root=155, unshare=272, setns=308, clone=56,
    clone3=435, ptrace=101, keyctl=250, add_key=248, request_key=249, bpf=321,
    perf_event_open=298, init_module=175, finit_module=313, delete_module=176, kexec_load=246,
    kexec_file_load=320, reboot=169, iopl=172, ioperm=173, open_by_handle_at=304,
    name_to_handle_at=303, chroot=161, userfaultfd=323, io_uring_setup=425, swapon=167,
    clock_settime=227, settimeofday=164, syslog=103, process_vm_readv=310,
    process_vm_writev=311, kcmp=312, pidfd_open=434, pidfd_getfd=438, mprotect=10,
    fsopen=430, open_tree=428, move_mount=429, sethostname=170, setdomainname=171,
    personality=135, acct=163, quotactl=179, capset=126),
  'aarch64': dict(mount=40, umount2=39, pivot_root=41, unshare=97, setns=268, clone=220,
    clone3=435, ptrace=117, keyctl=219, add_key=217, request_key=218, bpf=280,
    perf_event_open=241, init_module=105, finit_module=273, delete_module=106, kexec_load=104,
    kexec_file_load=294, reboot=142, open_by_handle_at=265, name_to_handle_at=264, chroot=51,
    userfaultfd=282, io_uring_setup=425, swapon=224, clock_settime=112, settimeofday=170,
    syslog=116, process_vm_readv=270, process_vm_writev=271, kcmp=272, pidfd_open=434,
    pidfd_getfd=438, mprotect=226, fsopen=430, open_tree=428, move_mount=429,
    sethostname=161, setdomainname=162, personality=92, acct=89, quotactl=60, capset=91),
}.get(platform.machine(), {})

def result(ok, err=0, note=''):
    print('RESULT ' + json.dumps({'ok': ok, 'errno': err,
                                  'errname': errno.errorcode.get(err, str(err)),
                                  'note': str(note)}), flush=True)
    sys.exit(0)

def fail(err, note=''):
    result(False, err, note)

def succeed(note=''):
    result(True, 0, note)

def skip(why):
    print('SKIP ' + why, flush=True)
    sys.exit(0)

def sc(name, *args):
    if name not in NR:
        skip('no syscall %s on %s' % (name, platform.machine()))
    a = [ctypes.c_long(x) if isinstance(x, int) else x for x in args]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR[name]), *a)
    return r, ctypes.get_errno()

def attempt_sc(name, *args):
    r, e = sc(name, *args)
    if r == -1:
        fail(e)
    succeed('returned %d' % r)

def attempt(fn):
    try:
        note = fn()
    except OSError as x:
        fail(x.errno, x)
    succeed(note)
'''

EPERM = {E.EPERM}


class A:
    """One escape attempt: snippet, accepted errnos (None: any failure),
    extra amber args, and whether it needs root on the host."""

    def __init__(self, name, code, errnos=EPERM, args=(), root=False, doc=""):
        self.name, self.code, self.errnos, self.args, self.root = name, code, errnos, args, root
        self.doc = doc


HOST_PID = os.getpid()

ATTEMPTS = [
    # --- mounts and the filesystem view
    A("mount_tmpfs", "attempt_sc('mount', b'none', b'/tmp', b'tmpfs', 0, None)"),
    A("mount_bind_root", "attempt_sc('mount', b'/', b'/tmp', None, 0x1000, None)"),  # MS_BIND
    A("umount_proc", "attempt_sc('umount2', b'/proc', 2)"),  # MNT_DETACH
    A("umount_masked_kallsyms", "attempt_sc('umount2', b'/proc/kallsyms', 2)"),
    A("pivot_root", "attempt_sc('pivot_root', b'/tmp', b'/tmp')"),
    A("chroot", "attempt_sc('chroot', b'/tmp')"),
    A("fsopen", "attempt_sc('fsopen', b'tmpfs', 0)"),
    A("open_tree_clone", "attempt_sc('open_tree', -100, b'/', 1)"),  # OPEN_TREE_CLONE
    A("mount_cgroup_v1", "attempt_sc('mount', b'cgroup', b'/tmp', b'cgroup', 0, b'pids')"),
    A("mount_cgroup2", "attempt_sc('mount', b'cgroup2', b'/tmp', b'cgroup2', 0, None)"),
    A("host_cgroup_tree_unreachable", r"""
if os.path.exists('/sys'):
    succeed('/sys exists inside')
for line in open('/proc/self/cgroup'):
    if not line.rstrip().endswith(':/'):
        succeed('cgroup path visible: ' + line.strip())
attempt_sc('mount', b'cgroup', b'/tmp', b'cgroup', 0, b'memory')
""", doc="/sys absent, /proc/self/cgroup shows '/', and cgroupfs cannot be mounted"),
    # --- namespaces
    A("unshare_user", "attempt_sc('unshare', 0x10000000)"),
    A("unshare_mnt", "attempt_sc('unshare', 0x00020000)"),
    A("unshare_net", "attempt_sc('unshare', 0x40000000)"),
    A("unshare_pid", "attempt_sc('unshare', 0x20000000)"),
    A("setns_init_mnt", r"""
try:
    fd = os.open('/proc/1/ns/mnt', os.O_RDONLY)
except OSError as x:
    fail(x.errno, 'open')
attempt_sc('setns', fd, 0)
""", errnos={E.EPERM, E.EACCES}),
    A("clone_newuser", r"""
r, e = sc('clone', 0x10000000 | 17, 0, 0, 0, 0)   # CLONE_NEWUSER | SIGCHLD
if r == 0:
    os._exit(0)
if r > 0:
    os.waitpid(r, 0)
    succeed('child %d' % r)
fail(e)
"""),
    A("clone_newns_newpid", r"""
r, e = sc('clone', 0x00020000 | 0x20000000 | 17, 0, 0, 0, 0)
if r == 0:
    os._exit(0)
if r > 0:
    os.waitpid(r, 0)
    succeed('child %d' % r)
fail(e)
"""),
    A("clone3_newuser", r"""
args = struct.pack('QQQQQQQQ', 0x10000000, 0, 0, 0, 17, 0, 0, 0)
buf = ctypes.create_string_buffer(args)
r, e = sc('clone3', buf, len(args))
if r == 0:
    os._exit(0)
if r > 0:
    os.waitpid(r, 0)
    succeed('child %d' % r)
fail(e)
""", errnos={E.ENOSYS, E.EPERM}),
    # --- other processes
    A("ptrace_attach_init", "attempt_sc('ptrace', 16, 1, 0, 0)"),  # PTRACE_ATTACH
    A("ptrace_attach_host_pid", "attempt_sc('ptrace', 16, %d, 0, 0)" % HOST_PID,
      errnos={E.EPERM, E.ESRCH}),
    A("ptrace_seize_init", "attempt_sc('ptrace', 0x4206, 1, 0, 0)"),  # PTRACE_SEIZE
    A("process_vm_readv_init", r"""
buf = ctypes.create_string_buffer(64)
local = struct.pack('QQ', ctypes.addressof(buf), 64)
remote = struct.pack('QQ', 0x400000, 64)
lb, rb = ctypes.create_string_buffer(local), ctypes.create_string_buffer(remote)
attempt_sc('process_vm_readv', 1, lb, 1, rb, 1, 0)
""", errnos={E.EPERM}),
    A("process_vm_writev_init", r"""
buf = ctypes.create_string_buffer(b'x' * 8)
local = struct.pack('QQ', ctypes.addressof(buf), 8)
remote = struct.pack('QQ', 0x400000, 8)
lb, rb = ctypes.create_string_buffer(local), ctypes.create_string_buffer(remote)
attempt_sc('process_vm_writev', 1, lb, 1, rb, 1, 0)
"""),
    A("pidfd_getfd_init", r"""
r, e = sc('pidfd_open', 1, 0)
if r < 0:
    fail(e, 'pidfd_open')
attempt_sc('pidfd_getfd', r, 0, 0)
"""),
    A("kcmp_init", "attempt_sc('kcmp', 1, 2, 0, 0, 0)"),
    # --- kernel interfaces
    A("keyctl", "attempt_sc('keyctl', 0, -3, 0)"),  # KEYCTL_GET_KEYRING_ID, session
    A("add_key", "attempt_sc('add_key', b'user', b'amber', b'data', 4, -2)"),
    A("request_key", "attempt_sc('request_key', b'user', b'amber', None, -2)"),
    A("bpf_map_create", r"""
attr = ctypes.create_string_buffer(struct.pack('IIII', 2, 4, 4, 1) + bytes(112))
attempt_sc('bpf', 0, attr, 128)
"""),
    A("perf_event_open", r"""
attr = ctypes.create_string_buffer(struct.pack('IIQ', 1, 128, 0) + bytes(112))  # SW, cpu-clock
attempt_sc('perf_event_open', attr, 0, -1, -1, 0)
"""),
    A("init_module", r"""
img = ctypes.create_string_buffer(b'\x7fELF' + bytes(60))
attempt_sc('init_module', img, 64, b'')
"""),
    A("finit_module", r"""
fd = os.open('/usr/bin/python3', os.O_RDONLY)
attempt_sc('finit_module', fd, b'', 0)
"""),
    A("delete_module", "attempt_sc('delete_module', b'loop', 0x800)"),  # O_NONBLOCK
    A("kexec_load", "attempt_sc('kexec_load', 0, 0, None, 0)"),
    A("kexec_file_load", "attempt_sc('kexec_file_load', -1, -1, 0, None, 4)"),  # UNLOAD
    A("reboot_cad_off", "attempt_sc('reboot', 0xfee1dead, 672274793, 0, None)"),
    A("iopl", "attempt_sc('iopl', 3)"),
    A("ioperm", "attempt_sc('ioperm', 0x80, 1, 1)"),
    A("userfaultfd", "attempt_sc('userfaultfd', 0)"),
    A("io_uring_setup", r"""
params = ctypes.create_string_buffer(120)
attempt_sc('io_uring_setup', 8, params)
"""),
    A("swapon", r"""
open('/tmp/swapfile', 'wb').write(bytes(65536))
attempt_sc('swapon', b'/tmp/swapfile', 0)
"""),
    A("clock_settime", r"""
import time
t = time.clock_gettime_ns(time.CLOCK_REALTIME)
ts = ctypes.create_string_buffer(struct.pack('qq', t // 10**9, t % 10**9))
attempt_sc('clock_settime', 0, ts)
"""),
    A("syslog_read_all", r"""
buf = ctypes.create_string_buffer(4096)
attempt_sc('syslog', 3, buf, 4096)   # SYSLOG_ACTION_READ_ALL (READ would block)
"""),
    A("syslog_read", r"""
buf = ctypes.create_string_buffer(4096)
attempt_sc('syslog', 2, buf, 4096)
"""),
    A("sethostname_syscall", "attempt_sc('sethostname', b'evil', 4)"),
    A("setdomainname", "attempt_sc('setdomainname', b'evil', 4)"),
    A("personality_read_implies_exec", "attempt_sc('personality', 0x0400000)"),
    A("acct", "attempt_sc('acct', b'/tmp/acct')"),
    A("capset_raise", r"""
hdr = ctypes.create_string_buffer(struct.pack('Ii', 0x20080522, 0))
data = ctypes.create_string_buffer(struct.pack('IIIIII', 0xffffffff, 0xffffffff, 0, 0x3f, 0x3f, 0))
attempt_sc('capset', hdr, data)
"""),
    A("setuid_root", "attempt(lambda: os.setresuid(0, 0, 0))", errnos={E.EPERM, E.EINVAL},
      args=("--user", "1000:1000"), root=True),
    A("mprotect_wx", r"""
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
addr = libc.mmap(None, 4096, 3, 0x22, -1, 0)   # RW, MAP_PRIVATE|MAP_ANONYMOUS
attempt_sc('mprotect', addr, 4096, 7)          # RWX
"""),
    # --- file handles ("shocker")
    A("open_by_handle_at", r"""
h = ctypes.create_string_buffer(struct.pack('Ii', 8, 1) + struct.pack('Q', 2))
attempt_sc('open_by_handle_at', -100, h, 0)
"""),
    A("name_to_handle_at", r"""
h = ctypes.create_string_buffer(struct.pack('Ii', 128, 0) + bytes(128))
mid = ctypes.c_int(0)
attempt_sc('name_to_handle_at', -100, b'/usr', h, ctypes.byref(mid), 0)
"""),
    # --- sockets
    A("raw_socket", "attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))"),
    A("raw_socket_v6", "attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_RAW, 58))"),
    A("packet_socket", "attempt(lambda: socket.socket(17, socket.SOCK_RAW, 0x0300))"),
    A("netlink_audit_socket", "attempt(lambda: socket.socket(16, socket.SOCK_RAW, 9))"),
    A("netlink_uevent_socket", "attempt(lambda: socket.socket(16, socket.SOCK_DGRAM, 15))"),
    A("af_alg_socket", "attempt(lambda: socket.socket(38, socket.SOCK_SEQPACKET, 0))"),
    A("vsock_socket", "attempt(lambda: socket.socket(40, socket.SOCK_STREAM, 0))"),
    # --- devices
    A("mknod_block_device", r"""
import stat
attempt(lambda: os.mknod('/tmp/sda', 0o600 | stat.S_IFBLK, os.makedev(8, 0)))
""", errnos={E.EPERM, E.EACCES}),
    A("mknod_char_mem", r"""
import stat
attempt(lambda: os.mknod('/tmp/mem', 0o600 | stat.S_IFCHR, os.makedev(1, 1)))
""", errnos={E.EPERM, E.EACCES}),
    A("tiocsti", r"""
import fcntl, termios
m, s = os.openpty()
name = os.ttyname(s)
rd, wr = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    fd = os.open(name, os.O_RDWR)      # becomes the controlling terminal
    try:
        fcntl.ioctl(fd, termios.TIOCSTI, b'x')
        os.write(wr, b'0')
    except OSError as x:
        os.write(wr, str(x.errno).encode())
    os._exit(0)
os.waitpid(pid, 0)
e = int(os.read(rd, 16))
if e == 0:
    succeed('TIOCSTI injected a byte')
fail(e)
""", errnos={E.EPERM, E.EIO}),
    A("no_host_devices", r"""
bad = [d for d in os.listdir('/dev') if d in ('mem', 'kmem', 'port', 'sda', 'vda', 'kvm',
       'fuse', 'net', 'kmsg', 'loop0', 'loop-control', 'dri', 'nvme0')]
if bad:
    succeed('host devices visible: %s' % bad)
attempt(lambda: open('/dev/kmsg', 'rb'))
""", errnos={E.ENOENT}),
    # --- /proc
    A("write_sysrq_trigger", r"""
def w():
    with open('/proc/sysrq-trigger', 'w') as f:
        f.write('h')
attempt(w)
""", errnos=None),
    A("read_kcore", r"""
try:
    data = open('/proc/kcore', 'rb').read(4096)
except OSError as x:
    fail(x.errno)
if data:
    succeed('%d bytes' % len(data))
fail(0, 'empty')
""", errnos=None),
    A("write_core_pattern", r"""
def w():
    with open('/proc/sys/kernel/core_pattern', 'w') as f:
        f.write('|/tmp/evil')
attempt(w)
""", errnos={E.EROFS, E.EACCES, E.EPERM}),
    A("write_proc_sys_vm", r"""
def w():
    with open('/proc/sys/vm/drop_caches', 'w') as f:
        f.write('3')
attempt(w)
""", errnos={E.EROFS, E.EACCES, E.EPERM}),
    A("proc_self_exe_write", "attempt(lambda: os.open('/proc/self/exe', os.O_WRONLY))",
      errnos={E.ETXTBSY, E.EACCES, E.EROFS, E.EPERM}),
    A("proc_1_exe_write", "attempt(lambda: os.open('/proc/1/exe', os.O_WRONLY))",
      errnos={E.ETXTBSY, E.EACCES, E.EROFS, E.EPERM, E.ENOENT}),
    A("proc_1_exe_truncate", "attempt(lambda: os.truncate('/proc/1/exe', 0))",
      errnos={E.ETXTBSY, E.EACCES, E.EROFS, E.EPERM, E.ENOENT}),
    A("proc_1_root_escape", r"""
# /proc/1/root is init's root, i.e. the sandbox's own: no host files there
# (and init is not dumpable: the link cannot even be followed).
try:
    names = set(os.listdir('/proc/1/root'))
except OSError as x:
    fail(x.errno, x)
if names != set(os.listdir('/')):
    succeed('/proc/1/root differs from /: %s' % sorted(names ^ set(os.listdir('/'))))
attempt(lambda: open('/proc/1/root/work/main/meson.build'))
""", errnos={E.ENOENT, E.EACCES}),
    # --- privilege through exec
    A("setuid_binary", r"""
import subprocess
euids = []
for b in ('/usr/bin/su', '/bin/su', '/usr/bin/passwd', '/usr/bin/newgrp', '/usr/bin/mount'):
    if not os.path.exists(b) or not os.stat(b).st_mode & 0o4000:
        continue
    p = subprocess.Popen([b], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    # Popen returns after exec; the child is at worst a zombie (not reaped
    # yet), whose credentials /proc still shows.
    st = open('/proc/%d/status' % p.pid).read()
    uid = [l.split()[1:] for l in st.splitlines() if l.startswith('Uid:')][0]
    euids.append((b, uid))
    p.kill()
    p.wait()
if not euids:
    skip('no setuid-root binary on this host')
if any(int(u[1]) == 0 for _, u in euids):
    succeed('euid 0 through %s' % euids)
r = subprocess.run(['su', '-c', 'id -u', 'root'], stdin=subprocess.DEVNULL,
                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
if r.returncode == 0 and r.stdout.strip() == b'0':
    succeed('su gave root')
fail(errno.EPERM, str(euids))
""", args=("--user", "1000:1000"), root=True, errnos=None,
      doc="setuid-root binaries run as --user 1000 keep euid 1000 (no_new_privs, nosuid)"),
    A("setuid_binary_rootless", r"""
import subprocess
b = '/usr/bin/passwd' if os.path.exists('/usr/bin/passwd') else '/usr/bin/su'
if not os.path.exists(b) or not os.stat(b).st_mode & 0o4000:
    skip('no setuid-root binary on this host')
p = subprocess.Popen([b], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
st = open('/proc/%d/status' % p.pid).read()
uid = [l.split()[1:] for l in st.splitlines() if l.startswith('Uid:')][0]
p.kill(); p.wait()
if int(uid[1]) != os.geteuid():
    succeed('euid changed: %s' % uid)
fail(errno.EPERM, str(uid))
""", errnos=None, doc="the workload's own identity survives a setuid-root exec"),
    A("exec_written_file", r"""
import shutil, subprocess
shutil.copy('/usr/bin/true', '/tmp/mytrue')
os.chmod('/tmp/mytrue', 0o755)
attempt(lambda: subprocess.run(['/tmp/mytrue'], check=True))
""", errnos={E.EACCES}, doc="Landlock: what the workload wrote cannot be executed"),
    A("exec_written_file_home", r"""
import shutil
shutil.copy('/usr/bin/true', '/home/agent/mytrue')
os.chmod('/home/agent/mytrue', 0o755)
attempt(lambda: os.execv('/home/agent/mytrue', ['mytrue']))
""", errnos={E.EACCES}),
    A("inherited_fd_leak", r"""
fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))
extra = [f for f in fds if f > 3]
if extra:
    succeed('inherited fds: %s -> %s' % (extra, [os.readlink('/proc/self/fd/%d' % f) for f in extra]))
fail(errno.EBADF, str(fds))
""", errnos=None, doc="a host directory fd open in amber's caller does not reach the workload"),
]


def binary_identity():
    st = os.stat(AMBER)
    return (st.st_dev, st.st_ino, sha256_file(AMBER))


def check_binary_unchanged(before, test=None):
    """The amber binary's content is unchanged. A rebuild by another
    engineer replaces the file (new inode): that is not a write through
    /proc/<pid>/exe, which would keep the inode."""
    after = binary_identity()
    if after[:2] != before[:2]:
        return  # replaced by a rebuild, not modified in place
    if after[2] != before[2]:
        raise AssertionError("the amber binary %s was modified in place" % AMBER)


class Escape(unittest.TestCase):
    """One method per attempt (generated below)."""

    @classmethod
    def setUpClass(cls):
        cls.amber_id = binary_identity()

    @classmethod
    def tearDownClass(cls):
        # Nothing inside may have modified the amber binary (/proc/1/exe).
        check_binary_unchanged(cls.amber_id)

    def attempt(self, a):
        if a.root and not IS_ROOT:
            skip(self, "needs root on the host (uses --user)")
        kw = {}
        if a.name == "inherited_fd_leak":
            fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
            self.addCleanup(os.close, fd)
            kw["pass_fds"] = (fd,)
        r = inside(PRELUDE + a.code, *a.args, timeout=20, **kw)
        out = r.stdout.strip().splitlines()
        last = out[-1] if out else ""
        if last.startswith("SKIP "):
            skip(self, last[5:])
        self.assertTrue(last.startswith("RESULT "),
                        "no result (exit %d): stdout=%r stderr=%r" % (r.returncode, r.stdout,
                                                                       r.stderr))
        res = json.loads(last[7:])
        self.assertFalse(res["ok"], "ESCAPE SUCCEEDED: %s (%s)" % (a.name, res["note"]))
        if a.errnos is not None:
            self.assertIn(res["errno"], a.errnos,
                          "%s failed, but with %s (expected %s) %s" % (
                              a.name, res["errname"],
                              "/".join(errno.errorcode[e] for e in a.errnos), res["note"]))
        return res


def _make(a):
    def test(self):
        self.attempt(a)
    test.__name__ = "test_" + a.name
    test.__doc__ = a.doc or None
    return test


for _a in ATTEMPTS:
    assert not hasattr(Escape, "test_" + _a.name), _a.name
    setattr(Escape, "test_" + _a.name, _make(_a))


class EscapeAbi(unittest.TestCase):
    """Foreign syscall ABIs kill the process (SIGSYS): a filter checked
    against the wrong syscall table would be a hole."""

    def run_abi(self, code):
        if platform.machine() != "x86_64":
            skip(self, "x86_64-only ABI check")
        r = inside(code)
        self.assertNotIn("returned", r.stdout, "foreign-ABI syscall returned: " + r.stdout)
        self.assertEqual(r.returncode, 128 + 31, "expected death by SIGSYS: " + r.stderr)

    def test_x32_syscall_killed(self):
        self.run_abi(r"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
r = libc.syscall(ctypes.c_long(0x40000000 | 39))     # x32 getpid
print('returned', r, ctypes.get_errno())
""")

    def test_i386_int80_killed(self):
        self.run_abi(r"""
import ctypes
code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax,20 (getpid); int 0x80; ret
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
a = libc.mmap(None, 4096, 3, 0x22, -1, 0)           # RW
ctypes.memmove(a, code, len(code))
assert libc.mprotect(a, 4096, 5) == 0                # RX
print('returned', ctypes.CFUNCTYPE(ctypes.c_int)(a)())
""")


class EscapeHostState(unittest.TestCase):
    """After the attempts that target amber's binary: the host file is
    unchanged (checked per test, not only at class teardown)."""

    def test_amber_binary_unchanged_by_exe_writes(self):
        before = binary_identity()
        code = PRELUDE + r"""
errs = []
for p in ('/proc/1/exe', '/proc/self/exe'):
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND):
        try:
            fd = os.open(p, flags)
            os.write(fd, b'pwned')
            succeed('%s opened for writing' % p)
        except OSError as x:
            errs.append(x.errno)
fail(errs[0], str(errs))
"""
        r = inside(code)
        self.assertIn("RESULT", r.stdout, r.stderr)
        res = json.loads(r.stdout.split("RESULT ", 1)[1])
        self.assertFalse(res["ok"], res["note"])
        check_binary_unchanged(before)

    def test_host_abstract_socket_unreachable(self):
        import socket
        import uuid
        name = "\0amber-it-" + uuid.uuid4().hex
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(srv.close)
        srv.bind(name)
        srv.listen(1)
        code = PRELUDE + r"""
import sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
attempt(lambda: s.connect(sys.argv[1].replace('@', '\0', 1)))
"""
        arg = "@" + name[1:]
        # Default: another network namespace, so another abstract namespace.
        r = amber_run(["python3", "-c", code, arg])
        res = json.loads(r.stdout.split("RESULT ", 1)[1])
        self.assertFalse(res["ok"], "reached a host abstract socket with --network none")
        self.assertEqual(res["errno"], E.ECONNREFUSED)
        # --network host shares the abstract namespace; Landlock ABI >= 6
        # scopes abstract sockets to the sandbox.
        abi = json.loads(run(["check", "--json"]).stdout).get("landlock_abi", 0)
        if abi < 6:
            skip(self, "Landlock ABI %d < 6: no abstract unix socket scoping" % abi)
        r = amber_run(["python3", "-c", code, arg], "--network", "host", "--allow-host-network")
        res = json.loads(r.stdout.split("RESULT ", 1)[1])
        self.assertFalse(res["ok"], "reached a host abstract socket with --network host")
        self.assertEqual(res["errno"], E.EPERM)

    def test_host_sysv_ipc_invisible(self):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        shmid = libc.shmget(0, 4096, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
        if shmid < 0:
            skip(self, "cannot create a SysV shm segment on the host (errno %d)"
                 % ctypes.get_errno())
        self.addCleanup(libc.shmctl, shmid, 0, None)  # IPC_RMID
        with open("/proc/sysvipc/shm") as f:
            self.assertIn(" %d " % shmid, f.read())
        r = inside("print(len(open('/proc/sysvipc/shm').read().splitlines()))")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "1", "host SysV shm segments visible inside")

    def test_hostname_unchanged(self):
        import socket
        before = socket.gethostname()
        inside("import socket; socket.sethostname('evil') if hasattr(socket, 'sethostname') else 0",
               "--hostname", "inner")
        self.assertEqual(socket.gethostname(), before)


if __name__ == "__main__":
    unittest.main()
