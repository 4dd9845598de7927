#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Root in the target namespace gets nothing of our processes: for the
forwarder and its helper (which lives in the target's user namespace),
reading and writing through /proc/PID/root and /proc/PID/cwd, following
/proc/PID/fd/*, opening /proc/PID/mem and ptrace are all denied. The
target hides a folder of the host's with a tmpfs; a secret file in it must
stay unread and nothing may be planted next to it. Seen from outside, the
helper's root is empty and it keeps CAP_NET_ADMIN, CAP_NET_RAW and
CAP_NET_BIND_SERVICE (the DNS forwarder's port 53) only. As root and truly
rootless; plain, sandboxed, and in path mode as podman runs it; with the
bypass's rules and an API socket (more fds)."""
import tempfile
from nslib import *

stage = sys.argv[1] if len(sys.argv) > 1 else "host"
if stage == "host":
    # as root (isolated), then as a real unprivileged user
    rc = subprocess.run([sys.executable, __file__, "root"]).returncode
    rc = rc or as_test_user(__file__, "user")
    sys.exit(rc)
elif stage == "root":
    isolate()
    rootless = False
elif stage == "user":
    assert_isolated()
    rootless = True
else:
    fail(f"unknown stage {stage}")

DENIED = {"EACCES", "EPERM"}
CAP_NET_ADMIN = 1 << 12
CAP_NET_RAW = 1 << 13
CAP_NET_BIND_SERVICE = 1 << 10
HELPER_CAPS = CAP_NET_ADMIN | CAP_NET_RAW | CAP_NET_BIND_SERVICE


def children(pid):
    return [int(p) for p in
            open(f"/proc/{pid}/task/{pid}/children").read().split()]


def probe(t, pid, secret):
    r = t.run([sys.executable, PEER, "probe-proc", str(pid), secret],
              timeout=30)
    if r.returncode != 0:
        fail(f"probe failed: {r.stdout}{r.stderr}")
    return dict(line.split(" ", 1) for line in r.stdout.splitlines())


def setups():
    yield "plain", lambda t, sock: ["-c", "-a", sock]
    yield "sandbox+seccomp", lambda t, sock: [
        "-c", "-a", sock, "--enable-sandbox", "--enable-seccomp"]
    yield "bypass", lambda t, sock: ["-c", "-a", sock, "--enable-tcp-bypass"]


def run_one(name, argv_of, path_mode=False):
    tmp = tempfile.mkdtemp()
    secret_dir = tempfile.mkdtemp(prefix="s4-secret-")
    os.chmod(secret_dir, 0o700)
    secret = os.path.join(secret_dir, "secret")
    with open(secret, "w") as fh:
        fh.write("the host's secret\n")
    t = Netns("target", userns=True, mount=True)
    t.sh(f"mount -t tmpfs none {secret_dir}")
    check(t.run(["cat", secret]).returncode != 0,
          f"{name}: the target cannot see {secret} itself")
    sock = os.path.join(tmp, "api.sock")
    args = argv_of(t, sock)
    if path_mode:
        f = Forwarder([*args, f"--userns-path=/proc/{t.pid}/ns/user",
                       "--netns-type=path", f"/proc/{t.pid}/ns/net",
                       "tap0"]).wait_ready()
    else:
        f = start(args, t)
    # a splice forward makes the helper install its rules and hold more
    r = api_call(sock, {"execute": "add_hostfwd", "arguments": {
        "proto": "tcp", "host_addr": "127.0.0.1", "host_port": 18200,
        "guest_port": 80}})
    check("return" in r, f"{name}: a splice forward ({r})")
    ours = [f.proc.pid, *children(f.proc.pid)]
    check(len(ours) == 2, f"{name}: the forwarder and its helper ({ours})")
    for pid in ours:
        who = "helper" if pid != f.proc.pid else "forwarder"
        got = probe(t, pid, secret)
        log(f"{name}: {who}: {got}")
        for way in ("root-list", "root-read", "root-write", "cwd-list",
                    "cwd-write", "fd", "mem", "ptrace"):
            check(got.get(way) in DENIED,
                  f"{name}: {who}: {way} from the namespace is denied "
                  f"({got.get(way)})")
    check(not os.path.exists(os.path.join(secret_dir, "planted")),
          f"{name}: nothing planted on the host")
    helper = ours[1]
    st = dict(l.split(":\t", 1) for l in
              open(f"/proc/{helper}/status").read().splitlines()
              if ":\t" in l)
    cap = int(st["CapEff"], 16)
    check(cap == HELPER_CAPS and int(st["CapBnd"], 16) == HELPER_CAPS,
          f"{name}: the helper keeps CAP_NET_ADMIN, CAP_NET_RAW and "
          f"CAP_NET_BIND_SERVICE only "
          f"(CapEff {st['CapEff'].strip()}, CapBnd {st['CapBnd'].strip()})")
    check(st["NoNewPrivs"].strip() == "1", f"{name}: helper no_new_privs")
    if not rootless:
        # we are privileged over the helper (it was started in our user
        # namespace): what its root shows is an empty folder
        check(os.listdir(f"/proc/{helper}/root") == [],
              f"{name}: the helper's root is empty")
    srv = TcpEchoServer()
    sent, got_, n = t.peer("tcp-echo", "10.0.2.2", srv.port,
                           1 << 20).split()
    check(sent == got_, f"{name}: traffic still flows")
    status, out, err = f.finish()
    check(status == -signal.SIGTERM, f"{name}: a clean stop")
    check("cannot confine" not in err, f"{name}: no confinement warning")
    t.close()


check(not rootless or os.geteuid() != 0,
      f"running as uid {os.geteuid()}" + (", not root" if rootless else ""))
for name, argv_of in setups():
    if rootless and name == "bypass":
        continue  # needs nf_tables in the user's namespace: test_bypass
    run_one(("rootless " if rootless else "") + name, argv_of)
run_one(("rootless " if rootless else "") + "path mode",
        lambda t, sock: ["-c", "-a", sock, "--enable-sandbox",
                         "--enable-seccomp"], path_mode=True)

