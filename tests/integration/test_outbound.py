#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Outbound connections to a "remote" host (another test namespace over a
veth, 198.51.100.0/24), and --outbound-addr by address and by interface."""
from nslib import *

isolate()
remote = veth_remote(extra_host_ips=("198.51.100.2",))
subprocess.run("ip link add out0 type veth peer name out0p && "
               "ip addr add 198.51.100.77/32 dev out0 && "
               "ip link set out0 up && ip link set out0p up", shell=True, check=True)


def through(args, expect_src):
    srv = remote.popen([sys.executable, PEER, "serve-tcp-echo",
                        "198.51.100.9", "7000", "1"],
                       stdout=subprocess.PIPE, text=True)
    check(srv.stdout.readline().strip() == "listening", "remote server up")
    t = Netns()
    f = start(["-c", *args], t)
    sent, got, ln = t.peer("tcp-echo", "198.51.100.9", 7000, 1 << 20).split()
    check(sent == got, f"1 MiB echoed by the remote host ({args})")
    src = srv.stdout.readline().strip()
    check(src == expect_src, f"remote saw source {src}, expected {expect_src}")
    srv.wait(5)
    f.finish()
    t.close()


through([], "198.51.100.1")
through(["--outbound-addr=198.51.100.2"], "198.51.100.2")
through(["--outbound-addr=out0"], "198.51.100.77")
