#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""--target-type=bess: frames as SOCK_SEQPACKET messages on a unix socket
(User Mode Linux's vector transport). ARP requests for the gateway and
the DNS address get libslirp's replies; ready comes only after the client
connected. A client that hangs up is logged in one line; the process, its
API socket and its forwards stay, burn no CPU while waiting, and the next
client on the same socket is served the same way; one client at a time (a
second one is closed at once)."""
import struct
import tempfile
from nslib import *

isolate()
# the receive path: multishot (default), fixed reads, or poll(2)
how = sys.argv[1] if len(sys.argv) > 1 else "multishot"
wrapper = []
if how == "fixed":
    os.environ["SLIRP4NETNS_TEST_NO_MULTISHOT"] = "1"
elif how == "poll":
    wrapper = [os.environ.get("S4_NO_URING") or os.path.join(
        os.path.dirname(S4), "tests", "no_uring")]
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "bess.sock")
sock = os.path.join(tmp, "api.sock")
f = Forwarder(["--target-type=bess", "-a", sock, path], wrapper=wrapper)
for _ in range(100):
    if os.path.exists(path):
        break
    time.sleep(0.05)
r, _, _ = select.select([f.ready_r], [], [], 0.3)
check(not r, "not ready before a client connects")
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)
f.wait_ready()
mac = bytes.fromhex("020000000001")


def arp_reply(s, ip):
    """Ask s's far end who has ip: the MAC address in the reply."""
    arp = (b"\xff" * 6 + mac + b"\x08\x06" +
           struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + mac +
           socket.inet_aton("10.0.2.100") + b"\0" * 6 + socket.inet_aton(ip))
    s.send(arp)
    s.settimeout(3)
    end = time.time() + 3
    while time.time() < end:
        reply = s.recv(2048)
        if (reply[12:14] == b"\x08\x06" and reply[20:22] == b"\x00\x02" and
                reply[28:32] == socket.inet_aton(ip)):
            return reply[22:28].hex(":")
    return None


def both_arp(s, who):
    check(arp_reply(s, "10.0.2.2") == "52:55:0a:00:02:02",
          f"{who}: 10.0.2.2 is at 52:55:0a:00:02:02")
    check(arp_reply(s, "10.0.2.3") == "52:55:0a:00:02:03",
          f"{who}: 10.0.2.3 is at 52:55:0a:00:02:03")


both_arp(s, "first client")
# the helper stays in our own namespace here, where guest_addr would be a
# real address: no splice forwards, and TCP forwards default to libslirp
fwd = {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": 18080,
       "guest_port": 80}
r = api_call(sock, {"execute": "add_hostfwd",
                    "arguments": dict(fwd, mode="splice")})
check("slirp_add_hostfwd failed" in r.get("error", {}).get("desc", ""),
      f"BESS: a splice forward is refused ({r})")
r = api_call(sock, {"execute": "add_hostfwd", "arguments": fwd})
check(r == {"return": {"id": 1}}, f"BESS: a forward without a mode is added "
      f"({r})")
check(api_call(sock, {"execute": "list_hostfwd"})["entries"][0]["id"] == 1,
      "and listed")


def closed_at_once(path):
    """A client that connects now is closed at once: one at a time."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c.settimeout(3)
    try:
        c.connect(path)
        return c.recv(2048) == b""
    except OSError:
        return True  # refused outright is as good
    finally:
        c.close()


check(closed_at_once(path), "a second client is closed at once")
both_arp(s, "the first client, still")


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


# the first client hangs up: the process stays, and waits without spinning
s.close()
time.sleep(0.3)
check(f.proc.poll() is None, "the first client hung up: still running")
before = cpu_ticks(f.proc.pid)
time.sleep(2)
used = cpu_ticks(f.proc.pid) - before
check(used <= 5, f"no CPU burnt while waiting ({used} ticks in 2 s)")
check(api_call(sock, {"execute": "list_hostfwd"})["entries"][0]["id"] == 1,
      "the API socket answers, the forward is kept")

for n in ("second", "third"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    both_arp(s, f"the {n} client")
    check(closed_at_once(path), f"with the {n} client on, another is closed")
    s.close()
    time.sleep(0.3)
    check(f.proc.poll() is None, f"the {n} client hung up: still running")
status, out, err = f.finish()
check(status == -signal.SIGTERM, "SIGTERM ends it as before")
check(err.count("bess: the peer hung up") == 3,
      "each hang-up is one line: " + err)
check("Waiting for connection to " + path in err, "says it waits")
check("WARNING: BESS mode is experimental" in out, "BESS warning")
