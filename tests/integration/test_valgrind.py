#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""valgrind (memcheck) over start, traffic, the API and a clean stop by the
exit fd: no error, no definite leak, and a normal guest's frames raise no
warning."""
import tempfile
from nslib import *

isolate()
if not shutil.which("valgrind"):
    skip("valgrind not installed")
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
srv = TcpEchoServer()
f = Forwarder(["-c", "-6", "-a", sock], t, exit_fd=True,
              wrapper=["valgrind", "-q", "--error-exitcode=9",
                       "--leak-check=full",
                       "--errors-for-leak-kinds=definite"]).wait_ready(60)
sent, got, _ = t.peer("tcp-echo", "10.0.2.2", srv.port, 200000).split()
check(sent == got, "traffic under valgrind")
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(b'{"execute":"add_hostfwd","arguments":{"proto":"tcp",'
          b'"host_port":18080,"guest_port":80}}')
check(s.recv(100) == b'{"return":{"id":1}}', "an API request under valgrind")
os.close(f.exit_w)
st = f.wait(60)
err = f.proc.stderr.read().decode()
check(st == 0, f"clean stop, no valgrind error (status {st})\n{err[-2000:]}")
check("WARNING" not in err, "no warnings from a normal guest")
