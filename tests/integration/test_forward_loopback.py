#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A service bound to the namespace's loopback stays out of every forward's
reach, as under slirp4netns (the namespace drops loopback-addressed frames
from the TAP): add_hostfwd refuses guest addresses the TAP could not
deliver to (127.0.0.1, ::1, v4-mapped, 0.0.0.0, ::), in every form (IPv4,
IPv6, v4-mapped, dual-stack; splice and slirp; TCP and UDP), and nothing
listens on the host port after the refusal. A service on the wildcard
address is reached through the same forms with the namespace's address."""
import tempfile
from nslib import *

isolate()
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
f = start(["-c", "-6", "-a", sock], t)
check(t.peer("wait-addr", "fd00::100", 10) == "ok", "fd00::100 ready")

servers = []


def serve(kind, addr, port):
    p = t.popen([sys.executable, PEER, f"serve-{kind}-echo", addr, str(port),
                 *(["0"] if kind == "tcp" else [])],
                stdout=subprocess.PIPE, text=True)
    check(p.stdout.readline().strip() == "listening",
          f"{kind} service on [{addr}]:{port} in the namespace")
    servers.append(p)


# loopback only: 7301 (TCP) and 7302 (UDP) on both loopbacks
for kind, port in (("tcp", 7301), ("udp", 7302)):
    serve(kind, "127.0.0.1", port)
    serve(kind, "::1", port)
# everyone: 7303 (TCP) and 7304 (UDP), dual-stack
serve("tcp", "::", 7303)
serve("udp", "::", 7304)


def add(proto, host_port, guest_addr, guest_port, mode=None, host_addr=None):
    args = {"proto": proto, "host_port": host_port, "guest_addr": guest_addr,
            "guest_port": guest_port}
    if mode:
        args["mode"] = mode
    if host_addr:
        args["host_addr"] = host_addr
    return api_call(sock, {"execute": "add_hostfwd", "arguments": args})


def client_addrs(proto, host_addr):
    v6 = proto.endswith("6") or ":" in (host_addr or "")
    v4 = not proto.endswith("6")
    return (["127.0.0.1"] if v4 else []) + (["::1"] if v6 else [])


def tcp_reply(addr, port):
    """What the host side of a forward gives back: "echo", "refused" (no
    listener), or what else happened."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((addr, port))
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        return f"connect: {e}"
    try:
        s.sendall(b"secret?")
        s.shutdown(socket.SHUT_WR)
        d = s.recv(64)
        return "echo" if d == b"secret?" else f"got {d!r}"
    except OSError as e:
        return f"io: {e}"
    finally:
        s.close()


def udp_reply(addr, port, tries=5):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(0.4)
    try:
        for _ in range(tries):
            s.sendto(b"secret?", (addr, port))
            try:
                if s.recvfrom(64)[0] == b"secret?":
                    return "echo"
            except socket.timeout:
                pass
        return "nothing"
    except OSError as e:
        return f"io: {e}"
    finally:
        s.close()


def reply(proto, addr, port):
    return (udp_reply if proto.startswith("udp") else tcp_reply)(addr, port)


BAD = {"error": {"desc": "bad request: add_hostfwd: bad arguments.guest_addr"}}
port = 18100
loopback_forms = [
    # (proto, guest_addr, host_addr)
    ("tcp", "127.0.0.1", "127.0.0.1"),
    ("tcp4", "127.0.0.1", None),
    ("tcp", "127.0.0.1", None),            # dual-stack with -6
    ("tcp", "127.1.2.3", "127.0.0.1"),
    ("tcp", "0.0.0.0", "127.0.0.1"),
    ("tcp6", "::1", "::1"),
    ("tcp6", "::", "::1"),
    ("tcp6", "::ffff:127.0.0.1", "::1"),
    ("tcp", "::ffff:127.0.0.1", None),     # dual-stack, mapped
    ("udp", "127.0.0.1", "127.0.0.1"),
    ("udp4", "0.0.0.0", None),
    ("udp6", "::1", "::1"),
    ("udp6", "::ffff:127.0.0.1", "::1"),
]


def each_form(forms, service_ports):
    """Add every form in every mode; yields (what, the reply, proto,
    [(client address, host port)])."""
    global port
    for proto, guest, host in forms:
        gport = service_ports[proto.startswith("udp")]
        for mode in (None, "splice", "slirp"):
            port += 1
            r = add(proto, port, guest, gport, mode, host)
            what = f"{proto} guest_addr {guest or '(default)'} " \
                   f"mode {mode or '(default)'}"
            yield what, r, proto, [(a, port) for a in
                                   client_addrs(proto, host)]


for what, r, proto, clients in each_form(loopback_forms, (7301, 7302)):
    check(r == BAD, f"{what}: refused ({r})")
    for a, p in clients:
        got = reply(proto, a, p)
        want = "nothing" if proto.startswith("udp") else "refused"
        check(got == want, f"{what}: nothing on the host port from {a} "
              f"({got})")

# the same forms towards the namespace's own addresses reach the wildcard
# service
reach_forms = [
    ("tcp", "10.0.2.100", "127.0.0.1"),
    ("tcp", "", None),                     # default guest, dual-stack
    ("tcp6", "fd00::100", "::1"),
    ("udp", "10.0.2.100", "127.0.0.1"),
    ("udp6", "fd00::100", "::1"),
]
for what, r, proto, clients in each_form(reach_forms, (7303, 7304)):
    check("return" in r, f"{what}: accepted ({r})")
    for a, p in clients:
        got = reply(proto, a, p)
        check(got == "echo", f"{what}: served from {a} ({got})")

for p in servers:
    p.kill()
status, out, err = f.finish()
check(status == -signal.SIGTERM, "a clean stop")
