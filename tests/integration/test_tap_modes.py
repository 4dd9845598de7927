#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A persistent tap0 made beforehand (rootlesskit), left as we found it
(offloads off, however we end), path mode, tapfd mode, and refusing our
own network namespace."""
import ctypes
import fcntl
import struct
import tempfile
from nslib import *

isolate()
srv = TcpEchoServer()


def configure_by_hand(t):
    t.sh("ip link set tap0 up && ip addr add 10.0.2.100/24 dev tap0 && "
         "ip route add default via 10.0.2.2")


def traffic(t, what):
    sent, got, ln = t.peer("tcp-echo", "10.0.2.2", srv.port, 1 << 20).split()
    check(sent == got, f"{what}: 1 MiB echoed through 10.0.2.2")


# rootlesskit: ip tuntap add name tap0 mode tap; ip link set tap0 up
t = Netns("persistent")
t.sh("ip tuntap add name tap0 mode tap && ip link set tap0 up")
f = start([], t)
configure_by_hand(t)
traffic(t, "persistent tap0")
f.finish()
check(t.sh("ip link show tap0", check=False).returncode == 0,
      "the persistent tap0 outlives us")
# we turned its offloads on: a reader without a virtio-net header
# (slirp4netns) would get frames with their checksums not done
check(t.peer("tap-offloads", "tap0") == "csum=0 tso=0",
      "and its offloads are off again")
f = start(["--enable-seccomp"], t)
check(t.peer("tap-offloads", "tap0") == "csum=1 tso=1", "ours: offloads on")
f.proc.kill()
f.proc.wait()
for _ in range(50):
    if t.peer("tap-offloads", "tap0") == "csum=0 tso=0":
        break
    time.sleep(0.1)
check(t.peer("tap-offloads", "tap0") == "csum=0 tso=0",
      "killed (and the helper under seccomp): off again")
t.close()

# path mode: the netns file, as podman and buildah pass it
t = Netns("path")
f = Forwarder(["-c", "--netns-type=path", f"/proc/{t.pid}/ns/net", "tap0"])
f.wait_ready()
traffic(t, "--netns-type=path")
f.finish()

# tapfd mode: we open the TAP in the target ourselves and hand it over
libc = ctypes.CDLL(None, use_errno=True)
own = os.open("/proc/self/ns/net", os.O_RDONLY)
target = os.open(f"/proc/{t.pid}/ns/net", os.O_RDONLY)
check(libc.setns(target, 0x40000000) == 0, "setns into the target")
tap = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tap, 0x400454CA, struct.pack("16sH", b"tap9", 0x0002 | 0x1000))
check(libc.setns(own, 0x40000000) == 0, "setns back")
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
f = Forwarder(["--netns-type=tapfd", "-a", sock, str(tap)], extra_fds=[tap])
f.wait_ready()
os.close(tap)
t.sh("ip link set tap9 up && ip addr add 10.0.2.100/24 dev tap9 && "
     "ip route add default via 10.0.2.2")
traffic(t, "--netns-type=tapfd")
# no helper in the namespace: a splice forward would have nobody to make
# its sockets there, so it is refused rather than resetting every client
a = socket.socket(socket.AF_UNIX)
a.connect(sock)
a.sendall(b'{"execute":"add_hostfwd","arguments":{"proto":"tcp",'
          b'"host_port":18080,"guest_port":80,"mode":"splice"}}')
check(b"slirp_add_hostfwd failed" in a.recv(4096),
      "tapfd mode: a splice forward is refused")
f.finish()
t.close()

# a PID in our own network namespace: refused before anything is touched
f = Forwarder(["-c", str(os.getpid()), "tap7"], ready=False)
st = f.wait(5)
err = f.proc.stderr.read().decode()
check(st == 1, f"own netns refused with exit 1 ({st})")
check("refusing" in err and "child failed(1)" in err, "says why: " + err)
check(subprocess.run(["ip", "link", "show", "tap7"],
                     capture_output=True).returncode != 0,
      "no TAP was created in our namespace")
check("default" not in subprocess.run(["ip", "route"], capture_output=True,
                                      text=True).stdout,
      "no default route was added to our namespace")

# a PID that does not exist
f = Forwarder(["4000000000"[:7], "tap0"], ready=False)
check(f.wait(5) == 1, "a dead PID: child failed, exit 1")
check("No such file or directory" in f.proc.stderr.read().decode(),
      "names the missing namespace file")
