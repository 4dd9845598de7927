#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench.py's rootlesskit rounds: run as the test user (as_test_user), in a
network namespace made for it. rootlesskit --net=slirp4netns
--port-driver=builtin with a server inside; the client on the host side.
Writes {case name: [[value, second], ...]} to $RK_OUT."""
import json
import tempfile
from nslib import *

from bench import received  # noqa: E402

assert_isolated()
TCP_RR = os.environ["TCP_RR_USER"]
want = json.loads(os.environ["RK_WANT"])
rounds, secs = int(os.environ["RK_ROUNDS"]), int(os.environ["RK_SECS"])


def tree_cpu(pid):
    """CPU seconds of pid and its children that are rootlesskit (the
    parent's port driver and its child in the namespace)."""
    total = 0.0
    for p in [pid] + [int(x) for x in open(
            f"/proc/{pid}/task/{pid}/children").read().split()]:
        try:
            st = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        if "(rootlesskit)" in st or "(exe)" in st:
            f = st.rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return total


def one(kind, mtu, extra):
    state = tempfile.mkdtemp()
    api = os.path.join(state, "s", "api.sock")
    child = (f"iperf3 -s -p 5201 >/dev/null & {TCP_RR} server 5202 "
             ">/dev/null & "
             f"rootlessctl --socket {api} add-ports "
             "127.0.0.1:15201:5201/tcp 127.0.0.1:15202:5202/tcp "
             "127.0.0.1:15201:5201/udp "
             ">/dev/null && echo READY; sleep infinity")
    p = subprocess.Popen(
        ["rootlesskit", "--net=slirp4netns",
         "--slirp4netns-binary=/usr/bin/slirp4netns", f"--mtu={mtu}",
         "--port-driver=builtin", f"--state-dir={state}/s",
         "--disable-host-loopback", "sh", "-c", child],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True)
    ready = False
    for line in p.stdout:
        if "READY" in line:
            ready = True
            break
    res = None
    if ready:
        time.sleep(0.3)
        c0 = tree_cpu(p.pid)
        if kind == "fwd":
            r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", "15201",
                                "-t", str(secs), "-J", *extra],
                               capture_output=True,
                               text=True, timeout=secs + 60)
            if r.returncode == 0:
                got, took = received(json.loads(r.stdout).get("end", {}))
                if got:
                    res = [got * 8 / took / 1e9,
                           (tree_cpu(p.pid) - c0) / (got / 1e9)]
        else:
            r = subprocess.run([TCP_RR, "connrate", "127.0.0.1", "15202",
                                str(secs)], capture_output=True, text=True,
                               timeout=secs + 60)
            if r.returncode == 0:
                rate = float(r.stdout.split("=")[1])
                res = [rate, (tree_cpu(p.pid) - c0) * 1e3 /
                       (rate * secs / 1e3)]
    os.killpg(p.pid, signal.SIGKILL)  # its servers inside too
    p.wait()
    return res


out = {}
for _ in range(rounds):
    for name, mtu, kind, extra in want:
        r = one(kind, mtu, extra)
        log(f"rootlesskit {name}: {r}")
        if r:
            out.setdefault(name, []).append(r)
json.dump(out, open(os.environ["RK_OUT"], "w"))
