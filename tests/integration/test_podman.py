#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""podman 4.3 (Debian 12) rootless, as a real non-root user, with this
binary as its network_cmd_path: a busybox image imported from a local
directory (nothing is pulled), --network slirp4netns with its defaults
(IPv6, sandbox, seccomp, exit fd), data to the host's loopback, and
published ports through port_handler=slirp4netns (our API socket) and
through podman's own rootlessport."""
import hashlib

from podmanlib import *

stage = sys.argv[1] if len(sys.argv) > 1 else "host"

if stage == "host":
    if not shutil.which("podman") or not os.path.exists("/bin/busybox"):
        skip("podman or busybox-static not installed")
    sys.exit(as_test_user(__file__, "user", extra_files=("podmanlib.py",)))

assert_isolated()
check(os.geteuid() != 0, f"running as uid {os.geteuid()}, not root")
podman = Podman()
srv = BlobServer()
blob, port = srv.blob, srv.port
out = podman("run", "--rm", "--network",
             "slirp4netns:allow_host_loopback=true", "localhost/bb", "sh",
             "-c", f"ip -o addr show tap0; ip route; "
             f"nc 10.0.2.2 {port} | sha256sum")
check("10.0.2.100/24" in out, "the container has 10.0.2.100/24 (-c)")
check("fd00::100/64" in out, "and fd00::100 (podman enables IPv6)")
check("default via 10.0.2.2" in out, "default route via 10.0.2.2")
check(hashlib.sha256(blob).hexdigest() in out,
      "1 MiB from the host's loopback arrived intact")

out = podman("run", "--rm", "--network", "slirp4netns", "localhost/bb", "sh",
             "-c", f"nc -w 3 10.0.2.2 {port} | wc -c", check_rc=False)
check(out.strip() == "0", "podman's default disables host loopback "
      f"({out.strip()} bytes)")


def echo_through(hport):
    data = os.urandom(300000)
    for _ in range(100):  # the container may still be starting its nc
        try:
            return tcp_roundtrip("127.0.0.1", hport, data) == data
        except OSError:
            time.sleep(0.1)
    return False


for handler, hport in (("slirp4netns", 18080), ("rootlesskit", 18081)):
    cid = podman("run", "-d", "--network",
                 f"slirp4netns:port_handler={handler}", "-p",
                 f"127.0.0.1:{hport}:80", "localhost/bb", "nc", "-l", "-p",
                 "80", "-e", "cat").strip()
    check(echo_through(hport), f"port_handler={handler}: 300 kB through "
          "the published port and back")
    podman("rm", "-f", cid)

# every slirp4netns podman started has exited with its container (exit fd)
alive = slirp4netns_running()
check(not alive, f"no slirp4netns left running: {alive}")
