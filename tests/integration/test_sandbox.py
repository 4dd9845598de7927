#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""--enable-sandbox and --enable-seccomp: only /etc and /run visible,
CapEff within {NET_BIND_SERVICE}, no_new_privs, a seccomp filter; and
traffic, DNS and new forwards still work."""
import json
import tempfile
from nslib import *

isolate()
# DNS through the host's resolv.conf must survive the sandbox
tmp = tempfile.mkdtemp()
with open(os.path.join(tmp, "resolv.conf"), "w") as fh:
    fh.write("nameserver 127.0.0.1\n")
subprocess.run(["mount", "--bind", os.path.join(tmp, "resolv.conf"),
                "/etc/resolv.conf"], check=True)
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(("127.0.0.1", 53))


def answer():
    q, a = dns.recvfrom(512)
    i = 12
    while q[i]:
        i += 1 + q[i]
    dns.sendto(q[:2] + bytes.fromhex("81800001000100000000") + q[12:i + 5] +
               bytes.fromhex("c00c000100010000003c0004") +
               socket.inet_aton("192.0.2.8"), a)


threading.Thread(target=answer, daemon=True).start()

sock = os.path.join(tmp, "api.sock")
t = Netns()
f = start(["-c", "--enable-sandbox", "--enable-seccomp", "-a", sock], t)
pid = f.proc.pid
status = open(f"/proc/{pid}/status").read()
field = dict(l.split(":\t", 1) for l in status.splitlines() if ":\t" in l)
check(field["CapEff"].strip() == "0000000000000400",
      "CapEff is CAP_NET_BIND_SERVICE only")
check(field["CapBnd"].strip() == "0000000000000400", "bounding set too")
check(field["NoNewPrivs"].strip() == "1", "no_new_privs")
check(field["Seccomp"].strip() == "2", "a seccomp filter is loaded")
helper = int(open(f"/proc/{pid}/task/{pid}/children").read().split()[0])
# the helper loads its filter once it has logged that the fd went out,
# which may be just after the parent reports ready
for _ in range(200):
    hstatus = open(f"/proc/{helper}/status").read()
    if "\nSeccomp:\t2\n" in hstatus:
        break
    time.sleep(0.01)
check("\nSeccomp:\t2\n" in hstatus, "the helper has its own filter too")
check(sorted(os.listdir(f"/proc/{pid}/root")) == ["etc", "run"],
      "only /etc and /run in its root")
srv = TcpEchoServer()
sent, got, n = t.peer("tcp-echo", "10.0.2.2", srv.port, 1 << 20).split()
check(sent == got, "traffic through the sandboxed forwarder")
check(t.peer("dns", "10.0.2.3", "a.test.internal") == "192.0.2.8",
      "DNS still reads the host's resolv.conf")
t.popen([sys.executable, PEER, "serve-tcp-echo", "0.0.0.0", "80", "1"],
        stdout=subprocess.DEVNULL)
time.sleep(0.3)
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(b'{"execute":"add_hostfwd","arguments":{"proto":"tcp",'
          b'"host_addr":"127.0.0.1","host_port":18080,"guest_port":80}}')
check(json.loads(s.recv(4096)) == {"return": {"id": 1}},
      "a forward added after the sandbox is up")
c = socket.create_connection(("127.0.0.1", 18080), timeout=5)
c.sendall(b"ping")
c.shutdown(socket.SHUT_WR)
check(c.recv(16) == b"ping", "and data goes through it")
status, out, err = f.finish()
check("seccomp: The following syscalls are blocked: execve lookup_dcookie"
      in out and "io_uring_setup" in out, "prints the blocked syscalls")
