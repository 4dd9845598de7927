#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A DHCP lease from inside: net+15, router net+2, DNS net+3."""
from nslib import *

isolate()
t = Netns()
f = start(["--cidr=10.7.0.0/24"], t)
t.sh("ip link set tap0 up")
r = t.peer("dhcp", "tap0").split()
check(r[0] == "10.7.0.15", f"offered the first lease, net+15 ({r})")
check(r[1] == "10.7.0.2", "router is net+2")
check(r[2] == "10.7.0.3", "DNS is net+3")
status, out, err = f.finish()
check("* DHCP begin:      10.7.0.15" in out and
      "* DHCP end:        10.7.0.30" in out, "banner shows the DHCP range")
