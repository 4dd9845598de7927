#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A forward's port is free the moment slirp4netns has exited: a restart
(podman restarting a container) binds it again at once. Ring polls that
outlived the process used to keep the listening socket open for a while
after exit (EADDRINUSE in about one restart in six, up to two in three)."""
import tempfile
from nslib import *

isolate()
ROUNDS = 10
for mode in ("slirp", "splice"):
    busy = []
    for i in range(ROUNDS):
        t = Netns(f"{mode}-{i}")
        sock = os.path.join(tempfile.mkdtemp(), "api.sock")
        f = start(["-c", "-a", sock], t)
        r = api_call(sock, {"execute": "add_hostfwd", "arguments": {
            "proto": "tcp", "host_addr": "127.0.0.1", "host_port": 18080,
            "guest_port": 80, "mode": mode}})
        if "return" not in r:  # the last round's listener still there
            fail(f"{mode} round {i}: forward not added ({r})")
        f.finish()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", 18080))
            s.listen(1)
        except OSError as e:
            busy.append(f"round {i}: {e}")
        s.close()
        t.close()
    check(not busy, f"{mode}: port 18080 free right after each of {ROUNDS} "
          f"exits ({busy})")
