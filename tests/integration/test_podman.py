#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""podman 4.3 (Debian 12) rootless, as a real non-root user, with this
binary as its network_cmd_path: a busybox image imported from a local
directory (nothing is pulled), --network slirp4netns with its defaults
(IPv6, sandbox, seccomp, exit fd), data to the host's loopback, and
published ports through port_handler=slirp4netns (our API socket) and
through podman's own rootlessport."""
import hashlib
import json
from nslib import *

stage = sys.argv[1] if len(sys.argv) > 1 else "host"

if stage == "host":
    if not shutil.which("podman") or not os.path.exists("/bin/busybox"):
        skip("podman or busybox-static not installed")
    sys.exit(as_test_user(__file__, "user"))

assert_isolated()
check(os.geteuid() != 0, f"running as uid {os.geteuid()}, not root")
tmp = os.environ["S4_TMP"]
home = os.path.join(tmp, "home")
env = dict(os.environ, HOME=home, XDG_RUNTIME_DIR=os.path.join(tmp, "run"),
           XDG_CONFIG_HOME=os.path.join(home, ".config"))
os.makedirs(os.path.join(env["XDG_CONFIG_HOME"], "containers"))
os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
with open(os.path.join(env["XDG_CONFIG_HOME"], "containers",
                       "containers.conf"), "w") as fh:
    # runc: crun 1.8 refuses hybrid cgroup layouts like some CI machines'
    fh.write(f'[engine]\nnetwork_cmd_path = "{S4}"\nruntime = "runc"\n'
             'cgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
with open(os.path.join(env["XDG_CONFIG_HOME"], "containers",
                       "storage.conf"), "w") as fh:
    fh.write('[storage]\ndriver = "vfs"\n')

rootfs = os.path.join(tmp, "rootfs")
os.makedirs(os.path.join(rootfs, "bin"))
shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
for applet in ("sh", "ip", "nc", "cat", "head", "sha256sum", "sleep",
               "echo", "wc"):
    os.symlink("busybox", os.path.join(rootfs, "bin", applet))
subprocess.run(["tar", "-C", rootfs, "-cf", rootfs + ".tar", "."],
               check=True)


def podman(*args, timeout=120, check_rc=True):
    r = subprocess.run(["podman", *args], env=env, capture_output=True,
                       text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        fail(f"podman {' '.join(args)}: {r.stdout}{r.stderr}")
    return r.stdout


podman("import", "-q", rootfs + ".tar", "localhost/bb")

# a server on the (isolated) host's loopback that sends 1 MiB and closes
blob = os.urandom(1 << 20)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)


def serve_blob():
    while True:
        c, _ = ls.accept()
        c.sendall(blob)
        c.close()


threading.Thread(target=serve_blob, daemon=True).start()
port = ls.getsockname()[1]

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
time.sleep(1)
ps = subprocess.run(["ps", "-u", str(os.getuid()), "-o", "stat=,comm="],
                    capture_output=True, text=True).stdout
alive = [l for l in ps.splitlines() if "slirp4netns" in l and
         not l.startswith("Z")]
check(not alive, f"no slirp4netns left running: {alive}")

# rootless podman keeps a pause process holding its user namespace: ours only
pause = os.path.join(env["XDG_RUNTIME_DIR"], "libpod", "tmp", "pause.pid")
if os.path.exists(pause):
    os.kill(int(open(pause).read()), signal.SIGKILL)
