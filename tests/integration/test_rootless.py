#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Truly rootless: an unprivileged user runs the forwarder (in an isolated
network namespace made for the test) against a namespace it owns, in PID
mode (rootlesskit) and path mode with --userns-path (buildah, rootlesskit 2).
"""
from nslib import *

USER = "s4test"
stage = sys.argv[1] if len(sys.argv) > 1 else "host"

if stage == "host":
    sys.exit(as_test_user(__file__, "user"))

# stage "user": unprivileged, in the isolated network namespace
assert_isolated()
check(os.geteuid() != 0, f"running as uid {os.geteuid()}, not root")
srv = TcpEchoServer()
usrv = UdpEchoServer("127.0.0.1")

# without CAP_NET_BIND_SERVICE a privileged host port is an error reply,
# and the process keeps serving
import json
import tempfile
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns("rootless-api", userns=True)
f = start(["-c", "-a", sock], t)


def api(req):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(json.dumps(req).encode())
    s.shutdown(socket.SHUT_WR)
    return s.recv(4096).decode()


r = api({"execute": "add_hostfwd", "arguments": {
    "proto": "tcp", "host_addr": "127.0.0.1", "host_port": 80,
    "guest_port": 80}})
check(r == '{"error":{"desc":"bad request: add_hostfwd: slirp_add_hostfwd '
      'failed"}}', "privileged port refused with a JSON error: " + r)
check(api({"execute": "list_hostfwd"}) == '{"entries":[]}',
      "nothing was added, still serving")
f.finish()
t.close()
# sandboxed as podman and rootlesskit run it; path mode with a sandbox is
# what upstream cannot do (setegid(0) fails there)
for mode, extra in (("pid", []), ("path", []),
                    ("pid", ["--enable-sandbox", "--enable-seccomp"]),
                    ("path", ["--enable-sandbox", "--enable-seccomp"])):
    t = Netns("rootless-" + mode, userns=True)
    mode = mode + (" sandboxed" if extra else "")
    if mode.startswith("pid"):
        f = start(["-c", *extra], t)
    else:
        f = Forwarder(["-c", *extra, f"--userns-path=/proc/{t.pid}/ns/user",
                       "--netns-type=path", f"/proc/{t.pid}/ns/net",
                       "tap0"]).wait_ready()
    if extra:
        st = open(f"/proc/{f.proc.pid}/status").read()
        check("NoNewPrivs:\t1" in st and "Seccomp:\t2" in st,
              f"rootless {mode}: no_new_privs and seccomp")
    sent, got, ln = t.peer("tcp-echo", "10.0.2.2", srv.port, 4 << 20).split()
    check(sent == got, f"rootless {mode} mode: 4 MiB echoed")
    # a container on a bridge in there, as podman's networks: its UDP on
    # the kernel path (conntrack asked with the capability we keep)
    c = container_behind(t, bridge=True)
    before = tap_bytes(t)
    r = json.loads(c.peer("udp-check", "10.0.2.2", usrv.port, "1,1400,65507",
                          100, timeout=120))
    check(r["whole"] == [1, 1400, 65507] and r["sent"] == r["got"] and
          r["from"] == [f"10.0.2.2:{usrv.port}"],
          f"rootless {mode} mode: a bridged container's UDP echoed ({r})")
    check(tap_bytes(t) - before < 64 * 1024, f"rootless {mode} mode: not "
          f"through the TAP ({tap_bytes(t) - before} bytes)")
    c.close()
    addr = t.sh("ip -o addr show tap0").stdout
    check("10.0.2.100/24" in addr, f"rootless {mode} mode: -c configured")
    status, out, err = f.finish()
    check(status == -15, f"rootless {mode} mode: SIGTERM ends it")
    t.close()
