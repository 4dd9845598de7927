#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Ready fd, exit fd, signals, and a TAP that disappears."""
from nslib import *

isolate()


def tap_gone(t):
    """The TAP goes when the last reference does; io_uring drops the ones
    its cancelled reads hold a moment after the process has exited."""
    for _ in range(50):
        if t.sh("ip link show tap0", check=False).returncode != 0:
            return True
        time.sleep(0.1)
    return False


# -r: exactly "1", then EOF while the process keeps running
t = Netns()
f = start(["-c"], t)
check(os.read(f.ready_r, 16) == b"", "ready fd closed after the byte")
check(f.proc.poll() is None, "still running after ready")
f.finish()

# -e: data does not end it, closing every writer does (status 0)
f = Forwarder(["-c"], t, exit_fd=True).wait_ready()
os.write(f.exit_w, b"x")
time.sleep(0.5)
check(f.proc.poll() is None, "data on the exit fd does not end it")
os.close(f.exit_w)
check(f.wait(5) == 0, "exit fd closed: exits 0")
err = f.proc.stderr.read().decode()
check("exitfd event" in err, "says exitfd event")
check(tap_gone(t), "its TAP is gone with it")

# -e naming a closed fd: a clear error, not a silent exit 0
f = Forwarder(["-e", "63"], t, ready=False)
check(f.wait(5) == 1, "exit-fd that is not open: exit 1")
check("exit-fd 63: Bad file descriptor" in f.proc.stderr.read().decode(),
      "names the bad exit fd")

# SIGTERM and SIGINT: die of the signal, helper and TAP go too
for sig in (signal.SIGTERM, signal.SIGINT):
    f = start(["-c"], t)
    f.proc.send_signal(sig)
    check(f.wait(5) == -sig, f"{sig.name}: exits by the signal")
    check(tap_gone(t), f"{sig.name}: TAP gone")

# the TAP deleted inside the namespace: one message, exit 1, no spinning
f = start(["-c"], t)
t.sh("ip link del tap0")
st = f.wait(15)  # generous: sanitizer builds check for leaks at exit
if st is None:
    # seen once in many runs, not reproduced since: leave a trail
    pid = f.proc.pid
    for tid in os.listdir(f"/proc/{pid}/task"):
        log(f"task {tid}: " + open(f"/proc/{pid}/task/{tid}/stat").read())
        for what in ("wchan", "syscall"):
            try:
                log(what + ": " +
                    open(f"/proc/{pid}/task/{tid}/{what}").read())
            except OSError as e:  # not ours to read in a user namespace
                log(f"{what}: {e}")
    log(t.sh("ip link", check=False).stdout)
    f.proc.kill()
    log("stderr: " + f.proc.communicate()[1].decode())
check(st == 1, f"TAP deleted: exit 1 (got {st})")
err = f.proc.stderr.read().decode()
tap_lines = [l for l in err.splitlines() if l.startswith("tap:")]
check(len(tap_lines) == 1, f"one message about it: {tap_lines}")

# a target that has exited keeps working (the TAP fd holds the netns)
t2 = Netns("short-lived")
srv = TcpEchoServer()
f = start(["-c"], t2)
holder = t2.popen(["sleep", "infinity"])
target_ino = netns_ino(t2.pid)
for _ in range(100):
    try:
        if netns_ino(holder.pid) == target_ino:
            break
    except FileNotFoundError:
        pass
    time.sleep(0.02)
t2.close()
sent, got, ln = subprocess.run(
    ["nsenter", "-t", str(holder.pid), "-n", sys.executable, PEER,
     "tcp-echo", "10.0.2.2", str(srv.port), "100000"],
    capture_output=True, text=True).stdout.split()
check(sent == got, "traffic still flows after the target process exited")
holder.kill()
f.finish()

# an inherited PR_SET_PDEATHSIG (rootlesskit, buildah: SIGKILL) is honoured:
# the spawning process dies, so does the forwarder (and its helper)
t3 = Netns("pdeathsig")
rr, rw = os.pipe()
spawner = subprocess.Popen([sys.executable, "-c", f"""
import ctypes, os, signal, subprocess, sys
def pdeath():
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)
p = subprocess.Popen([{S4!r}, "-c", "-r", "{rw}", "{t3.pid}", "tap0"],
                     pass_fds=[{rw}], preexec_fn=pdeath,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(p.pid, flush=True)
signal.pause()
"""], stdout=subprocess.PIPE, text=True, pass_fds=[rw],
   preexec_fn=die_with_parent)
os.close(rw)
child = int(spawner.stdout.readline())
check(os.read(rr, 1) == b"1", "started by a spawner with PDEATHSIG")
spawner.kill()
spawner.wait()
for _ in range(50):
    try:
        st = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        st = "gone"
    if st in ("Z", "gone"):
        break
    time.sleep(0.1)
check(st in ("Z", "gone"), f"the forwarder died with its parent ({st})")
check(tap_gone(t3), "and its TAP is gone")
