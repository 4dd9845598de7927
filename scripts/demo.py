#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The main job, self-contained: a namespace, slirp4netns -c on it, and
traffic both ways to a server on this machine's loopback (through 10.0.2.2),
with what happened printed. Nothing leaves the namespaces it makes."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests",
                                "integration"))
from nslib import *  # noqa: E402

isolate()
mtu = os.environ.get("MTU", "65520")
log(f"== a network namespace, and {S4} -c --mtu={mtu} on it")
t = Netns("container")
f = start(["-c", f"--mtu={mtu}"], t)
log(t.sh("ip -o -4 addr show tap0").stdout.strip())
log(t.sh("ip route").stdout.strip())

log("\n== ping the gateway 10.0.2.2 (answered by libslirp)")
log(t.sh("ping -c 3 -i 0.2 10.0.2.2 | tail -2").stdout.strip())

srv = TcpEchoServer()
log(f"\n== TCP echo server on this machine's 127.0.0.1:{srv.port}; "
    "the namespace sends 32 MiB to 10.0.2.2 and reads it back")
sent, got, n = t.peer("tcp-echo", "10.0.2.2", srv.port, 32 << 20).split()
log(f"sent sha256 {sent[:16]}..., got back {got[:16]}... ({n} bytes): "
    + ("INTACT" if sent == got else "CORRUPTED"))
log(f"the server saw the client as {srv.peers[-1]}")


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


iperf = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", "5201"],
                         stdout=subprocess.DEVNULL,
                         preexec_fn=die_with_parent)
time.sleep(0.5)
for label, extra in (("namespace -> host", []), ("host -> namespace", ["-R"])):
    c0 = cpu_s(f.proc.pid)
    r = t.run(["iperf3", "-c", "10.0.2.2", "-p", "5201", "-t", "3", "-J",
               *extra], timeout=60)
    c1 = cpu_s(f.proc.pid)
    end = json.loads(r.stdout)["end"]
    bps = end["sum_received"]["bits_per_second"]
    gb = end["sum_received"]["bytes"] / 1e9
    log(f"\n== iperf3 {label}, 3 s: {bps / 1e9:.2f} Gbit/s, forwarder CPU "
        f"{(c1 - c0) / gb:.2f} s per GB")
iperf.kill()
status, out, err = f.finish()
log(f"\n== stopped with SIGTERM (status {status}); its output:")
log(out.strip())
log(err.strip())
