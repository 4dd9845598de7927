#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Rootless podman 4.3 (Debian 12) on a bridge network, as a real non-root
user: `podman network create` and a container on it. podman then runs this
binary for its rootless network namespace (with --enable-sandbox
--enable-seccomp, its fixed options) and the CNI bridge plugin masquerades
the container's traffic there, with iptables rules of its own beside ours.
The container's outbound TCP must take the kernel path by default (next to
nothing crosses the TAP), arrive intact, and keep libslirp's connect
outcomes: a closed port is refused, not connected and reset, and the host's
loopback stays out of reach (podman passes --disable-host-loopback). The
"remote" server is on 198.51.100.1, an address of a veth in the isolated
namespace the test runs in: nothing leaves the machine."""
import hashlib

from podmanlib import *

stage = sys.argv[1] if len(sys.argv) > 1 else "host"
REMOTE = "198.51.100.1"

if stage == "host":
    if not shutil.which("podman") or not os.path.exists("/bin/busybox"):
        skip("podman or busybox-static not installed")
    if not os.path.isdir("/usr/lib/cni"):
        skip("no CNI plugins (containernetworking-plugins)")
    sys.exit(as_test_user(__file__, "user", extra_files=("podmanlib.py",),
                          setup="ip link add r0 type veth peer name r1 && "
                          f"ip addr add {REMOTE}/24 dev r0 && "
                          "ip link set r0 up && ip link set r1 up"))

assert_isolated()
check(os.geteuid() != 0, f"running as uid {os.geteuid()}, not root")
podman = Podman()
srv = BlobServer(4 << 20, REMOTE)
local = BlobServer(1000)  # on the host's loopback
closed = socket.socket()  # a port nobody listens on
closed.bind((REMOTE, 0))
closed_port = closed.getsockname()[1]

podman("network", "create", "--disable-dns", "--subnet", "10.89.7.0/24",
       "s4br")
cid = podman("run", "-d", "--network", "s4br", "localhost/bb", "sleep",
             "600").strip()


def in_netns(cmd):
    """cmd inside podman's rootless network namespace, where we run"""
    return podman("unshare", "--rootless-netns", "sh", "-c", cmd)


def tap_bytes():
    """bytes through tap0 both ways (/proc/net/dev: /sys there is the
    host's)"""
    for line in in_netns("cat /proc/net/dev").splitlines():
        name, _, v = line.partition(":")
        if name.strip() == "tap0":
            return int(v.split()[0]) + int(v.split()[8])
    fail("no tap0 in podman's rootless network namespace")


addr = podman("exec", cid, "ip", "-o", "-4", "addr", "show")
check("10.89.7." in addr, f"the container is on the bridge ({addr.split()})")
tables = in_netns("nft list tables")
check("inet slirp4netns" in tables, f"our table is there, beside CNI's "
      f"({' '.join(tables.split())})")

before = tap_bytes()
out = podman("exec", cid, "sh", "-c", f"nc {REMOTE} {srv.port} | sha256sum")
tapped = tap_bytes() - before
check(hashlib.sha256(srv.blob).hexdigest() in out,
      "4 MiB from the remote server arrived intact in the bridged container")
check(tapped < 400000, f"by the kernel path: {tapped} B through the TAP "
      "for 4 MiB")



def nc(addr, port):
    """busybox nc from the container, with nothing to send: what it and
    the shell said"""
    r = subprocess.run(["podman", "exec", cid, "sh", "-c",
                        f"nc -w 5 {addr} {port} </dev/null | wc -c; "
                        "echo rc=$?"], env=podman.env, capture_output=True,
                       text=True, timeout=60)
    return " ".join((r.stdout + r.stderr).split())


said = nc(REMOTE, closed_port)
check("Connection refused" in said,
      f"a closed port is refused, as through libslirp ({said})")
said = nc("10.0.2.2", local.port)
check(said.startswith("0 ") and "refused" not in said,
      f"the host's loopback is out of reach, as through libslirp ({said})")

podman("rm", "-f", "-t", "0", cid)
alive = slirp4netns_running()
check(not alive, f"the rootless netns's slirp4netns has exited: {alive}")
