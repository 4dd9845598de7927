# SPDX-License-Identifier: GPL-2.0-or-later
"""Rootless podman 4.3 (Debian 12) for the tests, as the test user inside
as_test_user(): its own HOME and runtime folder under S4_TMP, this binary
as network_cmd_path, and a busybox image imported from a local folder
(nothing is pulled)."""
import atexit

from nslib import *

APPLETS = ("sh", "ip", "nc", "cat", "head", "sha256sum", "sleep", "echo",
           "wc")


class Podman:
    def __init__(self):
        tmp = os.environ["S4_TMP"]
        home = os.path.join(tmp, "home")
        self.env = dict(os.environ, HOME=home,
                        XDG_RUNTIME_DIR=os.path.join(tmp, "run"),
                        XDG_CONFIG_HOME=os.path.join(home, ".config"))
        conf = os.path.join(self.env["XDG_CONFIG_HOME"], "containers")
        os.makedirs(conf)
        os.makedirs(self.env["XDG_RUNTIME_DIR"], mode=0o700)
        with open(os.path.join(conf, "containers.conf"), "w") as fh:
            # runc: crun 1.8 refuses hybrid cgroup layouts like some CI
            # machines'
            fh.write(f'[engine]\nnetwork_cmd_path = "{S4}"\n'
                     'runtime = "runc"\ncgroup_manager = "cgroupfs"\n'
                     'events_logger = "file"\n')
        with open(os.path.join(conf, "storage.conf"), "w") as fh:
            fh.write('[storage]\ndriver = "vfs"\n')
        rootfs = os.path.join(tmp, "rootfs")
        os.makedirs(os.path.join(rootfs, "bin"))
        shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
        for applet in APPLETS:
            os.symlink("busybox", os.path.join(rootfs, "bin", applet))
        subprocess.run(["tar", "-C", rootfs, "-cf", rootfs + ".tar", "."],
                       check=True)
        atexit.register(self.clean_up)
        self("import", "-q", rootfs + ".tar", "localhost/bb")

    def __call__(self, *args, timeout=120, check_rc=True):
        """podman ARGS: its stdout; a failure fails the test unless
        check_rc is false"""
        r = subprocess.run(["podman", *args], env=self.env,
                           capture_output=True, text=True, timeout=timeout)
        if check_rc and r.returncode != 0:
            fail(f"podman {' '.join(args)}: {r.stdout}{r.stderr}")
        return r.stdout

    def clean_up(self):
        """However the test ends: its containers (only this HOME's), which
        podman's rootless network namespace and its slirp4netns live for,
        then the pause process"""
        self("rm", "-a", "-f", "-t", "0", check_rc=False)
        self.kill_pause()

    def kill_pause(self):
        """rootless podman keeps a pause process holding its user
        namespace: end ours, by its pid file"""
        pause = os.path.join(self.env["XDG_RUNTIME_DIR"], "libpod", "tmp",
                             "pause.pid")
        if os.path.exists(pause):
            try:
                os.kill(int(open(pause).read()), signal.SIGKILL)
            except ProcessLookupError:
                pass


def slirp4netns_running(settle=1):
    """Our processes named slirp4netns that have not exited, after
    @settle seconds: the ps lines"""
    time.sleep(settle)
    ps = subprocess.run(["ps", "-u", str(os.getuid()), "-o", "stat=,comm="],
                        capture_output=True, text=True).stdout
    return [l for l in ps.splitlines() if "slirp4netns" in l and
            not l.startswith("Z")]


class BlobServer:
    """A server on the (isolated) host's loopback that sends blob to each
    client and closes."""

    def __init__(self, size=1 << 20, addr="127.0.0.1"):
        self.blob = os.urandom(size)
        self.ls = socket.socket()
        self.ls.bind((addr, 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            c, _ = self.ls.accept()
            c.sendall(self.blob)
            c.close()
