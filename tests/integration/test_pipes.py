#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Pipes only while bytes are in flight (src/fwd/pipepool.c): an idle
connection through a splice forward or out of the namespace costs the
forwarder two fds; the pool gives its spare pipes back once nothing moves
and never holds more than its bound; with no pipe to be had the bytes are
copied, intact, behind a connection that holds the only one; and the
forwarder's user, unprivileged, can still make full-size pipes with
hundreds of idle connections open (two pipes each had used up its
pipe-user-pages-soft at 128)."""
import fcntl
import tempfile
from nslib import *

N = 300        # idle connections held
POOL_MAX = 32  # pipepool.c's PLAN_MAX, at the default quota
stage = sys.argv[1] if len(sys.argv) > 1 else "host"


def fds(pid):
    return os.listdir(f"/proc/{pid}/fd")


def pipe_ends(pid):
    """How many of the forwarder's fds are pipe ends (two per pipe), its
    stdout and stderr aside"""
    n = 0
    for fd in fds(pid):
        if int(fd) <= 2:
            continue
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            pass
    return n


def settle_pipes(pid, secs=6):
    """Wait for the spare pipes to go (the pool closes the ones nobody
    took for a second); the pipe ends left"""
    end = time.time() + secs
    while pipe_ends(pid) and time.time() < end:
        time.sleep(0.2)
    return pipe_ends(pid)


def forward(extra_env=None, args=()):
    """A forwarder, an echo service on 80 and a sink that never reads on
    81 in its namespace, splice forwards (the default) 18080 and 18081
    to them"""
    env = dict(os.environ)
    os.environ.update(extra_env or {})
    t = Netns("pipes", userns=os.geteuid() != 0)
    sock = os.path.join(tempfile.mkdtemp(), "api.sock")
    try:
        f = start(["-c", "-a", sock, *args], t)
    finally:
        os.environ.clear()
        os.environ.update(env)
    for cmd in (["serve-tcp-echo", "0.0.0.0", "80", "0"],
                ["serve-tcp-stall", "0.0.0.0", "81"]):
        p = t.popen([sys.executable, PEER, *cmd], stdout=subprocess.PIPE)
        check(p.stdout.readline().strip() == b"listening", f"{cmd[0]} up")
        # the echo server prints every client, never read: a pipe holds
        # that much for this test, and a closed one would end it
        t.outputs = getattr(t, "outputs", []) + [p.stdout]
        t.service = p  # the last: the sink
    for hp, gp in ((18080, 80), (18081, 81)):
        r = api_call(sock, {"execute": "add_hostfwd", "arguments": {
            "proto": "tcp", "host_addr": "127.0.0.1", "host_port": hp,
            "guest_port": gp}})
        check("return" in r, f"forward {hp} -> {gp}: {r}")
    return t, f, f.proc.pid


def hold(port, n):
    """n connections through the forward on port, 16 bytes echoed on
    each, left open"""
    conns = []
    for i in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        msg = b"%016d" % i
        c.sendall(msg)
        got = b""
        while len(got) < 16:
            d = c.recv(16 - len(got))
            if not d:
                break
            got += d
        if got != msg:
            break
        conns.append(c)
    return conns


def stall(port):
    """A connection through the forward on port to the service that never
    reads, sent to until it has taken nothing for 0.3 s: every buffer on
    the way is full"""
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.setblocking(False)
    last = time.time()
    while time.time() - last < 0.3:
        try:
            c.send(b"s" * 65536)
            last = time.time()
        except BlockingIOError:
            time.sleep(0.02)
    return c


def watch_pipes(pid, stop, seen):
    while not stop.is_set():
        seen.append(pipe_ends(pid))
        time.sleep(0.01)


def check_idle_cost(pid, base, what):
    """N idle connections, opened since the forwarder had base fds: two
    fds each and no pipe"""
    left = settle_pipes(pid)
    grew = len(fds(pid)) - base
    # the helper makes namespace sockets 16 at a time: a few spare
    check(grew <= 2 * N + 16, f"{N} idle {what} connections: {grew} fds "
          f"more, {grew / N:.2f} each (2: its two sockets)")
    check(left == 0, f"and no pipe ({left} ends)")


def idle_forwarded(t, pid):
    check(not many_roundtrips(18080, 1, 1 << 20), "a warm-up transfer")
    left = settle_pipes(pid)
    check(left == 0, f"once idle, the pool's spare pipes are closed ({left} "
          "pipe ends left)")
    base = settled_fd_count(pid)
    conns = hold(18080, N)
    check(len(conns) == N, f"{N} connections through a forward echo "
          f"({len(conns)})")
    check_idle_cost(pid, base, "forwarded")
    # a pipe stays lent while its bytes wait: more stalled connections
    # (a service that never reads) than the pool lends
    stuck = [stall(18081) for _ in range(POOL_MAX + 8)]
    check(pipe_ends(pid) == 2 * POOL_MAX, f"{POOL_MAX + 8} stalled "
          f"connections: {pipe_ends(pid) // 2} pipes lent, the bound")
    bad = many_roundtrips(18080, 64, 1 << 20)
    check(not bad, f"beside them, 64 x 1 MiB each way copied, sha256 intact "
          f"({bad[:5]})")
    for c in conns + stuck:
        c.close()
    # the stalled ones' bytes still wait for the sink, until it goes
    t.service.kill()
    left = settle_pipes(pid)
    check(left == 0, f"all closed: the pipes are closed too ({left} ends)")


def idle_outbound(t, pid):
    srv = TcpEchoServer()
    base = settled_fd_count(pid)
    p = t.popen([sys.executable, PEER, "tcp-hold", "10.0.2.2",
                 str(srv.port), str(N)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE)
    line = p.stdout.readline().decode().split()
    check(line == ["held", str(N)], f"{N} connections out of the namespace "
          f"echo ({line})")
    check_idle_cost(pid, base, "outbound")
    p.stdin.close()
    p.wait(30)


def copying():
    """No pipe at all: every byte copied"""
    t, f, pid = forward({"SLIRP4NETNS_TEST_PIPES": "0"})
    stop, seen = threading.Event(), []
    w = threading.Thread(target=watch_pipes, args=(pid, stop, seen))
    w.start()
    bad = many_roundtrips(18080, 16, 1 << 20)
    got = tcp_roundtrip("127.0.0.1", 18080, b"x" * 100000, timeout=10)
    out = t.peer("tcp-echo-many", "10.0.2.2", str(TcpEchoServer().port),
                 "16", str(1 << 20)).split()
    stop.set()
    w.join()
    check(not bad, f"no pipes: 16 x 1 MiB each way through a forward, "
          f"sha256 intact ({bad[:5]})")
    check(got == b"x" * 100000, "no pipes: half-close, all bytes, then EOF")
    check(out[0] == "16", f"no pipes: 16 x 1 MiB out of the namespace ({out})")
    check(max(seen) == 0, f"and no pipe was made ({max(seen)} ends)")
    f.finish()
    t.close()


def one_pipe():
    """One pipe, held by a connection whose service never reads: the next
    connection copies"""
    t, f, pid = forward({"SLIRP4NETNS_TEST_PIPES": "1"})
    stuck = stall(18081)
    check(pipe_ends(pid) == 2, "a stalled connection holds the one pipe")
    bad = many_roundtrips(18080, 4, 1 << 20)
    check(not bad, f"beside it, 4 x 1 MiB each way copied, sha256 intact "
          f"({bad[:5]})")
    check(pipe_ends(pid) == 2, "the pipe still with the stalled connection")
    stuck.close()
    f.finish()
    t.close()


if stage == "host":
    # as root (isolated), then as a real unprivileged user
    rc = subprocess.run([sys.executable, __file__, "root"]).returncode
    sys.exit(rc or as_test_user(__file__, "user"))
if stage == "root":
    isolate()
    t, f, pid = forward()
    idle_forwarded(t, pid)
    idle_outbound(t, pid)
    status, _, err = f.finish()
    check(status == -signal.SIGTERM, f"stopped cleanly ({err[-300:]!r})")
    t.close()
    copying()
    one_pipe()
    sys.exit(0)

# stage "user": unprivileged, so the pipe quota applies to the forwarder
assert_isolated()
check(os.geteuid() != 0, f"running as uid {os.geteuid()}, not root")
soft = int(open("/proc/sys/fs/pipe-user-pages-soft").read())
check(soft > 0, f"pipe-user-pages-soft is set ({soft} pages)")
t, f, pid = forward()
check(not many_roundtrips(18080, 4, 1 << 20), "4 x 1 MiB each way, as a user")
conns = hold(18080, N)
check(len(conns) == N, f"{N} connections held ({len(conns)})")
r, w = os.pipe()
size = fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)
try:
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 256 << 10)
    grown = fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)
except OSError as e:
    grown = repr(e)
check(size == 65536 and grown == 256 << 10,
      f"with {N} idle connections open, the forwarder's user still gets "
      f"full-size pipes (new pipe {size} B, grown to {grown})")
for c in conns:
    c.close()
f.finish()
t.close()
